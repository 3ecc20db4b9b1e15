/**
 * The worker-thread pool behind the threaded Wasm gemm: Node `worker_threads` that instantiate
 * the same module over the same shared memory and wait on a shared control block. A product is
 * dispatched by writing each thread's row blocks and bumping a generation counter (Atomics.notify);
 * workers spin briefly, then sleep in Atomics.wait, so back-to-back products cost microseconds,
 * not a postMessage round trip (~50 µs).
 *
 * Workers start asynchronously and take part only once they have said they are ready, so no call
 * ever blocks on a worker's start-up (the first products run on the calling thread alone), and
 * every worker is unref'd: a process exits by itself when the user's code is done.
 *
 * Node only. `node:worker_threads` is reached through `process.getBuiltinModule` (Node 20.16+)
 * or a dynamic import, never a static one, so a browser bundle loads this module and simply
 * gets no workers (a single-threaded product).
 */
import { importNodeModule } from "../node-import.js";
import { runTask, type GemmArena } from "./gemm.js";

/** The product a dispatch computes (byte addresses, strides and counts, as ./gemm-kernel.ts takes them). */
export interface GemmTask {
  a: number;
  aBlock: number;
  aRow: number;
  aStep: number;
  b: number;
  bPanel: number;
  bStep: number;
  c: number;
  ldc: number;
  panels: number;
  k: number;
  kc: number;
  nc: number;
}

/** The task's fields in the order the control block holds them. */
const FIELDS = ["a", "aBlock", "aRow", "aStep", "b", "bPanel", "bStep", "c", "ldc", "panels", "k", "kc", "nc"] as const;

/** Control block layout (i32 slots): generation, done count, the task, then per-worker slots. */
const GEN = 0;
const DONE = 1;
const TASK = 2; // 13 slots: FIELDS
const QUIT = 15;
const WORKER = 16; // per worker w (0-based): ready, rb0, rb1, spare
const SLOTS = 4;
/** Spin iterations before a waiting thread sleeps (~tens of µs): products come in bursts. */
const SPIN = 20000;

/** What a worker runs: instantiate, say ready, then serve dispatches until QUIT. */
const WORKER_SOURCE = `
const { workerData } = require("node:worker_threads");
const { module, memory, control, index } = workerData;
const ctl = new Int32Array(control);
const gemm = new WebAssembly.Instance(module, { env: { memory } }).exports.gemm;
const slot = ${WORKER} + index * ${SLOTS};
let seen = Atomics.load(ctl, ${GEN});
Atomics.store(ctl, slot, 1);
for (;;) {
  let spins = 0;
  while (Atomics.load(ctl, ${GEN}) === seen) {
    if (++spins > ${SPIN}) { Atomics.wait(ctl, ${GEN}, seen); spins = 0; }
  }
  seen = Atomics.load(ctl, ${GEN});
  if (Atomics.load(ctl, ${QUIT}) !== 0) break;
  const rb0 = Atomics.load(ctl, slot + 1), rb1 = Atomics.load(ctl, slot + 2);
  if (rb0 >= rb1) continue;
  try {
    const t = (i) => ctl[${TASK} + i];
    // gemm(a, aBlock, aRow, aStep, b, bPanel, bStep, c, ldc, rb0, rb1, panels, k, kc, nc)
    gemm(t(0), t(1), t(2), t(3), t(4), t(5), t(6), t(7), t(8), rb0, rb1, t(9), t(10), t(11), t(12));
  } finally {
    Atomics.add(ctl, ${DONE}, 1);
    Atomics.notify(ctl, ${DONE});
  }
}
`;

interface WorkerLike {
  unref(): void;
  on(event: "error", listener: (e: unknown) => void): unknown;
}
type WorkerCtor = new (src: string, opts: { eval: true; workerData: unknown }) => WorkerLike;

/** A pool of workers sharing one arena's memory. */
export interface GemmPool {
  /** Computes `task` over `rowBlocks` row blocks, split into at most `split` shares (this thread takes one). */
  run(task: GemmTask, rowBlocks: number, split: number): void;
}

let workerCtor: WorkerCtor | null | undefined;
let pool: { workers: number; ctl: Int32Array; arena: GemmArena; api: GemmPool } | undefined;

/** `Worker` from node:worker_threads, or null where there is none (browsers, other runtimes). */
function findWorker(): WorkerCtor | null | undefined {
  if (workerCtor !== undefined) return workerCtor;
  const proc = (globalThis as { process?: { versions?: { node?: string }; getBuiltinModule?: (id: string) => unknown } }).process;
  if (proc?.versions?.node === undefined) return (workerCtor = null);
  const builtin = proc.getBuiltinModule?.("node:worker_threads") as { Worker: WorkerCtor } | undefined;
  if (builtin !== undefined) return (workerCtor = builtin.Worker);
  // Older Node 20: the import resolves later; until then products run on this thread.
  // By a name bundlers cannot see (../node-import.ts), so a browser build resolves no Node built-in.
  importNodeModule("node:worker_threads").then(
    (m) => (workerCtor = (m as { Worker: WorkerCtor }).Worker),
    () => (workerCtor = null),
  );
  return undefined;
}

/**
 * The pool with at least `workers` workers over `arena` (grown on demand, never shrunk), or a
 * pool that runs everything on this thread where workers are unavailable.
 */
export function gemmPool(arena: GemmArena, workers: number): GemmPool {
  const Worker = findWorker();
  if (Worker === null || Worker === undefined || !arena.shared) return single(arena);
  if (pool === undefined || pool.arena !== arena) {
    const ctl = new Int32Array(new SharedArrayBuffer(4 * (WORKER + SLOTS * 64)));
    pool = { workers: 0, ctl, arena, api: { run: (task, rowBlocks, split) => dispatch(task, rowBlocks, split) } };
  }
  const p = pool;
  while (p.workers < Math.min(workers, 64)) {
    const w = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { module: arena.module, memory: arena.memory, control: p.ctl.buffer, index: p.workers },
    });
    // A worker that fails to start never says it is ready, so it is never waited for.
    w.on("error", () => undefined);
    w.unref();
    p.workers++;
  }
  return p.api;
}

/** Workers that have started and take part in dispatches (0 before any threaded product). */
export function readyWorkers(): number {
  if (pool === undefined) return 0;
  let ready = 0;
  for (let w = 0; w < pool.workers; w++) ready += Atomics.load(pool.ctl, WORKER + w * SLOTS);
  return ready;
}

function single(arena: GemmArena): GemmPool {
  return {
    run: (t, rowBlocks) => runTask(arena, t, 0, rowBlocks),
  };
}

/** Splits the row blocks between this thread and the ready workers, and waits for all of them. */
function dispatch(task: GemmTask, rowBlocks: number, split: number): void {
  const { ctl, arena, workers } = pool!;
  const ready: number[] = [];
  for (let w = 0; w < workers && ready.length < split - 1; w++) if (Atomics.load(ctl, WORKER + w * SLOTS) === 1) ready.push(w);
  const shares = ready.length + 1;
  const bound = (s: number) => Math.floor((rowBlocks * s) / shares);
  FIELDS.forEach((f, i) => Atomics.store(ctl, TASK + i, task[f]));
  for (let w = 0; w < workers; w++) {
    const s = ready.indexOf(w);
    Atomics.store(ctl, WORKER + w * SLOTS + 1, s < 0 ? 0 : bound(s + 1));
    Atomics.store(ctl, WORKER + w * SLOTS + 2, s < 0 ? 0 : bound(s + 2));
  }
  Atomics.store(ctl, DONE, 0);
  if (ready.length > 0) {
    Atomics.add(ctl, GEN, 1);
    Atomics.notify(ctl, GEN);
  }
  runTask(arena, task, 0, bound(1));
  let spins = 0;
  for (let done = Atomics.load(ctl, DONE); done < ready.length; done = Atomics.load(ctl, DONE)) {
    if (++spins > SPIN) {
      Atomics.wait(ctl, DONE, done, 1);
      spins = 0;
    }
  }
}
