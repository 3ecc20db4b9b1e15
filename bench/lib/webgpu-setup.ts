/**
 * The WebGPU bench's setup: a `navigator.gpu` for the peers on the same Dawn adapter estc's
 * `webgpu()` found, and the peers loaded on it (TensorFlow.js's WebGPU backend, jax-js's WebGPU
 * device). Node 20 has no `navigator`, so the peers see only the one installed here.
 */
import type { WebGpuDevice } from "estc/runtime";

type TF = typeof import("@tensorflow/tfjs");
type JX = typeof import("@jax-js/jax");

interface DawnModule {
  create(options: string[]): GPU;
}

/**
 * Sets `globalThis.navigator = { gpu, userAgent: "node" }` with a Dawn instance created as
 * runtime/webgpu/device.ts creates the one behind `device` (`backend=opengles` for the Mesa
 * path, no options for the hardware one). Mesa's GLES adapter exists only at featureLevel
 * "compatibility" and a plain `requestAdapter()` on that instance returns null, so on that path
 * `requestAdapter` adds `featureLevel: "compatibility"` to what the peer asks for. Returns a
 * description of what was installed.
 */
export async function installNavigator(device: WebGpuDevice): Promise<string> {
  if (device.adapter.path === "browser") return "browser navigator.gpu (left as it is)";
  const name = "webgpu";
  const dawn = (await import(name)) as DawnModule;
  const mesa = device.adapter.path === "mesa";
  const inner = dawn.create(mesa ? ["backend=opengles"] : []);
  const gpu = {
    requestAdapter: (options: GPURequestAdapterOptions = {}) =>
      inner.requestAdapter(mesa ? { ...options, featureLevel: "compatibility" } : options),
    getPreferredCanvasFormat: (): GPUTextureFormat => "rgba8unorm",
    get wgslLanguageFeatures() {
      return inner.wgslLanguageFeatures;
    },
  };
  Object.defineProperty(globalThis, "navigator", { value: { gpu, userAgent: "node" }, configurable: true, writable: true });
  return mesa
    ? "Dawn create(['backend=opengles']); requestAdapter adds featureLevel 'compatibility'"
    : "Dawn create([]) (default backend)";
}

/** A peer that loaded, with what it runs on, or why it did not. */
export type Loaded<T> = { ok: true; lib: T; on: string } | { ok: false; error: string };

/** TensorFlow.js with `@tensorflow/tfjs-backend-webgpu` on the installed navigator.gpu. */
export async function loadTfjsWebgpu(): Promise<Loaded<TF>> {
  const { log, warn } = console;
  try {
    console.log = console.warn = () => {};
    const tf = await import("@tensorflow/tfjs");
    // Registers the "webgpu" backend at import, only when navigator.gpu exists.
    await import("@tensorflow/tfjs-backend-webgpu");
    const ok = await tf.setBackend("webgpu");
    await tf.ready();
    if (!ok || tf.getBackend() !== "webgpu") return { ok: false, error: `setBackend("webgpu") gave ${String(ok)}, backend ${tf.getBackend()}` };
    const info = (tf.backend() as unknown as { adapterInfo?: { description?: string; device?: string } }).adapterInfo;
    return { ok: true, lib: tf, on: `webgpu (${info?.device || info?.description || "adapter info not reported"})` };
  } catch (e) {
    return { ok: false, error: `tfjs webgpu failed: ${(e as Error).stack ?? (e as Error).message}` };
  } finally {
    console.log = log;
    console.warn = warn;
  }
}

/** Submits tfjs's pending commands and waits until the device has run them (nothing read back). */
export async function tfjsSync(tf: TF): Promise<void> {
  const backend = tf.backend() as unknown as { endComputePassEncoder(): void; submitQueue(): void; commandEncoder: GPUCommandEncoder | null; queue: GPUQueue };
  // submitQueue() neither ends the open compute pass nor checks for an encoder; tfjs's own
  // callers (readback, the batch-size flush) end the pass first, as done here.
  backend.endComputePassEncoder();
  if (backend.commandEncoder !== null) backend.submitQueue();
  await backend.queue.onSubmittedWorkDone();
}

/** jax-js with `init("webgpu")` and webgpu as the default device. */
export async function loadJaxWebgpu(): Promise<Loaded<JX>> {
  const { error } = console;
  const logged: string[] = [];
  try {
    console.error = (...args: unknown[]) => void logged.push(args.map(String).join(" "));
    const jx = await import("@jax-js/jax");
    const got = await jx.init("webgpu");
    if (!got.includes("webgpu")) {
      return { ok: false, error: `init("webgpu") gave ${JSON.stringify(got)}${logged.length ? `; console.error: ${logged.join(" | ")}` : ""}` };
    }
    jx.defaultDevice("webgpu");
    return { ok: true, lib: jx, on: "webgpu" };
  } catch (e) {
    return { ok: false, error: `jax-js init("webgpu") threw: ${(e as Error).stack ?? (e as Error).message}` };
  } finally {
    console.error = error;
  }
}
