/**
 * The Wasm SIMD matrix product of one [m, k] @ [k, n] matrix pair, for runtime/matmul.ts: both
 * operands are packed from the caller's Float32Arrays (any strides, so transposed operands cost
 * nothing extra) into a Wasm memory arena, ./gemm-kernel.ts's microkernel multiplies them in f32,
 * and the padded product is copied out. Large products are split over row blocks between the
 * calling thread and a worker pool (./pool.ts) that shares the arena.
 */
import { gemmModuleBytes, MR, NR } from "./gemm-kernel.js";
import { sharedMemoryAvailable, wasmApi, type WasmMemory, type WasmModule } from "./api.js";
import { gemmPool, type GemmTask } from "./pool.js";

/** Largest arena, in 64 KiB pages (1 GiB): products that need more run on the TS path. */
export const MAX_PAGES = 16384;
/** Inner indices per K block: a tile's packed operands (kc·(MR+NR)·4 bytes = 12 KiB) stay in L1. */
export const KC = 256;
/** Panels per pass: the packed `b` of one K block (KC·NR·4·NC bytes = 512 KiB) stays in L2. */
export const NC = 64;
/** Products with fewer multiply-adds than this run on the calling thread alone. */
export const THREAD_MIN_MACS = 1 << 21;

/** Whether this engine validates a module with f32x4 SIMD (Node 16.4+, every current browser). */
export const wasmSimdAvailable: boolean = (() => {
  try {
    return wasmApi !== undefined && wasmApi.validate(gemmModuleBytes(false, MAX_PAGES));
  } catch {
    return false;
  }
})();


/** The compiled module, its memory and instance, made on first use. */
export interface GemmArena {
  readonly module: WasmModule;
  readonly memory: WasmMemory;
  readonly shared: boolean;
  readonly gemm: (...args: number[]) => void;
}

let arena: GemmArena | undefined;

/** The process's arena (one per JS thread): compiled and instantiated synchronously on first use. */
export function gemmArena(): GemmArena {
  if (arena !== undefined) return arena;
  const shared = sharedMemoryAvailable();
  const api = wasmApi!;
  const module = new api.Module(gemmModuleBytes(shared, MAX_PAGES));
  const memory = new api.Memory({ initial: 1, maximum: MAX_PAGES, shared });
  const instance = new api.Instance(module, { env: { memory } });
  arena = { module, memory, shared, gemm: instance.exports.gemm as (...args: number[]) => void };
  return arena;
}

/** Rounds `bytes` up to a multiple of 64 (a cache line; v128 loads want 16). */
function align(bytes: number): number {
  return Math.ceil(bytes / 64) * 64;
}

/** Where one product's packed operands and padded result sit in the arena, in bytes. */
interface Layout {
  rowBlocks: number;
  panels: number;
  a: number;
  b: number;
  c: number;
  end: number;
}

function layout(m: number, k: number, n: number): Layout {
  const rowBlocks = Math.ceil(m / MR);
  const panels = Math.ceil(n / NR);
  const a = 0;
  // 64 bytes of slack after each operand: an operand read in place is read past its last row
  // by the padded rows and columns of the edge tiles (whose results are dropped).
  const b = align(a + rowBlocks * MR * k * 4 + 64);
  const c = align(b + panels * NR * k * 4 + 64);
  return { rowBlocks, panels, a, b, c, end: c + rowBlocks * MR * panels * NR * 4 };
}

/** Whether a [m, k] @ [k, n] product fits the arena (else the caller multiplies on the TS path). */
export function wasmGemmFits(m: number, k: number, n: number): boolean {
  return layout(m, k, n).end <= MAX_PAGES * 65536;
}

/** ns per element of copying an operand in place (one memcpy) and of gathering it into panels. */
const COPY_NS = 0.5;
const GATHER_NS = 2.5;

/**
 * out[outAt + i·n + j] = Σ_p a[aAt + i·ai + p·ap] · b[bAt + p·bp + j·bj], summed in f32 over p in
 * order, in K blocks of KC. `a` is row-major when ap = 1 (else stored transposed: ai = 1), `b`
 * when bj = 1. A row-major `a` and `b` are copied into the arena whole and read in place; a
 * transposed one is gathered into panels. When that gathers less, the kernel computes the
 * transpose, outᵀ = bᵀ·aᵀ (whose operands are then the in-place ones), and the copy-out
 * transposes it back; each output's sum runs over p in the same order either way, so the
 * result depends only on the shape, not on the orientation or `threads` (which caps the threads
 * that share the rows; 1 never touches a worker).
 */
export function wasmGemmMatrix(
  a: Float32Array,
  aAt: number,
  ai: number,
  ap: number,
  b: Float32Array,
  bAt: number,
  bp: number,
  bj: number,
  out: Float32Array,
  outAt: number,
  m: number,
  k: number,
  n: number,
  threads: number,
): void {
  if (m === 0 || n === 0) return;
  if (k === 0) {
    out.fill(0, outAt, outAt + m * n);
    return;
  }
  const tiles = (rows: number, cols: number) => Math.ceil(rows / MR) * MR * Math.ceil(cols / NR) * NR * k * 0.1;
  const direct = tiles(m, n) + m * k * (ap === 1 ? COPY_NS : GATHER_NS) + k * n * (bj === 1 ? COPY_NS : GATHER_NS);
  const swapped = tiles(n, m) + n * k * (bp === 1 ? COPY_NS : GATHER_NS) + k * m * (ai === 1 ? COPY_NS : GATHER_NS) + m * n * 2;
  const swap = swapped < direct;
  // The kernel's operands: rows x k times k x cols.
  const [rows, cols] = swap ? [n, m] : [m, n];
  const arena = gemmArena();
  const at = layout(rows, k, cols);
  const pages = Math.ceil(at.end / 65536);
  const have = arena.memory.buffer.byteLength / 65536;
  if (have < pages) arena.memory.grow(pages - have);
  const mem = new Float32Array(arena.memory.buffer);
  const lhs = swap ? { x: b, at: bAt, i: bj, p: bp } : { x: a, at: aAt, i: ai, p: ap };
  const rhs = swap ? { x: a, at: aAt, p: ap, j: ai } : { x: b, at: bAt, p: bp, j: bj };
  let aDesc: [number, number, number];
  if (lhs.p === 1) {
    mem.set(lhs.x.subarray(lhs.at, lhs.at + rows * k), at.a / 4);
    aDesc = [MR * k * 4, k * 4, 4];
  } else {
    packA(lhs.x, lhs.at, lhs.i, lhs.p, rows, k, mem, at.a / 4);
    aDesc = [k * MR * 4, 4, MR * 4];
  }
  let bDesc: [number, number];
  if (rhs.j === 1) {
    mem.set(rhs.x.subarray(rhs.at, rhs.at + k * cols), at.b / 4);
    bDesc = [NR * 4, cols * 4];
  } else {
    packB(rhs.x, rhs.at, rhs.p, rhs.j, cols, k, mem, at.b / 4);
    bDesc = [k * NR * 4, NR * 4];
  }
  const ldc = at.panels * NR;
  const cAt = at.c / 4;
  mem.fill(0, cAt, cAt + at.rowBlocks * MR * ldc);
  const task: GemmTask = { a: at.a, aBlock: aDesc[0], aRow: aDesc[1], aStep: aDesc[2], b: at.b, bPanel: bDesc[0], bStep: bDesc[1], c: at.c, ldc: ldc * 4, panels: at.panels, k, kc: KC, nc: NC };
  const split = rows * k * cols >= THREAD_MIN_MACS && arena.shared ? Math.min(threads, at.rowBlocks) : 1;
  if (split > 1) gemmPool(arena, split - 1).run(task, at.rowBlocks, split);
  else runTask(arena, task, 0, at.rowBlocks);
  if (swap) {
    // out[i, j] = c[j, i]
    for (let j = 0; j < n; j++) {
      const row = cAt + j * ldc;
      for (let i = 0, o = outAt + j; i < m; i++, o += n) out[o] = mem[row + i]!;
    }
  } else if (ldc === n) out.set(mem.subarray(cAt, cAt + m * n), outAt);
  else for (let i = 0; i < m; i++) out.set(mem.subarray(cAt + i * ldc, cAt + i * ldc + n), outAt + i * n);
}

/** Runs row blocks rb0..rb1 of `task` on this thread. */
export function runTask(arena: GemmArena, t: GemmTask, rb0: number, rb1: number): void {
  arena.gemm(t.a, t.aBlock, t.aRow, t.aStep, t.b, t.bPanel, t.bStep, t.c, t.ldc, rb0, rb1, t.panels, t.k, t.kc, t.nc);
}

/** Row blocks of MR rows, each `[k][MR]`, zero past row m. */
function packA(a: Float32Array, aAt: number, ai: number, ap: number, m: number, k: number, mem: Float32Array, to: number): void {
  for (let i0 = 0; i0 < m; i0 += MR) {
    const rows = Math.min(MR, m - i0);
    for (let r = 0; r < MR; r++) {
      let q = to + r;
      if (r >= rows) {
        for (let p = 0; p < k; p++, q += MR) mem[q] = 0;
        continue;
      }
      let s = aAt + (i0 + r) * ai;
      for (let p = 0; p < k; p++, q += MR, s += ap) mem[q] = a[s]!;
    }
    to += MR * k;
  }
}

/** Panels of NR columns, each `[k][NR]`, zero past column n. */
function packB(b: Float32Array, bAt: number, bp: number, bj: number, n: number, k: number, mem: Float32Array, to: number): void {
  for (let j0 = 0; j0 < n; j0 += NR) {
    const cols = Math.min(NR, n - j0);
    if (bj === 1 && cols === NR) {
      // The common row-major case: each step of the panel is NR contiguous floats.
      for (let p = 0, s = bAt + j0, q = to; p < k; p++, s += bp, q += NR) {
        mem[q] = b[s]!;
        mem[q + 1] = b[s + 1]!;
        mem[q + 2] = b[s + 2]!;
        mem[q + 3] = b[s + 3]!;
        mem[q + 4] = b[s + 4]!;
        mem[q + 5] = b[s + 5]!;
        mem[q + 6] = b[s + 6]!;
        mem[q + 7] = b[s + 7]!;
      }
    } else {
      for (let c = 0; c < NR; c++) {
        let q = to + c;
        if (c >= cols) {
          for (let p = 0; p < k; p++, q += NR) mem[q] = 0;
          continue;
        }
        let s = bAt + (j0 + c) * bj;
        for (let p = 0; p < k; p++, q += NR, s += bp) mem[q] = b[s]!;
      }
    }
    to += NR * k;
  }
}
