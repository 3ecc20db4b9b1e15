/**
 * The CPU convolution on the Wasm path: the input lives in the gemm arena, ./conv-kernel.ts
 * unfolds a chunk of columns into the arena and ./gemm-kernel.ts multiplies it where it lies, so
 * neither the column matrix nor the product crosses into JavaScript. Per chunk of columns (b, ho, wo):
 *
 * - forward: out[o, n] = W[o, K] @ col[K, n] (W and col read in place);
 * - input gradient: col[K, n] = Wᵀ[K, o] @ ct[o, n], then col2im adds col onto dx in the arena;
 * - weight gradient: dwᵀ[K, o] += col[K, n] @ ctᵀ[n, o], accumulated across chunks by the
 *   kernel itself (its tiles add into c), so every dw element is one f32 sum in a fixed order.
 *
 * Every product sums in f32, as the Wasm matmul does; the result depends only on the shapes
 * (and the chunk width, fixed by them), not on `threads`, which splits each product's row blocks
 * over ./pool.ts's workers. Semantics are runtime/conv.ts's (and compiler/interpret-conv.ts's).
 */
import type { ConvGeometry, ConvSizes } from "../conv-geometry.js";
import type { ConvEpilogue } from "../conv.js";
import { wasmApi } from "./api.js";
import { convModuleBytes } from "./conv-kernel.js";
import { gemmArena, KC, MAX_PAGES, NC, runTask, THREAD_MIN_MACS, type GemmArena } from "./gemm.js";
import { MR, NR } from "./gemm-kernel.js";
import { gemmPool, type GemmTask } from "./pool.js";

/**
 * Elements of the column matrix per chunk: 256 KiB of f32, so a chunk's columns stay in L2 while
 * the kernel streams them once per row block of the weights.
 */
const CHUNK = 1 << 16;

type Kernel = (...args: number[]) => void;
/** A gemm arena with the convolution's own kernels instantiated over its memory. */
interface ConvArena extends GemmArena {
  readonly im2col: Kernel;
  readonly col2im: Kernel;
  readonly panels: Kernel;
}
let local: ConvArena | undefined;
let sharedArena: ConvArena | undefined;

/**
 * The arena a convolution runs in. One thread: an arena of its own over a plain (not shared)
 * memory, because V8 copies between a SharedArrayBuffer and the JS heap 5-10x slower than
 * between plain buffers (1.4 against 0.16 ms per 4 MB measured here), and a convolution copies
 * its input in and its output out. More threads: the gemm arena, whose shared memory the worker
 * pool multiplies in.
 */
function convArena(threads: number): ConvArena {
  const api = wasmApi!;
  if (threads > 1) {
    const arena = gemmArena();
    if (arena.shared) {
      if (sharedArena?.memory !== arena.memory) {
        const instance = new api.Instance(new api.Module(convModuleBytes(true, MAX_PAGES)), { env: { memory: arena.memory } });
        const e = instance.exports;
        sharedArena = { ...arena, im2col: e.im2col as Kernel, col2im: e.col2im as Kernel, panels: e.panels as Kernel };
      }
      return sharedArena;
    }
  }
  if (local === undefined) {
    const module = new api.Module(convModuleBytes(false, MAX_PAGES));
    const memory = new api.Memory({ initial: 1, maximum: MAX_PAGES });
    const e = new api.Instance(module, { env: { memory } }).exports;
    local = { module, memory, shared: false, gemm: e.gemm as Kernel, im2col: e.im2col as Kernel, col2im: e.col2im as Kernel, panels: e.panels as Kernel };
  }
  return local;
}

/** A convolution's sizes as the chunks see them. */
interface Plan {
  z: ConvSizes;
  g: ConvGeometry;
  cg: number;
  og: number;
  /** Rows of the column matrix (C/groups · KH · KW), padded to whole row blocks. */
  k: number;
  kPad: number;
  /** Output positions per image. */
  p: number;
  /** Columns per chunk (a multiple of NR). */
  width: number;
  /**
   * The column matrix's row stride in elements: 4 spare columns past `width`, where im2col's
   * vector stores past a chunk's last column land.
   */
  ldm: number;
  /** Bytes of one image of x, and of one group's channels. */
  image: number;
  groupBytes: number;
  /** Bytes of slack around the input: a padded tap reads up to pw elements past a row. */
  slack: number;
}

function plan(z: ConvSizes, g: ConvGeometry): Plan {
  const cg = z.channels / g.groups;
  const k = cg * z.kh * z.kw;
  const width = Math.max(NR, Math.floor(CHUNK / k / NR) * NR);
  const hw = z.height * z.width;
  return {
    z, g, cg, og: z.outChannels / g.groups, k, kPad: Math.ceil(k / MR) * MR, p: z.oh * z.ow, width, ldm: width + 4,
    image: z.channels * hw * 4, groupBytes: cg * hw * 4, slack: align(4 * g.padding[1]! + 64),
  };
}

function align(bytes: number): number {
  return Math.ceil(bytes / 64) * 64;
}

/** Byte offsets of `sizes` laid out one after another (64-byte aligned); null when past the arena. */
function regions(arena: GemmArena, sizes: number[]): number[] | null {
  const at: number[] = [];
  let end = 0;
  for (const s of sizes) {
    at.push(end);
    // 64 bytes past each region: vector loads read up to 12 bytes past a row.
    end = align(end + s + 64);
  }
  if (end > MAX_PAGES * 65536) return null;
  const pages = Math.ceil(end / 65536);
  const have = arena.memory.buffer.byteLength / 65536;
  if (have < pages) arena.memory.grow(pages - have);
  return at;
}

/** Runs the gemm kernel over `rowBlocks`, split over `threads` when the product is large. */
function multiply(arena: GemmArena, task: GemmTask, rowBlocks: number, macs: number, threads: number): void {
  const split = macs >= THREAD_MIN_MACS && arena.shared ? Math.min(threads, rowBlocks) : 1;
  if (split > 1) gemmPool(arena, split - 1).run(task, rowBlocks, split);
  else runTask(arena, task, 0, rowBlocks);
}

/** Calls `body(n0, n)` for each chunk of columns. */
function chunks(P: Plan, body: (n0: number, n: number) => void): void {
  const total = P.z.batch * P.p;
  for (let n0 = 0; n0 < total; n0 += P.width) body(n0, Math.min(P.width, total - n0));
}

/** Visits the images a chunk spans: image b's positions [pos, pos + len) at chunk column `at`. */
function segments(P: Plan, n0: number, n: number, visit: (b: number, pos: number, len: number, at: number) => void): void {
  for (let c = n0; c < n0 + n; ) {
    const b = Math.floor(c / P.p);
    const pos = c - b * P.p;
    const len = Math.min(P.p - pos, n0 + n - c);
    visit(b, pos, len, c - n0);
    c += len;
  }
}

/** The kernels' common arguments after the input's address: (image, cg, H, W, KH, KW, sh, sw, ph, pw, dh, dw, Wo, P). */
function geometryArgs(P: Plan): number[] {
  const { z, g } = P;
  return [P.image, P.cg, z.height, z.width, z.kh, z.kw, g.stride[0]!, g.stride[1]!, g.padding[0]!, g.padding[1]!, g.dilation[0]!, g.dilation[1]!, z.ow, P.p];
}

/** Copies x into the arena at `at` (after the leading slack). */
function place(mem: Float32Array, x: Float32Array, at: number): void {
  mem.set(x, at / 4);
}

/**
 * out = conv2d(x, w) on the Wasm path, then `epilogue` (runtime/conv.ts) on each output row run
 * as it is copied out of the arena; false (nothing written) when the operands do not fit the arena.
 */
export function wasmConv2d(x: Float32Array, w: Float32Array, out: Float32Array | null, z: ConvSizes, g: ConvGeometry, threads: number, epilogue?: ConvEpilogue): boolean {
  const P = plan(z, g);
  const { og, k, width, ldm, p } = P;
  const ogPad = Math.ceil(og / MR) * MR;
  const arena = convArena(threads);
  const { im2col } = arena;
  const r = regions(arena, [x.length * 4 + 2 * P.slack, w.length * 4 + MR * k * 4, P.kPad * ldm * 4, ogPad * width * 4]);
  if (r === null) return false;
  const [xAt, wAt, colAt, cAt] = [r[0]! + P.slack, r[1]!, r[2]!, r[3]!];
  const mem = new Float32Array(arena.memory.buffer);
  place(mem, x, xAt);
  mem.set(w, wAt / 4);
  const geo = geometryArgs(P);
  chunks(P, (n0, n) => {
    for (let grp = 0; grp < g.groups; grp++) {
      im2col(xAt + grp * P.groupBytes, ...geo, n0, n, colAt, ldm * 4);
      mem.fill(0, cAt / 4, cAt / 4 + ogPad * width);
      const task: GemmTask = { a: wAt + grp * og * k * 4, aBlock: MR * k * 4, aRow: k * 4, aStep: 4, b: colAt, bPanel: NR * 4, bStep: ldm * 4, c: cAt, ldc: width * 4, panels: Math.ceil(n / NR), k, kc: KC, nc: NC };
      multiply(arena, task, ogPad / MR, og * k * n, threads);
      for (let o = 0; o < og; o++) {
        const row = cAt / 4 + o * width;
        segments(P, n0, n, (b, pos, len, at) => {
          const oc = grp * og + o;
          if (out !== null) out.set(mem.subarray(row + at, row + at + len), (b * z.outChannels + oc) * p + pos);
          epilogue?.(mem, row + at, b, oc, pos, len);
        });
      }
    }
  });
  return true;
}

/** dx = the transposed convolution of ct with w, on the Wasm path; false when it does not fit. */
export function wasmConv2dInputGrad(ct: Float32Array, w: Float32Array, out: Float32Array, z: ConvSizes, g: ConvGeometry, threads: number): boolean {
  const [dh, dw] = [g.dilation[0]!, g.dilation[1]!];
  const [ph, pw] = [dh * (z.kh - 1) - g.padding[0]!, dw * (z.kw - 1) - g.padding[1]!];
  if (g.stride[0] === 1 && g.stride[1] === 1 && ph >= 0 && pw >= 0 && z.channels / g.groups >= MR) {
    // Stride 1: dx is the forward convolution of ct (padded by d(K − 1) − p) with the kernel
    // flipped and its two channel axes swapped per group, W'[g·cg + c, o, i, j] =
    // W[g·og + o, c, KH − 1 − i, KW − 1 − j], whose inner dimension og·KH·KW keeps the gemm's
    // tiles busy where col2im's product has only og. (With fewer than MR channels per group its
    // rows would be mostly padding: col2im then.)
    const cg = z.channels / g.groups;
    const og = z.outChannels / g.groups;
    const kk = z.kh * z.kw;
    const flipped = new Float32Array(w.length);
    for (let grp = 0; grp < g.groups; grp++)
      for (let o = 0; o < og; o++)
        for (let c = 0; c < cg; c++)
          for (let e = 0; e < kk; e++) flipped[((grp * cg + c) * og + o) * kk + e] = w[((grp * og + o) * cg + c) * kk + kk - 1 - e]!;
    const zt: ConvSizes = { batch: z.batch, channels: z.outChannels, height: z.oh, width: z.ow, outChannels: z.channels, kh: z.kh, kw: z.kw, oh: z.height, ow: z.width };
    return wasmConv2d(ct, flipped, out, zt, { stride: [1, 1], padding: [ph, pw], dilation: g.dilation, groups: g.groups }, threads);
  }
  const P = plan(z, g);
  const { og, k, kPad, width, p } = P;
  const blocks = kPad / MR;
  const arena = convArena(threads);
  const { col2im } = arena;
  const r = regions(arena, [out.length * 4 + 2 * P.slack, g.groups * kPad * og * 4, og * width * 4, kPad * width * 4]);
  if (r === null) return false;
  const [dxAt, wtAt, ctAt, cAt] = [r[0]! + P.slack, r[1]!, r[2]!, r[3]!];
  const mem = new Float32Array(arena.memory.buffer);
  mem.fill(0, dxAt / 4, dxAt / 4 + out.length);
  // Wᵀ of each group as packed row blocks [K / MR][og][MR], zero past row K.
  for (let grp = 0, q = wtAt / 4; grp < g.groups; grp++) {
    for (let kb = 0; kb < blocks; kb++) {
      for (let o = 0; o < og; o++) {
        const from = (grp * og + o) * k;
        for (let rr = 0; rr < MR; rr++, q++) mem[q] = kb * MR + rr < k ? w[from + kb * MR + rr]! : 0;
      }
    }
  }
  const geo = geometryArgs(P);
  chunks(P, (n0, n) => {
    for (let grp = 0; grp < g.groups; grp++) {
      for (let o = 0; o < og; o++) {
        const row = ctAt / 4 + o * width;
        segments(P, n0, n, (b, pos, len, at) => {
          const from = (b * z.outChannels + grp * og + o) * p + pos;
          mem.set(ct.subarray(from, from + len), row + at);
        });
      }
      mem.fill(0, cAt / 4, cAt / 4 + kPad * width);
      const task: GemmTask = { a: wtAt + grp * kPad * og * 4, aBlock: og * MR * 4, aRow: 4, aStep: MR * 4, b: ctAt, bPanel: NR * 4, bStep: width * 4, c: cAt, ldc: width * 4, panels: Math.ceil(n / NR), k: og, kc: KC, nc: NC };
      multiply(arena, task, blocks, k * og * n, threads);
      col2im(dxAt + grp * P.groupBytes, ...geo, n0, n, cAt, width * 4);
    }
  });
  out.set(mem.subarray(dxAt / 4, dxAt / 4 + out.length));
  return true;
}

/** dw = the correlation of x with ct, on the Wasm path; false when it does not fit. */
export function wasmConv2dWeightGrad(x: Float32Array, ct: Float32Array, out: Float32Array, z: ConvSizes, g: ConvGeometry, threads: number): boolean {
  const P = plan(z, g);
  const { og, k, kPad, width, ldm, p } = P;
  const panels = Math.ceil(og / NR);
  const ldc = panels * NR;
  const arena = convArena(threads);
  const { im2col } = arena;
  const r = regions(arena, [x.length * 4 + 2 * P.slack, kPad * ldm * 4, panels * NR * width * 4, g.groups * kPad * ldc * 4, og * width * 4]);
  if (r === null) return false;
  const [xAt, colAt, ctAt, cAt, rowsAt] = [r[0]! + P.slack, r[1]!, r[2]!, r[3]!, r[4]!];
  const mem = new Float32Array(arena.memory.buffer);
  place(mem, x, xAt);
  mem.fill(0, cAt / 4, cAt / 4 + g.groups * kPad * ldc);
  const geo = geometryArgs(P);
  chunks(P, (n0, n) => {
    for (let grp = 0; grp < g.groups; grp++) {
      im2col(xAt + grp * P.groupBytes, ...geo, n0, n, colAt, ldm * 4);
      // ct's rows of the chunk, then ctᵀ as panels [og / NR][n][NR].
      for (let o = 0; o < og; o++) {
        const row = rowsAt / 4 + o * width;
        segments(P, n0, n, (b, pos, len, at) => {
          const from = (b * z.outChannels + grp * og + o) * p + pos;
          mem.set(ct.subarray(from, from + len), row + at);
        });
      }
      arena.panels(rowsAt, width * 4, og, n, ctAt);
      const task: GemmTask = { a: colAt, aBlock: MR * ldm * 4, aRow: ldm * 4, aStep: 4, b: ctAt, bPanel: n * NR * 4, bStep: NR * 4, c: cAt + grp * kPad * ldc * 4, ldc: ldc * 4, panels, k: n, kc: KC, nc: NC };
      multiply(arena, task, kPad / MR, k * og * n, threads);
    }
  });
  // dw[grp·og + o, kk] = c[grp][kk, o]
  for (let grp = 0; grp < g.groups; grp++) {
    const c0 = cAt / 4 + grp * kPad * ldc;
    for (let o = 0; o < og; o++) {
      const to = (grp * og + o) * k;
      for (let kk = 0; kk < k; kk++) out[to + kk] = mem[c0 + kk * ldc + o]!;
    }
  }
  return true;
}
