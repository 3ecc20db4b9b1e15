import { describe, expect, it } from "vitest";
import { evaluate, type EvalEnv } from "../../compiler/interpret.js";
import { Graph, Op, type Attrs, type DimT, type DType, type Node } from "../../compiler/ir.js";
import { fillUniform, fillUniformOpen01 } from "../../runtime/philox.js";

type Data = { data: number[]; shape: number[] };

/** Evaluates one root; returns plain arrays so expectations read as NumPy printouts. */
function run(root: Node, inputs: Record<string, Data> = {}, extra: Partial<EvalEnv> = {}): { data: number[]; shape: number[] } {
  const [out] = evaluate([root], { inputs, scalars: {}, dims: {}, seed: 0, ...extra });
  return { data: Array.from(out!.data), shape: out!.shape };
}

describe("evaluate", () => {
  const g = new Graph();
  const input = (name: string, shape: DimT[], dtype: DType = "f32") => g.node(Op.Input, dtype, shape, [], { name });
  const unary = (op: Op, x: Node, dtype: DType = "f32") => g.node(op, dtype, x.shape, [x]);
  const c = (value: number) => g.node(Op.Const, "f32", [], [], { value });
  const node = (op: Op, dtype: DType, shape: DimT[], ins: Node[], attrs?: Attrs) => g.node(op, dtype, shape, ins, attrs);

  it("broadcasts [2,1] + [3] to [2,3] by NumPy rules", () => {
    const a = input("a", [2, 1]);
    const b = input("b", [3]);
    const out = run(node(Op.Add, "f32", [2, 3], [a, b]), { a: { data: [10, 20], shape: [2, 1] }, b: { data: [1, 2, 3], shape: [3] } });
    expect(out).toEqual({ data: [11, 12, 13, 21, 22, 23], shape: [2, 3] });
  });

  it("broadcasts a scalar constant and gives comparisons as 0/1", () => {
    const x = input("x", [4]);
    const out = run(node(Op.Gt, "bool", [4], [x, c(0)]), { x: { data: [-1, 0, 2, 0.5], shape: [4] } });
    expect(out.data).toEqual([0, 0, 1, 1]);
  });

  it("passes NaN through sign and step (docs/language.md, NaN), as the kernels do; ±0 and ±Inf as documented", () => {
    const x = input("xn", [7]);
    const xn = { data: [Number.NaN, -0, 0, 1.5, -2, Infinity, -Infinity], shape: [7] };
    expect(run(unary(Op.Sign, x), { xn }).data).toEqual([Number.NaN, 1, 1, 1, -1, 1, -1]);
    expect(run(unary(Op.Step, x), { xn }).data).toEqual([Number.NaN, 0, 0, 1, 0, 1, 0]);
  });

  describe("reductions", () => {
    // x = [[[0, 5], [2, 1], [3, 3]], [[-1, 4], [7, 7], [6, -2]]]  (shape [2, 3, 2])
    const xData = { data: [0, 5, 2, 1, 3, 3, -1, 4, 7, 7, 6, -2], shape: [2, 3, 2] };
    const x = input("x3", [2, 3, 2]);

    it("sums over one axis with and without keepdims", () => {
      expect(run(node(Op.Sum, "f32", [2, 2], [x], { axes: [1], keepdims: false }), { x3: xData })).toEqual({ data: [5, 9, 12, 9], shape: [2, 2] });
      expect(run(node(Op.Sum, "f32", [2, 1, 2], [x], { axes: [1], keepdims: true }), { x3: xData })).toEqual({ data: [5, 9, 12, 9], shape: [2, 1, 2] });
    });

    it("reduces over all axes when axes is empty or absent", () => {
      expect(run(node(Op.Sum, "f32", [], [x], { axes: [], keepdims: false }), { x3: xData }).data).toEqual([35]);
      expect(run(node(Op.Max, "f32", [1, 1, 1], [x], { keepdims: true }), { x3: xData })).toEqual({ data: [7], shape: [1, 1, 1] });
      expect(run(node(Op.Min, "f32", [], [x]), { x3: xData }).data).toEqual([-2]);
    });

    it("takes max and min over several axes", () => {
      expect(run(node(Op.Max, "f32", [2], [x], { axes: [1, 2], keepdims: false }), { x3: xData }).data).toEqual([5, 7]);
      expect(run(node(Op.Min, "f32", [1, 3, 1], [x], { axes: [0, 2], keepdims: true }), { x3: xData }).data).toEqual([-1, 1, -2]);
    });

    it("argmax indexes the flattened reduced block, first occurrence on ties", () => {
      // axis 2: rows [0,5]→1 [2,1]→0 [3,3]→0 (tie) [-1,4]→1 [7,7]→0 (tie) [6,-2]→0
      expect(run(node(Op.ArgMax, "i32", [2, 3], [x], { axes: [2], keepdims: false }), { x3: xData }).data).toEqual([1, 0, 0, 1, 0, 0]);
      // axes [1, 2], keepdims: block 0 = [0,5,2,1,3,3] → 1; block 1 = [-1,4,7,7,6,-2] → 2 (first 7)
      expect(run(node(Op.ArgMax, "i32", [2, 1, 1], [x], { axes: [1, 2], keepdims: true }), { x3: xData })).toEqual({ data: [1, 2], shape: [2, 1, 1] });
      // axes [0, 2]: block for j=0 is x[:,0,:] flattened = [0,5,-1,4] → argmin 2
      expect(run(node(Op.ArgMin, "i32", [3], [x], { axes: [0, 2], keepdims: false }), { x3: xData }).data).toEqual([2, 1, 3]);
    });
  });

  it("multiplies known small matrices", () => {
    const a = input("ma", [2, 3]);
    const b = input("mb", [3, 2]);
    const out = run(node(Op.MatMul, "f32", [2, 2], [a, b]), {
      ma: { data: [1, 2, 3, 4, 5, 6], shape: [2, 3] },
      mb: { data: [7, 8, 9, 10, 11, 12], shape: [3, 2] },
    });
    // [[1*7+2*9+3*11, 1*8+2*10+3*12], [4*7+5*9+6*11, 4*8+5*10+6*12]]
    expect(out).toEqual({ data: [58, 64, 139, 154], shape: [2, 2] });
  });

  it("multiplies batches, broadcasting the batch dims", () => {
    const a = input("ba", [2, 1, 2, 2]);
    const b = input("bb", [3, 2, 1]);
    const aData = [1, 0, 0, 1, 2, 0, 0, 3]; // batch 0: I, batch 1: diag(2, 3)
    const bData = [1, 2, 3, 4, 5, 6]; // three column vectors [1,2], [3,4], [5,6]
    const out = run(node(Op.MatMul, "f32", [2, 3, 2, 1], [a, b]), { ba: { data: aData, shape: [2, 1, 2, 2] }, bb: { data: bData, shape: [3, 2, 1] } });
    expect(out).toEqual({ data: [1, 2, 3, 4, 5, 6, 2, 6, 6, 12, 10, 18], shape: [2, 3, 2, 1] });
  });

  it("transposes by attrs.perm and reshapes row-major", () => {
    const x = input("t", [2, 3, 2]);
    const data = { t: { data: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], shape: [2, 3, 2] } };
    // out[i, j, k] = x[k, i, j]: perm [2, 0, 1], shape [2, 2, 3]
    const t = run(node(Op.Transpose, "f32", [2, 2, 3], [x], { perm: [2, 0, 1] }), data);
    expect(t).toEqual({ data: [0, 2, 4, 6, 8, 10, 1, 3, 5, 7, 9, 11], shape: [2, 2, 3] });
    const r = run(node(Op.Reshape, "f32", [4, 3], [x]), data);
    expect(r).toEqual({ data: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], shape: [4, 3] });
  });

  it("materialises an explicit Broadcast and counts along an Iota axis", () => {
    const x = input("bc", [3, 1]);
    expect(run(node(Op.Broadcast, "f32", [3, 2], [x]), { bc: { data: [1, 2, 3], shape: [3, 1] } }).data).toEqual([1, 1, 2, 2, 3, 3]);
    expect(run(node(Op.Iota, "i32", [2, 3], [], { axis: 0 })).data).toEqual([0, 0, 0, 1, 1, 1]);
  });

  it("builds one-hot as Eq(Reshape(labels, [B, 1]), Iota([B, K], axis 1))", () => {
    const labels = input("labels", [3], "i32");
    const col = node(Op.Reshape, "i32", [3, 1], [labels]);
    const iota = node(Op.Iota, "i32", [3, 4], [], { axis: 1 });
    const onehot = node(Op.Cast, "f32", [3, 4], [node(Op.Eq, "bool", [3, 4], [col, iota])]);
    const out = run(onehot, { labels: { data: [2, 0, 3], shape: [3] } });
    expect(out).toEqual({ data: [0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1], shape: [3, 4] });
  });

  it("gathers along an axis like NumPy take, and scatter-adds its cotangent back", () => {
    const x = input("gx", [2, 3]);
    const idx = input("gi", [4], "i32");
    const env = { gx: { data: [10, 11, 12, 20, 21, 22], shape: [2, 3] }, gi: { data: [2, 0, 2, 1], shape: [4] } };
    // take(x, [2, 0, 2, 1], axis=1) = [[12, 10, 12, 11], [22, 20, 22, 21]]
    expect(run(node(Op.Gather, "f32", [2, 4], [x, idx], { axis: 1 }), env).data).toEqual([12, 10, 12, 11, 22, 20, 22, 21]);
    // the cotangent [[1, 2, 3, 4], [5, 6, 7, 8]] lands at columns [2, 0, 2, 1]; column 2 gets 1+3 and 5+7
    const ct = input("gct", [2, 4]);
    const grad = node(Op.GatherGrad, "f32", [2, 3], [ct, idx], { axis: 1 });
    expect(run(grad, { ...env, gct: { data: [1, 2, 3, 4, 5, 6, 7, 8], shape: [2, 4] } }).data).toEqual([2, 4, 4, 6, 8, 12]);
    // axis 0 with a 2-D index: take(x, [[1], [0]], axis=0) has shape [2, 1, 3]
    const idx2 = input("gi2", [2, 1], "i32");
    const rows = run(node(Op.Gather, "f32", [2, 1, 3], [x, idx2], { axis: 0 }), { ...env, gi2: { data: [1, 0], shape: [2, 1] } });
    expect(rows).toEqual({ data: [20, 21, 22, 10, 11, 12], shape: [2, 1, 3] });
  });

  it("throws on an out-of-range gather index", () => {
    const x = input("gx", [2, 3]);
    const idx = input("gi", [1], "i32");
    const gather = node(Op.Gather, "f32", [2, 1], [x, idx], { axis: 1 });
    expect(() => run(gather, { gx: { data: [0, 0, 0, 0, 0, 0], shape: [2, 3] }, gi: { data: [3], shape: [1] } })).toThrow(/out of range/);
  });

  it("keeps the 2 largest |w| of each group of 4, lower index on ties", () => {
    const w = input("w", [2, 4]);
    const mask = node(Op.NmMask, "f32", [2, 4], [w], { n: 2, m: 4 });
    // row 0: |w| = [0.1, 3, 2, 0.5] → indices 1, 2; row 1: all |w| = 1 → indices 0, 1
    const out = run(mask, { w: { data: [0.1, -3, 2, 0.5, 1, -1, 1, -1], shape: [2, 4] } });
    expect(out.data).toEqual([0, 1, 1, 0, 1, 1, 0, 0]);
    // a tie at the cut: |w| = [5, 2, 2, 1] keeps 0 and the first 2
    expect(run(mask, { w: { data: [5, 2, -2, 1, 0, 0, 0, 0], shape: [2, 4] } }).data).toEqual([1, 1, 0, 0, 1, 1, 0, 0]);
  });

  describe("elementwise semantics", () => {
    const x = input("e", [8]);
    const values = [0.5, 1.5, 2.5, -0.5, -1.5, 0, -0, 2.6];
    const env = { e: { data: values, shape: [8] } };

    it("rounds half to even, keeping the sign of zero", () => {
      const out = run(unary(Op.Round, x), env).data;
      expect(out).toEqual([0, 2, 2, -0, -2, 0, -0, 3]);
      expect(Object.is(out[3], -0)).toBe(true);
      expect(Object.is(out[0], 0)).toBe(true);
    });

    it("sign is +1 at +0 and -0; signum is three-valued; step(0) = 0", () => {
      expect(run(unary(Op.Sign, x), env).data).toEqual([1, 1, 1, -1, -1, 1, 1, 1]);
      const s = run(unary(Op.Signum, input("sn", [4])), { sn: { data: [-2, 0, 3, NaN], shape: [4] } }).data;
      expect(s.slice(0, 3)).toEqual([-1, 0, 1]);
      expect(s[3]).toBeNaN();
      expect(run(unary(Op.Step, x), env).data).toEqual([1, 1, 1, 0, 0, 0, 0, 1]);
    });

    it("select picks a where c is nonzero; clamp is min(max(x, lo), hi)", () => {
      const cnd = input("cnd", [4]);
      const a = input("a4", [4]);
      const sel = node(Op.Select, "f32", [4], [cnd, a, c(-1)]);
      expect(run(sel, { cnd: { data: [1, 0, 2, 0], shape: [4] }, a4: { data: [10, 20, 30, 40], shape: [4] } }).data).toEqual([10, -1, 30, -1]);
      const cl = node(Op.Clamp, "f32", [4], [a, c(15), c(35)]);
      expect(run(cl, { a4: { data: [10, 20, 30, 40], shape: [4] } }).data).toEqual([15, 20, 30, 35]);
    });

    it("mod is floored, cast to i32 truncates, softplus and sigmoid are stable", () => {
      const m = node(Op.Mod, "f32", [4], [input("mx", [4]), c(3)]);
      expect(run(m, { mx: { data: [7, -7, 3, -1], shape: [4] } }).data).toEqual([1, 2, 0, 2]);
      const t = unary(Op.Cast, input("cx", [4]), "i32");
      expect(run(t, { cx: { data: [1.7, -1.7, 2, -0.2], shape: [4] } }).data.map((v) => v + 0)).toEqual([1, -1, 2, 0]);
      const big = input("big", [3]);
      const env3 = { big: { data: [-1000, 0, 1000], shape: [3] } };
      expect(run(unary(Op.Softplus, big), env3).data).toEqual([0, Math.log(2), 1000]);
      expect(run(unary(Op.Sigmoid, big), env3).data).toEqual([0, 0.5, 1]);
    });
  });

  describe("Random", () => {
    const shape = [3, 5];
    it("reproduces runtime/philox fillUniform for the same (seed, site)", () => {
      const want = new Float32Array(15);
      fillUniform(want, 1234, 7);
      const got = run(node(Op.Random, "f32", shape, [], { site: 7, stream: 0, open: false }), {}, { seed: 1234 });
      expect(got.data).toEqual(Array.from(want));
      const wantOpen = new Float32Array(15);
      fillUniformOpen01(wantOpen, 1234, 7);
      const gotOpen = run(node(Op.Random, "f32", shape, [], { site: 7, stream: 0, open: true }), {}, { seed: 1234 });
      expect(gotOpen.data).toEqual(Array.from(wantOpen));
    });

    it("gives different numbers at different sites, streams and seeds", () => {
      const draw = (site: number, stream: number, seed: number) =>
        run(node(Op.Random, "f32", shape, [], { site, stream, open: false }), {}, { seed }).data;
      const base = draw(7, 0, 1234);
      expect(draw(8, 0, 1234)).not.toEqual(base);
      expect(draw(7, 1, 1234)).not.toEqual(base);
      expect(draw(7, 0, 1235)).not.toEqual(base);
      expect(draw(7, 0, 1234)).toEqual(base);
      expect(base.every((u) => u >= 0 && u < 1)).toBe(true);
    });
  });

  describe("leaves and environment", () => {
    it("resolves symbolic dims through env.dims, for shapes and Dim nodes", () => {
      const x = input("sx", ["B", 2]);
      const scaled = node(Op.Mul, "f32", ["B", 2], [x, node(Op.Cast, "f32", [], [node(Op.Dim, "i32", [], [], { name: "B" })])]);
      const out = run(scaled, { sx: { data: [1, 2, 3, 4, 5, 6], shape: [3, 2] } }, { dims: { B: 3 } });
      expect(out).toEqual({ data: [3, 6, 9, 12, 15, 18], shape: [3, 2] });
    });

    it("reads runtime scalars and treats StopGradient and Custom as the identity", () => {
      const x = input("ix", [2]);
      const o = node(Op.Scalar, "f32", [], [], { name: "o" });
      const y = node(Op.Mul, "f32", [2], [x, o]);
      const missing = node(Op.Scalar, "f32", [], [], { name: "unused" });
      const custom = node(Op.Custom, "f32", [2], [node(Op.StopGradient, "f32", [2], [y]), x, missing], { rule: 0 });
      const out = evaluate([custom, y], { inputs: { ix: { data: new Float64Array([1, -2]), shape: [2] } }, scalars: { o: 3 }, dims: {}, seed: 0 });
      expect(out.map((v) => Array.from(v.data))).toEqual([[3, -6], [3, -6]]);
    });

    it("throws for an unknown dim symbol", () => {
      const x = input("ux", ["N"]);
      expect(() => run(x, { ux: { data: [1], shape: [1] } }, { dims: { B: 1 } })).toThrow(/unknown dim symbol 'N'/);
    });

    it("throws for a missing scalar", () => {
      expect(() => run(node(Op.Scalar, "f32", [], [], { name: "lr" }))).toThrow(/missing scalar 'lr'/);
    });

    it("throws when an input's data does not match the node's shape", () => {
      const x = input("mx2", ["B", 2]);
      expect(() => run(x, { mx2: { data: [1, 2, 3, 4], shape: [2, 2] } }, { dims: { B: 3 } })).toThrow(/shape \[2,2\]/);
      expect(() => run(x, { mx2: { data: [1, 2, 3], shape: [3, 2] } }, { dims: { B: 3 } })).toThrow(/3 elements/);
    });
  });
});
