/**
 * WGSL for reduction kernels (sum, max, min, argmax, argmin with their fused prologue; mean,
 * logsumexp and softmax are lowered to these): a workgroup tree reduction. Each output element
 * gets T invocations (T = the power of two at or above the reduced extent, at most the workgroup
 * size, chosen at run time from the dims — see `WgslKernel.reduce` in runtime/plan.ts); lane l
 * of an output accumulates the reduced elements l, l + T, l + 2T, … (prologue evaluated per
 * element), then the T partial results are combined pairwise in workgroup memory. A long reduced
 * axis thus runs on a whole workgroup; a short one packs several outputs into one workgroup.
 *
 * Results match the CPU back end: max/min propagate NaN and prefer +0 (max) or -0 (min) among
 * equal zeros, which does not depend on the order of combination; argmax/argmin return the lowest
 * index of the extreme value (NaN never wins, as `cand > acc` in the TypeScript loop), and 0 when
 * no element beats the initial -Infinity/+Infinity. Sums combine in a different order than the
 * CPU's sequential f64 loop (f32 partial sums), within the back ends' parity tolerance.
 */
import { REDUCE_CHUNK as CHUNK, REDUCE_SPLIT_MIN as SPLIT_MIN, REDUCE_WORKGROUP, type Dim, type WgslKernel } from "../../../runtime/plan.js";
import { Op, type Node } from "../../ir.js";
import type { ReduceKernel } from "../../schedule.js";
import { wgslLiteral } from "../expr.js";
import { asF32, computeLines, coordLines, isScalarLike, offsetExpr, stridesFor, WgslWriter, type WgslContext } from "./kernels.js";

/** Invocations per reduction workgroup (WebGPU compatibility mode guarantees 128). */
export const WGSL_REDUCE_WORKGROUP = REDUCE_WORKGROUP;

/**
 * A combiner with the CPU's Math.max / Math.min semantics: NaN wins, and between equal values the
 * sign bits decide (`ua & ub` gives +0 for max(+0, -0), `ua | ub` gives -0 for min).
 */
function combiner(name: string, tie: "&" | "|", wins: ">" | "<"): { uses: string[]; code: string } {
  return {
    uses: [`${name}(`],
    code: `fn ${name}(a: f32, b: f32) -> f32 {
  let ua = bitcast<u32>(a);
  let ub = bitcast<u32>(b);
  if ((ua & 0x7fffffffu) > 0x7f800000u) { return a; }
  if ((ub & 0x7fffffffu) > 0x7f800000u) { return b; }
  if (a == b) { return bitcast<f32>(ua ${tie} ub); }
  return select(b, a, a ${wins} b);
}`,
  };
}

const combiners = [combiner("rmax_", "&", ">"), combiner("rmin_", "|", "<")];

/**
 * A reduction kernel: one workgroup tree per output element (or per group of outputs). A full
 * reduction (one output) also carries the two shaders of a split: `partial` reduces chunk c of
 * the reduced elements on workgroup c into word pair c of a scratch buffer (value bits, index),
 * `final` reduces those pairs on one workgroup into the output (see `reduceChunks` in
 * runtime/plan.ts for the number of chunks; the runtime picks the split for long extents).
 */
export function reduceKernelWgsl(name: string, k: ReduceKernel, reads: Node[], ctx: WgslContext): WgslKernel {
  const r = k.node;
  const x = r.inputs[0]!;
  const shape = x.shape;
  const given = (r.attrs["axes"] as number[] | undefined) ?? [];
  const axes = given.length === 0 ? [...shape.keys()] : given;
  const kept = [...shape.keys()].filter((a) => !axes.includes(a));
  const code = reduceShader("rows", name, k, reads, ctx);
  const outShape = kept.map((a) => shape[a]!) as Dim[];
  const extent = axes.map((a) => shape[a]!) as Dim[];
  const single = kept.every((a) => shape[a] === 1);
  const split = single ? { partial: reduceShader("partial", name, k, reads, ctx), final: reduceShader("final", name, k, reads, ctx) } : {};
  const serial = reduceShader("serial", name, k, reads, ctx);
  return { name, code, workgroupSize: WGSL_REDUCE_WORKGROUP, invocations: { shape: outShape, perInvocation: 1 }, reduce: { extent, serial, ...split } };
}

/**
 * `rows`: the workgroup tree; `partial`/`final`: the two passes of a split full reduction;
 * `serial`: one invocation per output looping over all its elements, with no workgroup memory
 * and no barrier — what software adapters run (Mesa's llvmpipe has crashed intermittently in
 * glibc's mutex code on the tree kernels' barriers; see WebGpuDevice.serialReductions).
 */
type Mode = "rows" | "partial" | "final" | "serial";

function reduceShader(mode: Mode, name: string, k: ReduceKernel, reads: Node[], ctx: WgslContext): string {
  const r = k.node;
  const W = WGSL_REDUCE_WORKGROUP;
  const w = new WgslWriter(name, ctx);
  const scratch: Node = { ...r, id: -2, dtype: "i32" } as Node;
  if (mode !== "final") reads.forEach((n) => w.bind(n, false));
  if (mode === "final") w.bind(scratch, false);
  w.bind(mode === "partial" ? scratch : r, true);
  const x = r.inputs[0]!;
  const shape = x.shape;
  const given = (r.attrs["axes"] as number[] | undefined) ?? [];
  const axes = given.length === 0 ? [...shape.keys()] : given;
  const kept = [...shape.keys()].filter((a) => !axes.includes(a));
  const hoistedReads = mode === "final" ? [] : reads.filter(isScalarLike);
  const strided = reads.filter((n) => !isScalarLike(n));
  const self: Node = { ...x, id: -1 } as Node;
  const needsIndex = k.prologue.some((n) => n.op === Op.Random);
  const operands = needsIndex ? [...strided, self] : strided;
  const id = (n: Node) => (n.id < 0 ? "self" : `${n.id}`);
  const strides = new Map(operands.map((n) => [n.id, stridesFor(w, n, shape)]));
  const arg = r.op === Op.ArgMax || r.op === Op.ArgMin;
  const init = { [Op.Sum]: 0, [Op.Max]: -Infinity, [Op.Min]: Infinity, [Op.ArgMax]: -Infinity, [Op.ArgMin]: Infinity }[r.op as Op.Sum];
  if (init === undefined) throw new Error(`codegen/wgsl: no reduction ${r.op}`);
  const combine = (a: string, b: string): string => (r.op === Op.Sum ? `${a} + ${b}` : r.op === Op.Max ? `rmax_(${a}, ${b})` : `rmin_(${a}, ${b})`);
  const better = r.op === Op.ArgMax ? ">" : "<";
  const extent = w.product(axes.map((a) => shape[a]!));
  const outputs = w.product(kept.map((a) => shape[a]!));

  // What each lane accumulates before the tree.
  const accumulate: string[] = [];
  if (mode === "final") {
    accumulate.push("if (lid < chunks) {", "  acc = bitcast<f32>(b0[2u * lid]);", ...(arg ? ["  best = u32(b0[2u * lid + 1u]);"] : []), "}");
  } else {
    const inner: string[] = [...coordLines(w, shape, axes, "j")];
    for (const n of operands) inner.push(`let p${id(n)} = ${offsetExpr(strides.get(n.id)!, axes, `base${id(n)}`)};`);
    const read = (n: Node) => (isScalarLike(n) ? `r${n.id}` : w.read(n, `p${n.id}`));
    const c = computeLines(w, k.prologue, read, (axis) => `c${axis}`, "pself");
    inner.push(...c.lines);
    const v = asF32(c.value(x), x.dtype);
    if (arg) inner.push(`let cand = ${v};`, `if (cand ${better} acc) { acc = cand; best = j; }`);
    else inner.push(`acc = ${combine("acc", v)};`);
    const live = [...coordLines(w, shape, kept, "row")];
    for (const n of operands) live.push(`let base${id(n)} = ${offsetExpr(strides.get(n.id)!, kept)};`);
    const range = mode === "partial" ? ["chunk * size + lane", "min(extent, (chunk + 1u) * size)"] : ["lane", "extent"];
    if (mode === "serial") {
      // Unrolled by 16: llvmpipe stops a loop after 65535 iterations in all (gallivm's limit,
      // not reset when an inner loop is re-entered), which would silently drop elements; the
      // runtime runs this form only for extents up to SERIAL_REDUCE_MAX (runtime/plan.ts).
      const U = 16;
      live.push("let end = extent;", "var jb = 0u;", `for (; jb + ${U}u <= end; jb = jb + ${U}u) {`);
      for (let u = 0; u < U; u++) live.push(`  {`, `    let j = jb + ${u}u;`, ...inner.map((l) => "    " + l), "  }");
      live.push("}", "for (var j = jb; j < end; j = j + 1u) {", ...inner.map((l) => "  " + l), "}");
    } else {
      // Not unrolled: a lane's loop over extent / threads elements reaches llvmpipe's cap past
      // 128 · 65535 elements per output (it returned 8388480 for a sum of 8400000 ones), which
      // the runtime refuses on a software adapter (REDUCE_SOFTWARE_MAX_PER_LANE); unrolled by 16
      // this form took 30 times as long to compile there (20 s for one test's kernels).
      live.push(`let end = ${range[1]};`, `for (var j = ${range[0]}; j < end; j = j + threads) {`, ...inner.map((l) => "  " + l), "}");
    }
    accumulate.push(`if (${mode === "partial" ? "chunk < chunks" : "row < total"}) {`, ...live.map((l) => "  " + l), "}");
  }

  // The tree, unrolled: a step per power of two below the workgroup size, each ending in a
  // barrier at the top level of main (no barrier inside a loop or a branch; llvmpipe hung on one).
  const tree: string[] = [];
  for (let s = W / 2; s >= 1; s /= 2) {
    const step = arg
      ? [`let a = sacc[lid];`, `let b = sacc[lid + ${s}u];`, `let ib = sidx[lid + ${s}u];`, `if (b ${better} a || (b == a && ib < sidx[lid])) { sacc[lid] = b; sidx[lid] = ib; }`]
      : [`sacc[lid] = ${combine("sacc[lid]", `sacc[lid + ${s}u]`)};`];
    tree.push(`if (${s}u < threads && lane < ${s}u) {`, ...step.map((l) => "  " + l), "}", "workgroupBarrier();");
  }
  let store: string[];
  if (mode === "partial") {
    store = ["if (chunk < chunks && lid == 0u) {", "  b" + reads.length + "[2u * chunk] = bitcast<i32>(sacc[0]);", ...(arg ? [`  b${reads.length}[2u * chunk + 1u] = i32(sidx[0]);`] : []), "}"];
  } else {
    const out = arg ? (r.dtype === "i32" ? `${w.buffer(r)}[row] = i32(pick);` : w.store(r, "row", "f32(pick)")) : w.store(r, "row", "sacc[lid]");
    store = ["if (row < total && lane == 0u) {", ...(arg ? ["  let pick = select(sidx[lid], 0u, sidx[lid] == 0xffffffffu);"] : []), `  ${out}`, "}"];
  }
  if (mode === "serial") {
    const out = arg ? (r.dtype === "i32" ? `${w.buffer(r)}[row] = i32(pick);` : w.store(r, "row", "f32(pick)")) : w.store(r, "row", "acc");
    const main = [
      ...w.hoisted,
      ...hoistedReads.map((n) => `let r${n.id} = ${w.read(n, "0u")};`),
      `let total = ${outputs};`,
      `let extent = ${extent};`,
      "let threads = 1u;",
      "let lane = 0u;",
      `let row = (wid.x + wid.y * nwg.x) * ${W}u + lid;`,
      `var acc = ${wgslLiteral(init)};`,
      ...(arg ? ["var best = 0xffffffffu;"] : []),
      ...accumulate,
      "if (row < total) {",
      ...(arg ? ["  let pick = select(best, 0u, best == 0xffffffffu);"] : []),
      `  ${out}`,
      "}",
    ];
    return w.shader(["@builtin(local_invocation_index) lid: u32", "@builtin(workgroup_id) wid: vec3<u32>"], main, W, [], combiners);
  }
  const layout =
    mode === "rows"
      ? [
          // T: the power of two >= extent, at most the workgroup size (1 for an extent of 0 or 1).
          `let threads = select(1u, min(${W}u, 1u << (32u - countLeadingZeros(max(extent, 2u) - 1u))), extent > 1u);`,
          "let lane = lid % threads;",
          `let row = (wid.x + wid.y * nwg.x) * (${W}u / threads) + lid / threads;`,
        ]
      : [
          // The chunks of a split: as reduceChunks in runtime/plan.ts.
          `let chunks = select(1u, min(${W}u, (extent + ${CHUNK - 1}u) / ${CHUNK}u), extent >= ${SPLIT_MIN}u);`,
          "let size = (extent + chunks - 1u) / chunks;",
          "let chunk = wid.x + wid.y * nwg.x;",
          `let threads = ${W}u;`,
          "let lane = lid;",
          "let row = 0u;",
        ];
  const main = [
    ...w.hoisted,
    ...hoistedReads.map((n) => `let r${n.id} = ${w.read(n, "0u")};`),
    `let total = ${outputs};`,
    `let extent = ${extent};`,
    ...layout,
    `var acc = ${wgslLiteral(init)};`,
    ...(arg ? ["var best = 0xffffffffu;"] : []),
    ...accumulate,
    "sacc[lid] = acc;",
    ...(arg ? ["sidx[lid] = best;"] : []),
    "workgroupBarrier();",
    ...tree,
    ...store,
  ];
  const extra = [`var<workgroup> sacc: array<f32, ${W}>;`, ...(arg ? [`var<workgroup> sidx: array<u32, ${W}>;`] : [])];
  return w.shader(["@builtin(local_invocation_index) lid: u32", "@builtin(workgroup_id) wid: vec3<u32>"], main, W, extra, combiners);
}
