/**
 * The WebGPU device: finds an adapter (./adapter.ts: a browser's navigator.gpu, else Dawn in Node
 * through the `webgpu` package, ./dawn.ts), opens a device with the adapter's own limits and
 * turns device loss and uncaptured GPU errors into E6018 so a call never hangs on a dead device.
 * Nothing here needs Node: the Node-only parts are behind ./adapter.ts's dynamic import.
 */
// preserve="true" keeps this line in the shipped .d.ts (TS >= 5.5 drops it otherwise), so a
// user's tsc finds GPUDevice & co. without skipLibCheck; pool.ts and transfer.ts say the same.
/// <reference types="@webgpu/types" preserve="true" />
import { MemoryStats } from "../memory.js";
import { WebGpuErrorCode, webGpuError } from "./errors.js";
import { BufferPool, PipelineCache } from "./pool.js";
import { explainAttempts, findAdapter, INSTALL_DAWN, runningInNode, type AdapterReport, type WebGpuOptions } from "./adapter.js";

export {
  explainAttempts,
  findAdapter,
  INSTALL_DAWN,
  type AdapterAttempt,
  type AdapterPath,
  type AdapterReport,
  type AdapterSearch,
  type WebGpuOptions,
} from "./adapter.js";

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
    const next = runningInNode()
      ? "(run 'estc doctor' for details)"
      : "WebGPU in a browser needs one that supports it (Chrome or Edge 113+, Safari 26+, Firefox 141+ on Windows), " +
        "a secure context (https:// or http://localhost) and a usable GPU; headless Chromium on Linux needs --enable-unsafe-webgpu. " +
        "Without WebGPU, run on the CPU: leave out `device` (cpu() is the default).";
    throw webGpuError(WebGpuErrorCode.noAdapter, `no WebGPU adapter found; tried:\n${explainAttempts(search.attempts)}\n${next}`);
  }
  const requiredLimits: Record<string, number> = {};
  for (const name of requestedLimits) {
    const value = search.report.limits[name];
    if (value !== undefined) requiredLimits[name] = value;
  }
  // Dawn prints warnings while it opens a device too; a browser's device needs no silencing.
  const quiet = search.report.path === "browser" ? <T>(call: () => T): T => call() : await (await import("./dawn.js")).dawnSilencer();
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
  const forced = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.["ESTC_WEBGPU_REDUCE"];
  if (forced === "tree") return false;
  if (forced === "serial") return true;
  return a.isFallbackAdapter || /llvmpipe|softpipe|lavapipe|swiftshader/i.test(`${a.vendor} ${a.architecture} ${a.device} ${a.description}`);
}
