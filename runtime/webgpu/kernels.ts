/**
 * WGSL library shaders for a plan's structural steps, with the semantics of runtime/kernels.ts:
 * a tiled shared-memory batched matmul, transpose, gather, gather's scatter-add gradient (one
 * invocation per output element looping over the indices, so no float atomics) and the N:M mask.
 * Sizes travel in a uniform; only ranks and element types are baked into the source, so the
 * pipeline cache holds one pipeline per rank, not per size (STYLE.md §5).
 */
import { product, rowMajorStrides } from "../kernels.js";
import { matmulShape } from "../matmul.js";

/** Invocations per workgroup of the 1-D library kernels. */
export const LIBRARY_WORKGROUP = 64;
/** The matmul tile edge: each workgroup computes a TILE x TILE block of the output. */
export const TILE = 16;

/** A library kernel ready to dispatch: bindings 1… are the step's buffers, in the order given. */
export interface LibraryKernel {
  name: string;
  code: string;
  uniforms: Uint32Array;
  /** One invocation per element on the 1-D convention, or an explicit 3-D workgroup grid. */
  grid: { invocations: number } | { workgroups: [number, number, number] };
  /** Gather kernels take an error-flag buffer as their last binding (see {@link GATHER_OK}). */
  errorFlag: boolean;
}

/** The error flag's first word while every gather index was in range. */
export const GATHER_OK = 0xffffffff;

/** Values padded with zeros to whole vec4s (at least one). */
function vec4s(values: readonly number[]): number[] {
  const padded = [...values];
  while (padded.length === 0 || padded.length % 4 !== 0) padded.push(0);
  return padded;
}

/** `u.name[k / 4][k % 4]` as WGSL with k a constant. */
function at(name: string, k: number): string {
  return `u.${name}[${Math.floor(k / 4)}][${k % 4}]`;
}

const linearMain = `@compute @workgroup_size(${LIBRARY_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let e = gid.x + gid.y * (nwg.x * ${LIBRARY_WORKGROUP}u);`;

/**
 * Batched out = a @ b, batch dims broadcast; one workgroup per 16x16 output tile per batch. The
 * inner step is unrolled so the loop over slices is the only loop: llvmpipe stops a loop after
 * 65535 iterations in all, re-entries included, which a nested loop would reach at k = 65536
 * (steps.ts refuses k past 16 · 65535 on a software adapter).
 */
export function matmulKernel(aShape: readonly number[], bShape: readonly number[]): LibraryKernel {
  const outShape = matmulShape(aShape, bShape);
  const [m, k, n] = [aShape[aShape.length - 2]!, aShape[aShape.length - 1]!, bShape[bShape.length - 1]!];
  const batch = outShape.slice(0, -2);
  const rb = batch.length;
  const q = Math.max(1, Math.ceil(rb / 4));
  const strides = (own: readonly number[]) => {
    const ownStrides = rowMajorStrides(own);
    return batch.map((size, d) => {
      const a = d - rb + own.length;
      return a < 0 || own[a] === 1 ? 0 : ownStrides[a]!;
    });
  };
  const uniforms = Uint32Array.from([
    ...[m, k, n, product(batch)],
    ...vec4s(batch),
    ...vec4s(strides(aShape.slice(0, -2))),
    ...vec4s(strides(bShape.slice(0, -2))),
  ]);
  const offsets: string[] = [];
  for (let d = rb - 1; d >= 0; d--) {
    offsets.push(
      `  { let i = rest % ${at("shape", d)}; rest = rest / ${at("shape", d)}; am += i * ${at("sa", d)}; bm += i * ${at("sb", d)}; }`,
    );
  }
  const code = `struct U { mknb: vec4<u32>, shape: array<vec4<u32>, ${q}>, sa: array<vec4<u32>, ${q}>, sb: array<vec4<u32>, ${q}> }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
var<workgroup> ta: array<array<f32, ${TILE}>, ${TILE}>;
var<workgroup> tb: array<array<f32, ${TILE}>, ${TILE}>;
@compute @workgroup_size(${TILE}, ${TILE})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let m = u.mknb.x;
  let k = u.mknb.y;
  let n = u.mknb.z;
  let t = wg.z;
  var rest = t;
  var am = 0u;
  var bm = 0u;
${offsets.join("\n")}
  let aBase = am * m * k;
  let bBase = bm * k * n;
  let row = wg.y * ${TILE}u + lid.y;
  let col = wg.x * ${TILE}u + lid.x;
  var acc = 0.0;
  for (var p0 = 0u; p0 < k; p0 = p0 + ${TILE}u) {
    let ac = p0 + lid.x;
    let br = p0 + lid.y;
    var av = 0.0;
    if (row < m && ac < k) { av = a[aBase + row * k + ac]; }
    var bv = 0.0;
    if (br < k && col < n) { bv = b[bBase + br * n + col]; }
    ta[lid.y][lid.x] = av;
    tb[lid.y][lid.x] = bv;
    workgroupBarrier();
${Array.from({ length: TILE }, (_, p) => `    acc = acc + ta[lid.y][${p}] * tb[${p}][lid.x];`).join("\n")}
    workgroupBarrier();
  }
  if (row < m && col < n) { out[t * m * n + row * n + col] = acc; }
}
`;
  const workgroups: [number, number, number] = [Math.ceil(n / TILE), Math.ceil(m / TILE), product(batch)];
  return { name: `matmul_b${rb}`, code, uniforms, grid: { workgroups }, errorFlag: false };
}

/** out = x with axes permuted (any 32-bit element type, copied as bits). */
export function transposeKernel(xShape: readonly number[], perm: readonly number[]): LibraryKernel {
  const rank = xShape.length;
  const q = Math.max(1, Math.ceil(rank / 4));
  const xStrides = rowMajorStrides(xShape);
  const total = product(xShape);
  const uniforms = Uint32Array.from([
    ...[total, 0, 0, 0],
    ...vec4s(perm.map((p) => xShape[p]!)),
    ...vec4s(perm.map((p) => xStrides[p]!)),
  ]);
  const walk: string[] = [];
  for (let d = rank - 1; d >= 0; d--) {
    walk.push(`  { let i = rest % ${at("shape", d)}; rest = rest / ${at("shape", d)}; src = src + i * ${at("strides", d)}; }`);
  }
  const code = `struct U { total: vec4<u32>, shape: array<vec4<u32>, ${q}>, strides: array<vec4<u32>, ${q}> }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;
${linearMain}
  if (e >= u.total.x) { return; }
  var rest = e;
  var src = 0u;
${walk.join("\n")}
  out[e] = x[src];
}
`;
  return { name: `transpose_r${rank}`, code, uniforms, grid: { invocations: total }, errorFlag: false };
}

/** The uniforms gather and its gradient share: x's shape split at `axis` around the indices. */
function gatherUniforms(xShape: readonly number[], count: number, axis: number, total: number): Uint32Array {
  const pre = product(xShape.slice(0, axis));
  const post = product(xShape.slice(axis + 1));
  return Uint32Array.from([pre, xShape[axis]!, count, post, total, 0, 0, 0]);
}

const gatherHeader = `struct U { psqc: vec4<u32>, total: vec4<u32> }
@group(0) @binding(0) var<uniform> u: U;`;

/** Records the lowest position of an out-of-range index (the flag starts at {@link GATHER_OK}). */
const flagBinding = (binding: number) => `@group(0) @binding(${binding}) var<storage, read_write> flag: array<atomic<u32>>;`;

/** NumPy take(x, idx, axis) on 32-bit elements; an index out of range writes 0 and sets the flag. */
export function gatherKernel(xShape: readonly number[], count: number, axis: number): LibraryKernel {
  const total = product(xShape.slice(0, axis)) * count * product(xShape.slice(axis + 1));
  const code = `${gatherHeader}
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read> idx: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<u32>;
${flagBinding(4)}
${linearMain}
  if (e >= u.total.x) { return; }
  let size = u.psqc.y;
  let count = u.psqc.z;
  let post = u.psqc.w;
  let q = e % post;
  let r = e / post;
  let j = r % count;
  let a = r / count;
  let i = idx[j];
  if (i < 0 || u32(i) >= size) {
    atomicMin(&flag[0], j);
    out[e] = 0u;
    return;
  }
  out[e] = x[(a * size + u32(i)) * post + q];
}
`;
  return { name: "gather", code, uniforms: gatherUniforms(xShape, count, axis, total), grid: { invocations: total }, errorFlag: true };
}

/**
 * gather's gradient: each output element sums, in index order, the cotangents of every index
 * that points at it — the CPU's order of additions, so the sums agree bit for bit.
 */
export function gatherGradKernel(outShape: readonly number[], count: number, axis: number): LibraryKernel {
  const total = product(outShape);
  const code = `${gatherHeader}
@group(0) @binding(1) var<storage, read> ct: array<f32>;
@group(0) @binding(2) var<storage, read> idx: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
${flagBinding(4)}
${linearMain}
  if (e >= u.total.x) { return; }
  let size = u.psqc.y;
  let count = u.psqc.z;
  let post = u.psqc.w;
  let q = e % post;
  let r = e / post;
  let i = i32(r % size);
  let a = r / size;
  var acc = 0.0;
  for (var j = 0u; j < count; j = j + 1u) {
    let ix = idx[j];
    if (ix == i) { acc = acc + ct[(a * count + j) * post + q]; }
    if (e == 0u && (ix < 0 || u32(ix) >= size)) { atomicMin(&flag[0], j); }
  }
  out[e] = acc;
}
`;
  return { name: "gather_grad", code, uniforms: gatherUniforms(outShape, count, axis, total), grid: { invocations: total }, errorFlag: true };
}

/**
 * The N:M mask: 1 where fewer than n elements of the group of m outrank this one. Magnitudes are
 * compared as the bits of |w| (NaN as 0), which orders like the floats and never flushes denormals.
 */
export function nmMaskKernel(shape: readonly number[], n: number, m: number, out: "f32" | "i32"): LibraryKernel {
  const total = product(shape);
  const [one, zero] = out === "f32" ? ["1.0", "0.0"] : ["1", "0"];
  const code = `struct U { nmt: vec4<u32> }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<${out}>;
fn mag(v: f32) -> u32 {
  let b = bitcast<u32>(v) & 0x7fffffffu;
  return select(b, 0u, b > 0x7f800000u);
}
${linearMain}
  if (e >= u.nmt.z) { return; }
  let n = u.nmt.x;
  let m = u.nmt.y;
  let start = (e / m) * m;
  let mine = mag(w[e]);
  var outranked = 0u;
  for (var j = start; j < start + m; j = j + 1u) {
    let theirs = mag(w[j]);
    if (theirs > mine || (theirs == mine && j < e)) { outranked = outranked + 1u; }
  }
  out[e] = select(${zero}, ${one}, outranked < n);
}
`;
  return { name: `nm_mask_${out}`, code, uniforms: Uint32Array.from([n, m, total, 0]), grid: { invocations: total }, errorFlag: false };
}
