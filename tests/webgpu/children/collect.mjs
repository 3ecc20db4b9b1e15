// Run with --expose-gc: tensors and vjpFn pullbacks dropped without dispose() give their memory
// back once collected, and pullback.dispose() gives it back at once (tests/webgpu/lifetimes.test.ts).
// argv: the generated module of `fn f(x: f32[B, I], w: f32[I, H]) -> f32[B, H] { return relu(x @ w) }`,
// then the back end (cpu | webgpu). Prints one JSON line of counters.
import { pathToFileURL } from "node:url";
import { cpu, tensor, webgpu } from "estc/runtime";

const [modulePath, backend] = process.argv.slice(2);
const { f } = await import(pathToFileURL(modulePath).href);
const device = backend === "webgpu" ? await webgpu() : cpu();
const memory = device.memory;
const counters = () => ({ allocated: memory.bytesAllocated, saved: memory.bytesSavedForBackward });
const [B, I, H] = [8, 5, 64];
const inputs = () => ({ x: tensor(new Float32Array(B * I).fill(0.5), [B, I]), w: tensor(new Float32Array(I * H).fill(-0.25), [I, H]) });
/** Collects until the finalizers have run (they run in later tasks than the gc that finds them). */
async function collect() {
  for (let i = 0; i < 5; i++) {
    globalThis.gc();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
const report = { start: counters() };

// Each phase runs in a function of its own: a top-level await keeps the last loop iteration's
// temporaries in the module's frame, reachable, whatever the runtime does.
// 1. Results never disposed (the quickstart's train.js never disposes).
await (async () => {
  for (let i = 0; i < 20; i++) await f.forward(inputs(), { device });
})();
report.afterForwards = counters();
await collect();
report.forwardsCollected = counters();

// 2. vjpFn pullbacks never called: their residuals (the ReLU mask) stay saved until collected.
await (async () => {
  for (let i = 0; i < 20; i++) await f.vjpFn(inputs(), { device });
})();
report.afterPullbacks = counters();
await collect();
report.pullbacksCollected = counters();

// 3. pullback.dispose() releases at once; calling it afterwards is E6004.
await (async () => {
  const given = inputs();
  const { out, pullback } = await f.vjpFn(given, { device });
  report.held = counters();
  pullback.dispose();
  out.dispose();
  report.disposed = counters();
  try {
    await pullback(tensor(new Float32Array(B * H), [B, H]));
    report.afterDispose = "ran";
  } catch (e) {
    report.afterDispose = `${e.code}: ${e.message}`;
  }
  pullback.dispose(); // twice is harmless
  given.x.dispose();
  given.w.dispose();
})();
await collect();
report.end = counters();
process.stdout.write(`${JSON.stringify(report)}\n`);
if (backend === "webgpu") device.destroy();
