/**
 * Finding a WebGPU adapter: a browser's `navigator.gpu` (core, then compatibility), else, in
 * Node only, Dawn through the optional `webgpu` package (./dawn.ts, loaded by a dynamic import so
 * that a browser — or a bundler building for one — never loads or resolves anything of Node's).
 * Every attempt is recorded with why it failed, for `webgpu()`'s E6015 and `estc doctor`.
 */
/// <reference types="@webgpu/types" preserve="true" />

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
  /** The adapter's limits (the device is opened with the ones in ./device.ts's `requestedLimits`). */
  limits: Record<string, number>;
  features: string[];
  /** Every attempt made, in order, the successful one last. */
  attempts: AdapterAttempt[];
}

/** Options of `webgpu()` (./device.ts). */
export interface WebGpuOptions {
  /** Which adapters to try: hardware then Mesa (`auto`, the default), or only one of them. */
  adapter?: "auto" | "hardware" | "mesa";
  powerPreference?: GPUPowerPreference;
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

/**
 * Whether this is Node (where Dawn may be tried). Read through globalThis, not the bare
 * `process`, so bundlers that polyfill `process` on sight (webpack 4) add nothing to a browser build.
 */
export function runningInNode(): boolean {
  return (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node !== undefined;
}

/** Tries each way of getting an adapter in order and reports every attempt. */
export async function findAdapter(options: WebGpuOptions = {}): Promise<AdapterSearch> {
  const attempts: AdapterAttempt[] = [];
  const navigatorGpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  const power = options.powerPreference === undefined ? {} : { powerPreference: options.powerPreference };
  const node = runningInNode();
  if (navigatorGpu !== undefined) {
    for (const featureLevel of ["core", "compatibility"] as const) {
      const what = `navigator.gpu.requestAdapter(featureLevel ${featureLevel})`;
      const adapter = await tryAdapter(() => navigatorGpu.requestAdapter({ ...power, featureLevel }), attempts, "browser", what);
      if (adapter !== undefined) return found(adapter, "browser", what, "browser's choice", featureLevel, attempts, navigatorGpu);
    }
    if (!node) return { found: false, attempts };
  }
  if (!node) {
    const insecure = (globalThis as { isSecureContext?: boolean }).isSecureContext === false;
    const reason = insecure
      ? "this page is not a secure context, and browsers offer WebGPU only to https:// and http://localhost pages"
      : "this browser has no navigator.gpu (WebGPU is off or unsupported)";
    attempts.push({ path: "browser", what: "navigator.gpu", ok: false, reason });
    return { found: false, attempts };
  }
  // Node only: Dawn, a module of its own so that a browser never loads it (nor Node's fs behind it).
  const dawn = await import("./dawn.js");
  return dawn.findDawnAdapter(options, attempts, navigatorGpu === undefined);
}

/** Calls `request`; returns the adapter, or records why there is none and returns undefined. */
export async function tryAdapter(
  request: () => Promise<GPUAdapter | null>,
  attempts: AdapterAttempt[],
  path: AdapterPath,
  what: string,
): Promise<GPUAdapter | undefined> {
  try {
    const adapter = await request();
    if (adapter !== null) return adapter;
    const hint =
      path === "browser"
        ? " (WebGPU is blocked or there is no usable GPU; headless Chromium on Linux needs --enable-unsafe-webgpu)"
        : path === "hardware"
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

/** The search result for `adapter`, with its report (info, limits, features) and every attempt. */
export function found(
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

/** The attempts as lines a person can act on; doctor and the no-adapter error print these. */
export function explainAttempts(attempts: readonly AdapterAttempt[]): string {
  return attempts
    .map((a) => `  ${a.ok ? "ok    " : "failed"} ${a.what}${a.reason === undefined ? "" : `: ${a.reason}`}`)
    .join("\n");
}

