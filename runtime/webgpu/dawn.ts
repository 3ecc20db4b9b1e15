/**
 * Node only: WebGPU through Dawn, the optional `webgpu` package — a hardware adapter first, then
 * Mesa's GLES driver in compatibility mode (DESIGN.md "Running WGSL without a GPU"). Reached only
 * by ./adapter.ts's dynamic import when there is no `navigator.gpu` and the host is Node, so a
 * browser never loads this file; the Node modules it needs (`webgpu`, and `node:fs` behind
 * ./quiet-stderr.ts) are imported through ../node-import.ts, by a name bundlers cannot resolve.
 */
/// <reference types="@webgpu/types" preserve="true" />
import { INSTALL_DAWN, found, tryAdapter, type AdapterAttempt, type AdapterSearch, type WebGpuOptions } from "./adapter.js";
import { importNodeModule } from "../node-import.js";
import { stderrSilencer, type Quiet } from "./quiet-stderr.js";

interface DawnModule {
  create(options: string[]): GPU;
  globals: object;
}

/**
 * Tries Dawn's adapters in order, appending to `attempts`. `installGlobals`: put Dawn's
 * GPUBufferUsage & co. on globalThis (not when a caller supplied its own navigator.gpu).
 */
export async function findDawnAdapter(options: WebGpuOptions, attempts: AdapterAttempt[], installGlobals: boolean): Promise<AdapterSearch> {
  const power = options.powerPreference === undefined ? {} : { powerPreference: options.powerPreference };
  // `webgpu` is an optional peer dependency (132 MB of Dawn binaries that CPU and browser users
  // never run): loaded here, on the first webgpu() in Node, and never on the CPU path.
  let dawn: DawnModule;
  try {
    dawn = (await importNodeModule("webgpu")) as DawnModule;
  } catch (e) {
    const missing = isDawnMissing(e);
    const reason = missing
      ? `the webgpu package (Dawn's Node bindings) is not installed; run '${INSTALL_DAWN}'`
      : `the webgpu package did not load: ${(e as Error).message}`;
    attempts.push({ path: "hardware", what: "import('webgpu')", ok: false, reason });
    return { found: false, attempts, dawnMissing: missing };
  }
  if (installGlobals) Object.assign(globalThis, dawn.globals);
  // Dawn prints its warnings while it enumerates adapters (in these synchronous calls).
  const quiet = await dawnSilencer();
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

/** Keeps Dawn's native warnings off stderr around a synchronous call (see ./quiet-stderr.ts). */
export function dawnSilencer(): Promise<Quiet> {
  return stderrSilencer();
}

/** Whether an import('webgpu') failure means the package itself is absent (not a broken install). */
function isDawnMissing(e: unknown): boolean {
  const err = e as { code?: unknown; message?: unknown };
  return err.code === "ERR_MODULE_NOT_FOUND" && typeof err.message === "string" && err.message.includes("'webgpu'");
}

function defaultBackend(): string {
  if (process.platform === "darwin") return "metal";
  if (process.platform === "win32") return "d3d12";
  return "vulkan";
}
