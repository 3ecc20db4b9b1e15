/**
 * WGSL library shaders for the `conv2d` and `pool2d` steps, with the semantics of
 * runtime/conv.ts and runtime/pool2d.ts (NCHW). The convolution and both its gradients are one
 * implicit GEMM each — a 16 x 16 shared-memory tiled product like kernels.ts's matmul, whose
 * operands are read through the im2col index map instead of being materialised:
 *   forward      out[g]  [O/G, B·Ho·Wo]   = w[g] [O/G, C/G·KH·KW] @ col(x)[g]
 *   input grad   dx[g]   [C/G, B·H·W]     = w[g]ᵀ                 @ taps(ct)[g]  (transposed conv)
 *   weight grad  dw[g]   [O/G, C/G·KH·KW] = ct[g] [O/G, B·Ho·Wo]  @ col(x)[g]ᵀ
 * one workgroup per 64 x 64 output block and group (grid z = group). Poolings run one invocation
 * per output element (forward) or per input element (gradients, which gather from the windows
 * that hold it in row-major window order: the CPU's order of additions, so max pooling's
 * gradient agrees bit for bit). Sizes travel in the uniform; the source depends only on the mode.
 */
import { convSizes, poolSizes, type ConvGeometry, type PoolGeometry } from "../conv-geometry.js";
import { LIBRARY_WORKGROUP, type LibraryKernel } from "./kernels.js";

/** The output block of a workgroup (TILE x TILE), the inner slice staged per step, an invocation's block. */
const TILE = 64;
const TILE_K = 16;
const ROWS = 8;
const VEC = 2;
/** Staged rows padded by one (as compiler/codegen/wgsl/matmul.ts), so a GPU spreads them over its memory banks. */
const TA_ROW = TILE + 1;
const TB_ROW = TILE / 4 + 1;
const THREADS = 64;
const TX = TILE / (4 * VEC);

/**
 * The longest inner size K a convolution kernel runs on a software adapter: llvmpipe counts the
 * iterations of all of a shader's loops together against its 65535 cap, and the store loops
 * after the slice loop take ROWS + ROWS · 4 · VEC = 72 of them.
 */
export const MAX_SOFTWARE_K = TILE_K * (65535 - ROWS - ROWS * 4 * VEC);

const accs = Array.from({ length: ROWS }, (_, i) => Array.from({ length: VEC }, (_, v) => `acc${i}_${v}`));

/** Staging element lid + 64·l of the A and B slices (unrolled: see gemmMain). */
const stageLines = (l: number) => `    {
      let e = i32(lid) + ${l * THREADS};
      let ax = e / ${TILE_K};
      let ay = e % ${TILE_K};
      var av = 0.0;
      if (r0 + ax < M && k0 + ay < K) { av = loadA(g, r0 + ax, k0 + ay); }
      ta[ay * ${TA_ROW} + ax] = av;
      let bx = e % ${TILE};
      let by = e / ${TILE};
      var bv = 0.0;
      if (c0 + bx < N && k0 + by < K) { bv = loadB(g, k0 + by, c0 + bx); }
      tb[by * ${TB_ROW} + bx / 4][bx % 4] = bv;
    }`;

/** Inner step kk of a staged slice: 8 values of A times 2 vec4s of B into the 16 accumulators. */
const productLines = (kk: number) => `    {
${Array.from({ length: VEC }, (_, v) => `      let b${v} = tb[${kk * TB_ROW} + tx + ${v * TX}];`).join("\n")}
      let ab = ${kk * TA_ROW} + ty * ${ROWS};
${accs.map((row, i) => [`      let a${i} = ta[ab + ${i}];`, ...row.map((a, v) => `      ${a} = ${a} + a${i} * b${v};`)].join("\n")).join("\n")}
    }`;

/**
 * The tiled product, as compiler/codegen/wgsl/matmul.ts's: 64 invocations per 64 x 64 output
 * block, each accumulating 8 rows x 2 vec4s (32 columns apart) in named registers, with 64 x 16
 * slices of A and 16 x 64 of B staged in workgroup memory per step (16 loads of each per
 * invocation, consecutive invocations on consecutive columns of B, the im2col side). The
 * staging and the inner steps are unrolled, so the only loop is the one over slices: llvmpipe
 * stops a loop after 65535 iterations in all, re-entries included (see compiler/codegen/wgsl/reduce.ts), which
 * nested loops would reach at an inner size K of 65535 — a weight gradient's K is B·Ho·Wo —
 * and this way only at 16 · 65535 (steps.ts refuses more on a software adapter: MAX_SOFTWARE_K).
 * This is main's body: M, N, K are i32 expressions, `loadA(g, row, k)` and `loadB(g, k, col)`
 * module functions, and `store` the statements run on each output element v at (g, row, col)
 * (i32s) — a call for the library step, a fused epilogue for compiler/codegen/wgsl/conv.ts.
 */
export function implicitGemmBody(m: string, n: string, k: string, store: string): string {
  return `  let M = ${m};
  let N = ${n};
  let K = ${k};
  let g = i32(wid.z);
  let r0 = i32(wid.y) * ${TILE};
  let c0 = i32(wid.x) * ${TILE};
  let tx = i32(lid) % ${TX};
  let ty = i32(lid) / ${TX};
${accs.flat().map((a) => `  var ${a}: vec4<f32>;`).join("\n")}
  for (var k0 = 0; k0 < K; k0 = k0 + ${TILE_K}) {
${Array.from({ length: (TILE * TILE_K) / THREADS }, (_, l) => stageLines(l)).join("\n")}
    workgroupBarrier();
${Array.from({ length: TILE_K }, (_, kk) => productLines(kk)).join("\n")}
    workgroupBarrier();
  }
  var acc = array<vec4<f32>, ${ROWS * VEC}>(${accs.flat().join(", ")});
  for (var i = 0; i < ${ROWS}; i = i + 1) {
    let row = r0 + ty * ${ROWS} + i;
    if (row >= M) { break; }
    for (var j = 0; j < ${4 * VEC}; j = j + 1) {
      let col = c0 + (j / 4) * ${TX * 4} + tx * 4 + j % 4;
      if (col < N) {
        let v = acc[i * ${VEC} + j / 4][j % 4];
${store}
      }
    }
  }`;
}

/** The workgroup memory {@link implicitGemmBody} stages its slices in, and its workgroup size. */
export const IMPLICIT_GEMM_SHARED = [`var<workgroup> ta: array<f32, ${TA_ROW * TILE_K}>;`, `var<workgroup> tb: array<vec4<f32>, ${TB_ROW * TILE_K}>;`];
export const IMPLICIT_GEMM_THREADS = THREADS;

const gemmMain = `@compute @workgroup_size(${THREADS})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
${implicitGemmBody("u.e.z", "u.e.w", "u.f.x", "        store(g, row, col, v);")}
}`;

/** The uniform block both families share: sizes as vec4<i32>s. */
const header = `struct U { a: vec4<i32>, b: vec4<i32>, c: vec4<i32>, d: vec4<i32>, e: vec4<i32>, f: vec4<i32> }
@group(0) @binding(0) var<uniform> u: U;`;

/** Reads the sizes out of the uniform under the names the snippets below use. */
const sizes = `  let B = u.a.x; let C = u.a.y; let H = u.a.z; let W = u.a.w;
  let O = u.b.x; let Cg = u.b.y; let KH = u.b.z; let KW = u.b.w;
  let Ho = u.c.x; let Wo = u.c.y; let Og = u.c.w;
  let sh = u.d.x; let sw = u.d.y; let ph = u.d.z; let pw = u.d.w;
  let dh = u.e.x; let dw = u.e.y;`;

/** x[b, g·C/G + c, i·sh − ph + r·dh, j·sw − pw + s·dw], 0 in the padding (`k` = (c, r, s), `n` = (b, i, j)). */
export const colX = (k: string, n: string, x = "p") => `{
  let c = ${k} / (KH * KW); let r = (${k} / KW) % KH; let s = ${k} % KW;
  let b = ${n} / (Ho * Wo); let i = (${n} / Wo) % Ho; let j = ${n} % Wo;
  let hi = i * sh - ph + r * dh; let wi = j * sw - pw + s * dw;
  if (hi >= 0 && hi < H && wi >= 0 && wi < W) { return ${x}[((b * C + g * Cg + c) * H + hi) * W + wi]; }
  return 0.0;
}`;

/** The A operand, B operand and store of each mode, as WGSL bodies over (g, row, k, col). */
const modes = {
  forward: {
    a: `{ return q[(g * Og + row) * Cg * KH * KW + k]; }`,
    b: colX("k", "col"),
    store: `{ let b = col / (Ho * Wo); let pp = col % (Ho * Wo); out[(b * O + g * Og + row) * Ho * Wo + pp] = v; }`,
  },
  input_grad: {
    // Row c of w[g]ᵀ: w[g·O/G + o, c, r, s] for k = (o, r, s).
    a: `{ let o = k / (KH * KW); return q[((g * Og + o) * Cg + row) * KH * KW + k % (KH * KW)]; }`,
    // ct[b, g·O/G + o, i, j] where i·sh − ph + r·dh = h exactly (a transposed convolution's taps).
    b: `{
  let o = k / (KH * KW); let r = (k / KW) % KH; let s = k % KW;
  let b = col / (H * W); let h = (col / W) % H; let w = col % W;
  let th = h + ph - r * dh; let tw = w + pw - s * dw;
  if (th < 0 || tw < 0 || th % sh != 0 || tw % sw != 0) { return 0.0; }
  let i = th / sh; let j = tw / sw;
  if (i >= Ho || j >= Wo) { return 0.0; }
  return p[((b * O + g * Og + o) * Ho + i) * Wo + j];
}`,
    store: `{ let b = col / (H * W); let pp = col % (H * W); out[(b * C + g * Cg + row) * H * W + pp] = v; }`,
  },
  weight_grad: {
    // ct[g] as [O/G, B·Ho·Wo]: k = (b, i, j).
    a: `{ let b = k / (Ho * Wo); return q[(b * O + g * Og + row) * Ho * Wo + k % (Ho * Wo)]; }`,
    b: colX("col", "k"),
    store: `{ out[(g * Og + row) * Cg * KH * KW + col] = v; }`,
  },
} as const;

/** The implicit-GEMM kernel of a `conv2d` step; bindings: a, b, out as the step names them. */
export function convKernel(mode: keyof typeof modes, aShape: readonly number[], bShape: readonly number[], outShape: readonly number[], g: ConvGeometry): LibraryKernel {
  const [xShape, wShape, yShape] =
    mode === "forward" ? [aShape, bShape, outShape] : mode === "input_grad" ? [outShape, bShape, aShape] : [aShape, outShape, bShape];
  const z = convSizes(xShape, wShape, yShape, g);
  const cg = z.channels / g.groups;
  const og = z.outChannels / g.groups;
  const taps = z.kh * z.kw;
  const [m, n, k] =
    mode === "forward" ? [og, z.batch * z.oh * z.ow, cg * taps]
    : mode === "input_grad" ? [cg, z.batch * z.height * z.width, og * taps]
    : [og, cg * taps, z.batch * z.oh * z.ow];
  const uniforms = Uint32Array.from([
    ...[z.batch, z.channels, z.height, z.width],
    ...[z.outChannels, cg, z.kh, z.kw],
    ...[z.oh, z.ow, g.groups, og],
    ...[g.stride[0]!, g.stride[1]!, g.padding[0]!, g.padding[1]!],
    ...[g.dilation[0]!, g.dilation[1]!, m, n],
    ...[k, 0, 0, 0],
  ]);
  const m_ = modes[mode];
  // p is the step's a (x, or the cotangent for the input gradient), q its b.
  const code = `${header}
@group(0) @binding(1) var<storage, read> p: array<f32>;
@group(0) @binding(2) var<storage, read> q: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
var<workgroup> ta: array<f32, ${TA_ROW * TILE_K}>;
var<workgroup> tb: array<vec4<f32>, ${TB_ROW * TILE_K}>;
fn loadA(g: i32, row: i32, k: i32) -> f32 {
${sizes}
  ${m_.a}
}
fn loadB(g: i32, k: i32, col: i32) -> f32 {
${sizes}
  ${m_.b}
}
fn store(g: i32, row: i32, col: i32, v: f32) {
${sizes}
  ${m_.store}
}
${gemmMain}
`;
  const workgroups: [number, number, number] = [Math.ceil(n / TILE), Math.ceil(m / TILE), g.groups];
  return { name: `conv2d_${mode}`, code, uniforms, grid: { workgroups }, errorFlag: false };
}

const linearMain = `@compute @workgroup_size(${LIBRARY_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let e = i32(gid.x + gid.y * (nwg.x * ${LIBRARY_WORKGROUP}u));
  let B = u.a.x; let C = u.a.y; let H = u.a.z; let W = u.a.w;
  let KH = u.b.x; let KW = u.b.y; let Ho = u.b.z; let Wo = u.b.w;
  let sh = u.c.x; let sw = u.c.y; let ph = u.c.z; let pw = u.c.w;
  let total = u.d.x;
  if (e >= total) { return; }`;

/** The index into x of window (plane, i, j)'s winner: runtime/pool2d.ts's rule. */
const winner = `fn winner(plane: i32, i: i32, j: i32) -> i32 {
  let H = u.a.z; let W = u.a.w; let KH = u.b.x; let KW = u.b.y;
  let top = i * u.c.x - u.c.z; let left = j * u.c.y - u.c.w;
  var best = -1;
  var bestValue = 0.0;
  for (var h = max(top, 0); h < min(top + KH, H); h = h + 1) {
    for (var w = max(left, 0); w < min(left + KW, W); w = w + 1) {
      let at = (plane * H + h) * W + w;
      let v = x[at];
      // v != v: a NaN, which outranks any number (WGSL's > is false on NaN, as JavaScript's).
      if (best < 0 || v > bestValue || (v != v && bestValue == bestValue)) { best = at; bestValue = v; }
    }
  }
  return best;
}`;

/** Visits the windows holding input element e, in row-major window order. */
const holders = (body: string) => `  let plane = e / (H * W); let h = (e / W) % H; let w = e % W;
  let lo = h + ph - KH + 1; let i0 = select((lo + sh - 1) / sh, 0, lo <= 0); let i1 = min(Ho - 1, (h + ph) / sh);
  let lw = w + pw - KW + 1; let j0 = select((lw + sw - 1) / sw, 0, lw <= 0); let j1 = min(Wo - 1, (w + pw) / sw);
  var acc = 0.0;
  for (var i = i0; i <= i1; i = i + 1) {
    for (var j = j0; j <= j1; j = j + 1) {
      let o = (plane * Ho + i) * Wo + j;
${body}
    }
  }
  out[e] = acc;`;

const poolBodies = {
  max: `@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
${winner}
${linearMain}
  let plane = e / (Ho * Wo); let i = (e / Wo) % Ho; let j = e % Wo;
  let at = winner(plane, i, j);
  out[e] = select(v[max(at, 0)], 0.0, at < 0);
}`,
  max_grad: `@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> ct: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
${winner}
${linearMain}
${holders("      if (winner(plane, i, j) == e) { acc = acc + ct[o]; }")}
}`,
  avg: `@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
${linearMain}
  let plane = e / (Ho * Wo); let i = (e / Wo) % Ho; let j = e % Wo;
  let top = i * sh - ph; let left = j * sw - pw;
  var sum = 0.0;
  for (var h = max(top, 0); h < min(top + KH, H); h = h + 1) {
    for (var w = max(left, 0); w < min(left + KW, W); w = w + 1) { sum = sum + x[(plane * H + h) * W + w]; }
  }
  out[e] = sum / f32(KH * KW);
}`,
  avg_grad: `@group(0) @binding(1) var<storage, read> ct: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
${linearMain}
${holders("      acc = acc + ct[o] / f32(KH * KW);")}
}`,
} as const;

/**
 * The kernel of a `pool2d` step over x [B, C, H, W] pooled to `yShape`; bindings as the step
 * names them (a, b when present, out).
 */
export function poolKernel(mode: keyof typeof poolBodies, xShape: readonly number[], yShape: readonly number[], g: PoolGeometry): LibraryKernel {
  const z = poolSizes(xShape, yShape, g);
  const grad = mode === "max_grad" || mode === "avg_grad";
  const total = grad ? z.batch * z.channels * z.height * z.width : z.batch * z.channels * z.oh * z.ow;
  const uniforms = Uint32Array.from([
    ...[z.batch, z.channels, z.height, z.width],
    ...[z.kh, z.kw, z.oh, z.ow],
    ...[g.stride[0]!, g.stride[1]!, g.padding[0]!, g.padding[1]!],
    ...[total, 0, 0, 0],
    ...[0, 0, 0, 0],
    ...[0, 0, 0, 0],
  ]);
  return { name: `pool2d_${mode}`, code: `${header}\n${poolBodies[mode]}\n`, uniforms, grid: { invocations: total }, errorFlag: false };
}
