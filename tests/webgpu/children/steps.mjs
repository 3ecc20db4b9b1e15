// Runs WARMUP then STEPS training steps (forward, vjp, valueAndGrad with a readback, everything
// disposed) of a generated module's `binary_dense` and `loss` on a back end, with --expose-gc, and
// prints the runtime's counters and the process's memory after the warm-up and at the end as JSON
// (tests/hostile/runtime-memory.test.ts). argv: module, cpu | webgpu, WARMUP, STEPS.
import { pathToFileURL } from "node:url";
import { cpu, tensor, webgpu } from "estc/runtime";

const [modulePath, backend, warmupArg, stepsArg] = process.argv.slice(2);
const { binary_dense, loss } = await import(pathToFileURL(modulePath).href);
const device = backend === "webgpu" ? await webgpu() : cpu();
const [B, I, K] = [64, 32, 10];
const x = tensor(Float32Array.from({ length: B * I }, (_, i) => Math.sin(i)), [B, I]);
const labels = tensor(Int32Array.from({ length: B }, (_, i) => i % K), [B]);
const w = tensor(Float32Array.from({ length: I * K }, (_, i) => Math.cos(i) * 0.1), [I, K]);
const ct = tensor(new Float32Array(B * K).fill(1), [B, K]);

async function step() {
  const y = await binary_dense.forward({ x, w }, { device });
  const g = await binary_dense.vjp({ x, w }, ct, { device });
  const { value, grads } = await loss.valueAndGrad({ x, w, labels }, { device, wrt: ["w"] });
  await value.data();
  for (const t of [y, g.x, g.w, value, grads.w]) t.dispose();
}
async function snapshot() {
  for (let i = 0; i < 3; i++) {
    globalThis.gc();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const m = process.memoryUsage();
  return {
    rss: m.rss,
    heapUsed: m.heapUsed,
    allocated: device.memory.bytesAllocated,
    saved: device.memory.bytesSavedForBackward,
    ...(backend === "webgpu"
      ? { buffersCreated: device.pool.stats.buffersCreated, bytesCreated: device.pool.stats.bytesCreated, bytesInUse: device.pool.stats.bytesInUse, pipelines: device.pipelines.stats.compiled }
      : {}),
  };
}
for (let s = 0; s < Number(warmupArg); s++) await step();
const warm = await snapshot();
for (let s = 0; s < Number(stepsArg); s++) await step();
const end = await snapshot();
process.stdout.write(`${JSON.stringify({ warm, end })}\n`);
if (backend === "webgpu") device.destroy();
