/**
 * The WebGPU device: finds an adapter (a browser's navigator.gpu, else Dawn in Node through the
 * `webgpu` package — a hardware adapter first, then Mesa's GLES driver in compatibility mode,
 * DESIGN.md "Running WGSL without a GPU"), opens a device with the adapter's own limits and
 * turns device loss and uncaptured GPU errors into E6018 so a call never hangs on a dead device.
 */
// preserve="true" keeps this line in the shipped .d.ts (TS >= 5.5 drops it otherwise), so a
// user's tsc finds GPUDevice & co. without skipLibCheck; pool.ts and transfer.ts say the same.
/// <reference types="@webgpu/types" preserve="true" />
import { MemoryStats } from "../memory.js";
import { WebGpuErrorCode, webGpuError } from "./errors.js";
import { BufferPool, PipelineCache } from "./pool.js";
import { stderrSilencer } from "./quiet-stderr.js";

/** Where an adapter came from. */
export type AdapterPath = "browser" | "hardware" | "mesa";

/** One way of finding an adapter that was tried, and why it failed when it did. */
export interface AdapterAttempt {
  path: AdapterPath;
  /** What was tried, in words (`Dawn backend=opengles, featureLevel compatibility`). */
  what: string;
  ok: boolean;
  reason?: string;
}

/** The adapter a device runs on, as `estc doctor` prints it. */
export interface AdapterReport {
  path: AdapterPath;
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** The backend Dawn was asked for, or what the browser chose. */
  backend: string;
  featureLevel: "core" | "compatibility";
  isFallbackAdapter: boolean;
  /** The adapter's limits (the device is opened with the ones in {@link requestedLimits}). */
  limits: Record<string, number>;
  features: string[];
  /** Every attempt made, in order, the successful one last. */
  attempts: AdapterAttempt[];
}

/** Options of {@link webgpu}. */
export interface WebGpuOptions {
  /** Which adapters to try: hardware then Mesa (`auto`, the default), or only one of them. */
  adapter?: "auto" | "hardware" | "mesa";
  powerPreference?: GPUPowerPreference;
}

/** Limits the device is opened with at the adapter's value rather than WebGPU's default. */
export const requestedLimits = [
  "maxStorageBuffersPerShaderStage",
  "maxStorageBufferBindingSize",
  "maxBufferSize",
  "maxComputeWorkgroupsPerDimension",
  "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
  "maxComputeWorkgroupSizeY",
  "maxComputeWorkgroupSizeZ",
] as const;

/** Counters of host↔device copies, so tests can see that chained calls stay on the device. */
export interface TransferStats {
  uploads: number;
  bytesUploaded: number;
  readbacks: number;
  bytesRead: number;
}

/** A WebGPU device the runtime runs plans on; pass it as `options.device`. */
export interface WebGpuDevice {
  readonly kind: "webgpu";
  readonly gpu: GPUDevice;
  readonly adapter: AdapterReport;
  /** The device's limits (the adapter's, for the keys in {@link requestedLimits}). */
  readonly limits: GPUSupportedLimits;
  /** Bytes held by tensors and plan buffers on this device. */
  readonly memory: MemoryStats;
  /** Reductions run one invocation per output (software adapters), not as workgroup trees. */
  readonly serialReductions: boolean;
  readonly pool: BufferPool;
  readonly pipelines: PipelineCache;
  readonly transfers: TransferStats;
  /** Why the device can no longer run anything (lost, destroyed), or undefined while it can. */
  readonly failure: string | undefined;
  /** Resolves with a failure message once the device is lost; never rejects. */
  readonly lost: Promise<string>;
  /**
   * Calls `onLost` with the failure message when the device is lost (at once if it already is);
   * returns the function that stops watching.
   */
  watchLoss(onLost: (why: string) => void): () => void;
  /** Takes the GPU errors no error scope caught since the last call. */
  takeUncapturedErrors(): string[];
  /** Destroys the device and lets Node exit (Dawn keeps the process alive while it lives). */
  destroy(): void;
}

/** What a search for an adapter found: an adapter (with the Dawn instance that owns it) or nothing. */
export type AdapterSearch =
  | { found: true; adapter: GPUAdapter; report: AdapterReport; owner: unknown }
  | {
      found: false;
      attempts: AdapterAttempt[];
      /** Node only: the optional `webgpu` package (Dawn) is not installed, so no Node adapter was tried. */
      dawnMissing?: boolean;
    };

/** What to run when the `webgpu` package is missing; `webgpu()` and `estc doctor` say it by name. */
export const INSTALL_DAWN = "npm install webgpu";

interface DawnModule {
  create(options: string[]): GPU;
  globals: object;
}

const isNode = typeof process !== "undefined" && process.versions?.node !== undefined;

/** Tries each way of getting an adapter in order and reports every attempt. */
export async function findAdapter(options: WebGpuOptions = {}): Promise<AdapterSearch> {
  const attempts: AdapterAttempt[] = [];
  const navigatorGpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  const power = options.powerPreference === undefined ? {} : { powerPreference: options.powerPreference };
  if (navigatorGpu !== undefined) {
    for (const featureLevel of ["core", "compatibility"] as const) {
      const what = `navigator.gpu.requestAdapter(featureLevel ${featureLevel})`;
      const adapter = await tryAdapter(() => navigatorGpu.requestAdapter({ ...power, featureLevel }), attempts, "browser", what);
      if (adapter !== undefined) return found(adapter, "browser", what, "browser's choice", featureLevel, attempts, navigatorGpu);
    }
    if (!isNode) return { found: false, attempts };
  }
  if (!isNode) {
    attempts.push({ path: "browser", what: "navigator.gpu", ok: false, reason: "this browser has no navigator.gpu (WebGPU is off or unsupported)" });
    return { found: false, attempts };
  }
  // `webgpu` is an optional peer dependency (132 MB of Dawn binaries that CPU and browser users
  // never run): loaded here, on the first webgpu() in Node, and never on the CPU path.
  let dawn: DawnModule;
  try {
    const name = "webgpu"; // a variable, so browser bundlers do not try to resolve the Node package
    dawn = (await import(name)) as DawnModule;
  } catch (e) {
    const missing = isDawnMissing(e);
    const reason = missing
      ? `the webgpu package (Dawn's Node bindings) is not installed; run '${INSTALL_DAWN}'`
      : `the webgpu package did not load: ${(e as Error).message}`;
    attempts.push({ path: "hardware", what: "import('webgpu')", ok: false, reason });
    return { found: false, attempts, dawnMissing: missing };
  }
  if (navigatorGpu === undefined) Object.assign(globalThis, dawn.globals);
  // Dawn prints its warnings while it enumerates adapters (in these synchronous calls).
  const quiet = await stderrSilencer();
  const mode = options.adapter ?? "auto";
  if (mode !== "mesa") {
    const backend = defaultBackend();
    const gpu = quiet(() => dawn.create([]));
    const what = `Dawn default backend (${backend})`;
    const adapter = await tryAdapter(() => quiet(() => gpu.requestAdapter(power)), attempts, "hardware", what);
    if (adapter !== undefined) return found(adapter, "hardware", what, backend, "core", attempts, gpu);
  }
  if (mode !== "hardware") {
    process.env["EGL_PLATFORM"] ??= "surfaceless";
    const gpu = quiet(() => dawn.create(["backend=opengles"]));
    const what = `Dawn backend=opengles (Mesa, EGL_PLATFORM=${process.env["EGL_PLATFORM"]}), featureLevel compatibility`;
    const adapter = await tryAdapter(() => quiet(() => gpu.requestAdapter({ featureLevel: "compatibility" })), attempts, "mesa", what);
    if (adapter !== undefined) return found(adapter, "mesa", what, "opengles", "compatibility", attempts, gpu);
  }
  return { found: false, attempts };
}

/** Whether an import('webgpu') failure means the package itself is absent (not a broken install). */
function isDawnMissing(e: unknown): boolean {
  const err = e as { code?: unknown; message?: unknown };
  return err.code === "ERR_MODULE_NOT_FOUND" && typeof err.message === "string" && err.message.includes("'webgpu'");
}

async function tryAdapter(
  request: () => Promise<GPUAdapter | null>,
  attempts: AdapterAttempt[],
  path: AdapterPath,
  what: string,
): Promise<GPUAdapter | undefined> {
  try {
    const adapter = await request();
    if (adapter !== null) return adapter;
    const hint =
      path === "hardware"
        ? " (no Vulkan/Metal/D3D12 driver Dawn accepts; ESTC_DEBUG=1 shows Dawn's own warnings on stderr)"
        : path === "mesa"
          ? " (are libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri installed?)"
          : "";
    attempts.push({ path, what, ok: false, reason: `requestAdapter() returned null${hint}` });
  } catch (e) {
    attempts.push({ path, what, ok: false, reason: `requestAdapter() threw: ${(e as Error).message}` });
  }
  return undefined;
}

function found(
  adapter: GPUAdapter,
  path: AdapterPath,
  what: string,
  backend: string,
  featureLevel: "core" | "compatibility",
  attempts: AdapterAttempt[],
  owner: unknown,
): AdapterSearch {
  attempts.push({ path, what, ok: true });
  const info = adapter.info;
  const limits: Record<string, number> = {};
  for (const name in adapter.limits) {
    const value = (adapter.limits as unknown as Record<string, unknown>)[name];
    if (typeof value === "number") limits[name] = value;
  }
  const report: AdapterReport = {
    path,
    vendor: info?.vendor ?? "",
    architecture: info?.architecture ?? "",
    device: info?.device ?? "",
    description: info?.description ?? "",
    backend,
    featureLevel: adapter.features.has("core-features-and-limits") ? "core" : featureLevel,
    isFallbackAdapter: (info as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter ?? false,
    limits,
    features: [...adapter.features].sort(),
    attempts,
  };
  return { found: true, adapter, report, owner };
}

function defaultBackend(): string {
  if (process.platform === "darwin") return "metal";
  if (process.platform === "win32") return "d3d12";
  return "vulkan";
}

/** The attempts as lines a person can act on; doctor and the no-adapter error print these. */
export function explainAttempts(attempts: readonly AdapterAttempt[]): string {
  return attempts
    .map((a) => `  ${a.ok ? "ok    " : "failed"} ${a.what}${a.reason === undefined ? "" : `: ${a.reason}`}`)
    .join("\n");
}

/**
 * Opens a WebGPU device for estc: `await webgpu()` then `f.forward(inputs, { device })`. Throws
 * E6015 with every attempt's reason when no adapter can be found. Call `destroy()` when done;
 * in Node the process does not exit while a device lives.
 */
export async function webgpu(options: WebGpuOptions = {}): Promise<WebGpuDevice> {
  const search = await findAdapter(options);
  if (!search.found && search.dawnMissing === true) {
    throw webGpuError(
      WebGpuErrorCode.noAdapter,
      `webgpu() in Node needs the 'webgpu' package (Dawn), which is not installed: run '${INSTALL_DAWN}'. ` +
        "estc leaves it optional so that CPU-only and browser users do not download it; the CPU device (the default) needs nothing.",
    );
  }
  if (!search.found) {
    throw webGpuError(
      WebGpuErrorCode.noAdapter,
      `no WebGPU adapter found; tried:\n${explainAttempts(search.attempts)}\n(run 'estc doctor' for details)`,
    );
  }
  const requiredLimits: Record<string, number> = {};
  for (const name of requestedLimits) {
    const value = search.report.limits[name];
    if (value !== undefined) requiredLimits[name] = value;
  }
  const quiet = search.report.path === "browser" ? <T>(call: () => T): T => call() : await stderrSilencer();
  let gpu: GPUDevice;
  try {
    gpu = await quiet(() => search.adapter.requestDevice({ requiredLimits, label: "estc" }));
  } catch (e) {
    throw webGpuError(
      WebGpuErrorCode.noAdapter,
      `the ${search.report.path} adapter (${search.report.description || search.report.device}) refused to open a device: ${(e as Error).message}`,
    );
  }
  return new Device(gpu, search.report, search.owner);
}

const destroyedMessage = "the WebGPU device was destroyed";

class Device implements WebGpuDevice {
  readonly kind = "webgpu" as const;
  readonly memory = new MemoryStats();
  readonly pool: BufferPool;
  readonly pipelines: PipelineCache;
  readonly transfers: TransferStats = { uploads: 0, bytesUploaded: 0, readbacks: 0, bytesRead: 0 };
  /**
   * Whether reductions run their serial form (one invocation per output) instead of workgroup
   * trees: on software adapters (llvmpipe, lavapipe, SwiftShader, or a fallback adapter), where
   * invocations are CPU threads anyway and Mesa's llvmpipe has crashed intermittently (a glibc
   * mutex assertion) on the trees' workgroup barriers. `ESTC_WEBGPU_REDUCE=tree` or `serial`
   * overrides the choice (the tree kernels' tests use it). Decided once, when the device opens.
   */
  readonly serialReductions: boolean;
  readonly lost: Promise<string>;
  #failure: string | undefined;
  #uncaptured: string[] = [];
  readonly #watchers = new Set<(why: string) => void>();
  /** The Dawn instance; dropping it on destroy lets Node exit. */
  #owner: unknown;
  #destroyed = false;

  constructor(
    readonly gpu: GPUDevice,
    readonly adapter: AdapterReport,
    owner: unknown,
  ) {
    this.#owner = owner;
    this.serialReductions = serialReductionsFor(adapter);
    this.pool = new BufferPool(gpu);
    this.pipelines = new PipelineCache(gpu, gpu.limits.maxStorageBuffersPerShaderStage);
    this.lost = gpu.lost.then((info) => {
      this.#fail(
        info.reason === "destroyed"
          ? destroyedMessage
          : `the WebGPU device was lost (${info.reason}): ${info.message}`,
      );
      return this.#failure!;
    });
    const onError = (event: GPUUncapturedErrorEvent) => {
      this.#uncaptured.push(event.error.message);
    };
    if (typeof gpu.addEventListener === "function") gpu.addEventListener("uncapturederror", onError);
    else (gpu as { onuncapturederror: unknown }).onuncapturederror = onError;
  }

  get limits(): GPUSupportedLimits {
    return this.gpu.limits;
  }


  get failure(): string | undefined {
    return this.#failure;
  }

  /** Records the first failure and tells every watcher. */
  #fail(why: string): void {
    this.#failure ??= why;
    for (const watcher of this.#watchers) watcher(this.#failure);
    this.#watchers.clear();
  }

  watchLoss(onLost: (why: string) => void): () => void {
    if (this.#failure !== undefined) {
      onLost(this.#failure);
      return () => undefined;
    }
    this.#watchers.add(onLost);
    return () => this.#watchers.delete(onLost);
  }

  takeUncapturedErrors(): string[] {
    const errors = this.#uncaptured;
    this.#uncaptured = [];
    return errors;
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#fail(destroyedMessage);
    this.gpu.destroy();
    // The Dawn instance must outlive the events its loss still posts: dropped at once, a GC can
    // free it while Dawn's event loop runs ProcessEvents on it, which aborted or crashed about one
    // exit in four (std::system_error in InstanceBase::ProcessEvents, or SIGSEGV). It is let go
    // once the loss is delivered and its last poll has run (a 50 ms timer keeps Node up that long).
    const owner = this.#owner;
    this.#owner = undefined;
    void this.gpu.lost.then(() => new Promise((settle) => setTimeout(settle, 50))).then(() => owner);
  }
}

/** See WebGpuDevice.serialReductions. */
function serialReductionsFor(a: AdapterReport): boolean {
  const forced = typeof process !== "undefined" ? process.env?.["ESTC_WEBGPU_REDUCE"] : undefined;
  if (forced === "tree") return false;
  if (forced === "serial") return true;
  return a.isFallbackAdapter || /llvmpipe|softpipe|lavapipe|swiftshader/i.test(`${a.vendor} ${a.architecture} ${a.device} ${a.description}`);
}
