/**
 * WGSL for a matrix product kernel (schedule-matmul.ts): a tiled shared-memory product with the
 * operands' prologues computed where a tile is loaded and the epilogue computed on each product
 * element before anything is stored.
 *
 * A workgroup of 64 invocations owns a 64 x 64 block of one output matrix; each invocation
 * accumulates an 8 x 8 register block (8 rows of two vec4s 32 columns apart, in sixteen named
 * variables so no compiler has to promote an array to registers): per inner step it reads 8
 * values of `a` and 2 vec4s of `b` for 64 multiply-adds. (On llvmpipe the MLP bench's step took
 * 357 ms with 128 invocations of 8 x 4, 227 ms with 64 of 8 x 8 and 179 ms with 32 of 8 x 16 in
 * one sitting; 32-wide workgroups would leave half of a 64-wide GPU wave idle, so 8 x 8 it is.
 * The depth of the staged slices, 8, 16 or 32, made no difference there.) Per step of 16 along
 * the inner dimension the workgroup stages a 64 x 16 slice of `a` and a 16 x 64 slice of `b` in
 * workgroup memory, each invocation loading 16 elements of each; consecutive invocations load
 * consecutive addresses of the operand as it is stored (which differs when it is read through a
 * transpose). Elements past the matrix edges load as 0, so any M, K, N work; K = 0 gives zeros.
 * The grid is ceil(N / 64) x ceil(M / 64) x batch (see `WgslKernel.matmul`).
 */
import { MATMUL_TILE, type Dim, type WgslKernel } from "../../../runtime/plan.js";
import type { Node } from "../../ir.js";
import type { DimT } from "../../types.js";
import type { MatMulKernel, MatMulOperand } from "../../schedule.js";
import { computeLines, coordLines, indent, isScalarLike, stridesFor, WgslWriter, type WgslContext } from "./kernels.js";

const TILE_K = 16;
/** Rows and columns of the output each invocation accumulates (COLS a multiple of 4: vec4s). */
const ROWS = 8;
const COLS = 8;
/**
 * The staged slice of `a` is stored one inner index per row of MATMUL_TILE + 1 floats: loading
 * `a` row-major, consecutive invocations write consecutive rows, which a stride of 64 would put
 * in one memory bank on a GPU and 65 spreads over all of them.
 */
const TA_ROW = MATMUL_TILE + 1;
/**
 * The same for `b`'s slice, in vec4s (17 rather than 16): loaded through a transpose,
 * consecutive invocations write consecutive rows.
 */
const TB_ROW = MATMUL_TILE / 4 + 1;
/** vec4 accumulators per row of an invocation's block. */
const VEC = COLS / 4;
/** Invocations across a tile's columns, and in all. */
const TX = MATMUL_TILE / COLS;
const THREADS = TX * (MATMUL_TILE / ROWS);

/** The product kernel's WGSL. */
export function matmulKernelWgsl(name: string, k: MatMulKernel, reads: Node[], ctx: WgslContext): WgslKernel {
  const w = new WgslWriter(name, ctx);
  reads.forEach((n) => w.bind(n, false));
  k.outputs.forEach((n) => w.bind(n, true));
  const out = k.node.shape;
  const rb = out.length - 2;
  const [M, N] = [w.dim(out[rb]!), w.dim(out[rb + 1]!)];
  const av = k.a.value.shape;
  const K = w.dim(k.a.transposed ? av[av.length - 2]! : av[av.length - 1]!);
  const batch = coordLines(w, out, [...Array(rb).keys()], "t").map((l) => l.replace(/\bc(\d+)\b/g, "cb$1").replace(/\bq(\d+)\b/g, "qb$1"));
  const T = MATMUL_TILE;
  const acc = (i: number, v: number) => `acc${i}_${v}`;
  const accs = Array.from({ length: ROWS }, (_, i) => Array.from({ length: VEC }, (_, v) => acc(i, v))).flat();
  const body = [
    `let m = ${M};`,
    `let k = ${K};`,
    `let n = ${N};`,
    "let t = wid.z;",
    ...batch,
    `let r0 = wid.y * ${T}u;`,
    `let c0 = wid.x * ${T}u;`,
    `let tx = lid % ${TX}u;`,
    `let ty = lid / ${TX}u;`,
    ...accs.map((a) => `var ${a}: vec4<f32>;`),
    // llvmpipe stops looping after 65535 iterations of all the shader's loops together and goes
    // on with a partial sum: with 33 per slice of 16 terms, the runtime refuses this kernel on a
    // software adapter past K = 31,728 (MATMUL_SOFTWARE_MAX_K). Unrolling them, as the convolution kernels do, would lift that
    // 16-fold, but with prologues copied 16 times the tests' kernels took 10-30 times as long
    // to compile on llvmpipe (a layer's forward and vjp: 1.5 s -> 50 s).
    `for (var k0 = 0u; k0 < k; k0 = k0 + ${TILE_K}u) {`,
    `  for (var l = 0u; l < ${(T * TILE_K) / THREADS}u; l = l + 1u) {`,
    `    let e = lid + l * ${THREADS}u;`,
    ...indent(loadLines(w, k.a, "a", rb), "    "),
    ...indent(loadLines(w, k.b, "b", rb), "    "),
    "  }",
    "  workgroupBarrier();",
    `  for (var kk = 0u; kk < ${TILE_K}u; kk = kk + 1u) {`,
    // An invocation's columns are VEC vec4s TX vec4s apart, so consecutive invocations read
    // consecutive vec4s of `tb` (no bank conflicts on a GPU) and write neighbouring columns.
    ...Array.from({ length: VEC }, (_, v) => `    let bv${v} = tb[kk * ${TB_ROW}u + tx${v === 0 ? "" : ` + ${v * TX}u`}];`),
    `    let ab = kk * ${TA_ROW}u + ty * ${ROWS}u;`,
    ...Array.from({ length: ROWS }, (_, i) => [
      `    let a${i} = ta[ab${i === 0 ? "" : ` + ${i}u`}];`,
      ...Array.from({ length: VEC }, (_, v) => `    ${acc(i, v)} = ${acc(i, v)} + a${i} * bv${v};`),
    ]).flat(),
    "  }",
    "  workgroupBarrier();",
    "}",
    `var acc = array<vec4<f32>, ${ROWS * VEC}>(${accs.join(", ")});`,
    `for (var i = 0u; i < ${ROWS}u; i = i + 1u) {`,
    `  let row = r0 + ty * ${ROWS}u + i;`,
    "  if (row >= m) { break; }",
    `  for (var j = 0u; j < ${COLS}u; j = j + 1u) {`,
    `    let col = c0 + (j / 4u) * ${TX * 4}u + tx * 4u + j % 4u;`,
    "    if (col < n) {",
    ...indent(epilogueLines(w, k, rb), "      "),
    "    }",
    "  }",
    "}",
  ];
  const extra = [`var<workgroup> ta: array<f32, ${TA_ROW * TILE_K}>;`, `var<workgroup> tb: array<vec4<f32>, ${TB_ROW * TILE_K}>;`];
  const code = w.shader(["@builtin(local_invocation_index) lid: u32", "@builtin(workgroup_id) wid: vec3<u32>"], [...w.hoisted, ...body], THREADS, extra);
  return {
    name,
    code,
    workgroupSize: THREADS,
    invocations: { shape: [...out] as Dim[], perInvocation: 1 },
    matmul: { m: out[rb]! as Dim, n: out[rb + 1]! as Dim, k: (k.a.transposed ? av[av.length - 2]! : av[av.length - 1]!) as Dim, batch: out.slice(0, rb) as Dim[] },
  };
}

/**
 * Loading element `e` (0 … 1023) of the workgroup's slice of operand `which` into `ta`/`tb`:
 * its tile coordinates, the bounds check, the value (read, or the prologue computed on the spot).
 */
function loadLines(w: WgslWriter, op: MatMulOperand, which: "a" | "b", rb: number): string[] {
  const T = MATMUL_TILE;
  // Tile coordinates (x = row of a / column of b, y = inner index) with the stored layout's
  // fastest axis on consecutive invocations.
  const innerFastest = which === "a" ? !op.transposed : op.transposed;
  const [x, y] = innerFastest ? [`e / ${TILE_K}u`, `e % ${TILE_K}u`] : [`e % ${T}u`, `e / ${T}u`];
  const p = which;
  const outer = which === "a" ? `r0 + ${p}x` : `c0 + ${p}x`;
  const lim = which === "a" ? "m" : "n";
  // Coordinates in the stored value's own axes.
  const V = op.value.shape;
  const rv = V.length;
  const coords = V.map((d, axis) => {
    if (axis === rv - 2) return op.transposed === (which === "a") ? `${p}k` : `${p}o`;
    if (axis === rv - 1) return op.transposed === (which === "a") ? `${p}o` : `${p}k`;
    const ob = axis + rb - (rv - 2);
    return d === 1 ? "0u" : `cb${ob}`;
  });
  const { lines, value } = elementAt(w, op, coords);
  const store = which === "a" ? `ta[${p}y * ${TA_ROW}u + ${p}x] = ${p}v;` : `tb[${p}y * ${TB_ROW}u + ${p}x / 4u][${p}x % 4u] = ${p}v;`;
  return [
    `{`,
    `  let ${p}x = ${x};`,
    `  let ${p}y = ${y};`,
    `  let ${p}o = ${outer};`,
    `  let ${p}k = k0 + ${p}y;`,
    `  var ${p}v = 0.0;`,
    `  if (${p}o < ${lim} && ${p}k < k) {`,
    ...indent(lines, "    "),
    `    ${p}v = ${value};`,
    "  }",
    `  ${store}`,
    "}",
  ];
}

/** The operand's value at `coords` (u32 expressions, one per axis of `op.value`): lines and result. */
function elementAt(w: WgslWriter, op: MatMulOperand, coords: string[]): { lines: string[]; value: string } {
  const V = op.value.shape;
  if (op.prologue.length === 0) return { lines: [], value: w.read(op.value, linear(w, op.value, V, coords)) };
  const read = (n: Node) => w.read(n, isScalarLike(n) ? "0u" : linear(w, n, V, coords));
  const c = computeLines(w, op.prologue, read, (axis) => coords[axis]!, linear(w, op.value, V, coords));
  return { lines: c.lines, value: c.value(op.value) };
}

/** Σ coord · stride of `n` read over `shape` (n aligned right, broadcast axes skipped). */
function linear(w: WgslWriter, n: Node, shape: readonly DimT[], coords: string[]): string {
  const strides = stridesFor(w, n, shape);
  const terms = strides.flatMap((s, axis) => (s === "0" || coords[axis] === "0u" ? [] : [s === "1u" ? coords[axis]! : `${coords[axis]} * ${s}`]));
  return terms.length === 0 ? "0u" : terms.join(" + ");
}

/** The epilogue on `acc[i][j]` at (batch t, row, col), and the stores of the kernel's outputs. */
function epilogueLines(w: WgslWriter, k: MatMulKernel, rb: number): string[] {
  const out = k.node.shape;
  const coords = out.map((_, axis) => (axis === rb ? "row" : axis === rb + 1 ? "col" : `cb${axis}`));
  const lines = ["let o = (t * m + row) * n + col;", `let v${k.node.id} = acc[i * ${VEC}u + j / 4u][j % 4u];`];
  const read = (n: Node) => (n.id === k.node.id ? `v${n.id}` : w.read(n, isScalarLike(n) ? "0u" : linear(w, n, out, coords)));
  const c = computeLines(w, k.epilogue, read, (axis) => coords[axis]!, "o");
  lines.push(...c.lines);
  for (const o of k.outputs) lines.push(w.store(o, "o", o.id === k.node.id ? `v${o.id}` : c.value(o)));
  return lines;
}
