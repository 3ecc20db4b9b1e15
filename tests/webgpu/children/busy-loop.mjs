// Run with --expose-gc: a CPU loop whose awaits all settle at once (no timer, no I/O), so the task
// queue where FinalizationRegistry callbacks run is never reached, drops 1 MiB tensors and vjpFn
// pullbacks without dispose(). The GC must still reclaim their arrays: prints the ArrayBuffer
// bytes alive after 400 such steps and a gc(), without yielding to the task queue first.
// argv: the generated module of `fn f(x: f32[N]) -> f32[N] { return relu(x) * 2 }`.
import { pathToFileURL } from "node:url";
import { tensor } from "estc/runtime";

const { f } = await import(pathToFileURL(process.argv[2]).href);
const N = 1 << 18; // 1 MiB of f32
const steps = 400;
const before = process.memoryUsage().arrayBuffers;
// The Wasm kernels' arena (CPU tensors of 4 KiB and more) is not in `arrayBuffers`: RSS shows it.
const rssBefore = process.memoryUsage().rss;
await (async () => {
  for (let i = 0; i < steps; i++) {
    const x = tensor(new Float32Array(N).fill(i % 3 - 1), [N]);
    const y = await f.forward({ x });
    const { out } = await f.vjpFn({ x }); // a pullback never called: its mask is a residual
    if (i === 0) process.stdout.write(""); // keep y and out used
    void y;
    void out;
  }
})();
globalThis.gc();
const after = process.memoryUsage().arrayBuffers;
const rssGrownMiB = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
process.stdout.write(`${JSON.stringify({ steps, mib: N * 4 / 2 ** 20, grownMiB: (after - before) / 2 ** 20, rssGrownMiB })}\n`);
