/**
 * The derivative rules of the convolution family's own gradient ops (compiler/conv-derivatives.ts),
 * which second-order uses reach: for each op F with inputs (p, q), the rule's cotangents for a
 * random cotangent c must satisfy <c, dF> = <rule_p, dp> + <rule_q, dq> against f64 central
 * differences of F through the reference interpreter.
 */
import { describe, expect, it } from "vitest";
import type { Builder } from "../../compiler/autodiff-rules.js";
import { convDerivative } from "../../compiler/conv-derivatives.js";
import { evaluate, type EvalEnv } from "../../compiler/interpret.js";
import { Graph, Op, type Attrs, type Node } from "../../compiler/ir.js";
import { rng } from "../helpers/gradcheck.js";

const conv: Attrs = { stride: [2, 1], padding: [1, 1], dilation: [1, 2], groups: 2 };
const pool: Attrs = { kernel: [2, 3], stride: [1, 2], padding: [1, 1] };
// x [2, 4, 6, 7], w [4, 2, 3, 2] → y [2, 4, 3, 7]; pooled x → [2, 4, 7, 4].
const xs = [2, 4, 6, 7];
const ws = [4, 2, 3, 2];
const ys = [2, 4, 3, 7];
const ps = [2, 4, 7, 4];

const cases: { name: string; op: Op; attrs: Attrs; shape: number[]; inputs: number[][]; smooth: boolean[] }[] = [
  { name: "conv2d", op: Op.Conv2d, attrs: conv, shape: ys, inputs: [xs, ws], smooth: [true, true] },
  { name: "conv2d's input gradient", op: Op.Conv2dInputGrad, attrs: conv, shape: xs, inputs: [ys, ws], smooth: [true, true] },
  { name: "conv2d's weight gradient", op: Op.Conv2dWeightGrad, attrs: conv, shape: ws, inputs: [xs, ys], smooth: [true, true] },
  { name: "max pooling's pick (x selects, v is picked)", op: Op.MaxPool2d, attrs: pool, shape: ps, inputs: [xs, xs], smooth: [false, true] },
  { name: "max pooling's gradient", op: Op.MaxPool2dGrad, attrs: pool, shape: xs, inputs: [xs, ps], smooth: [false, true] },
  { name: "average pooling", op: Op.AvgPool2d, attrs: pool, shape: ps, inputs: [xs], smooth: [true] },
  { name: "average pooling's gradient", op: Op.AvgPool2dGrad, attrs: pool, shape: xs, inputs: [ps], smooth: [true] },
];

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

describe("derivatives of the convolution and pooling ops, gradient ops included", () => {
  it.each(cases.map((c) => [c.name, c] as const))("%s", (_n, c) => {
    const g = new Graph();
    const ins = c.inputs.map((s, i) => g.node(Op.Input, "f32", s, [], { name: `in${i}` }));
    const f = g.node(c.op, "f32", c.shape, ins, c.attrs);
    const ct = g.node(Op.Input, "f32", c.shape, [], { name: "ct" });
    const rules = convDerivative({ graph: g } as Builder, f, ct, () => true);
    const r = rng(9);
    const rand = (n: number) => Float64Array.from({ length: n }, () => r() * 2 - 1);
    const data = c.inputs.map((s) => rand(size(s)));
    const dirs = c.inputs.map((s, i) => (c.smooth[i] ? rand(size(s)) : new Float64Array(size(s))));
    const cv = rand(size(c.shape));
    const env = (shift: number): EvalEnv => ({
      inputs: { ...Object.fromEntries(data.map((d, i) => [`in${i}`, { data: d.map((v, j) => v + shift * dirs[i]![j]!), shape: c.inputs[i]! }])), ct: { data: cv, shape: c.shape } },
      scalars: {},
      dims: {},
      seed: 0,
    });
    const h = 1e-6;
    const [plus] = evaluate([f], env(h));
    const [minus] = evaluate([f], env(-h));
    const numeric = cv.reduce((s, v, j) => s + (v * (plus!.data[j]! - minus!.data[j]!)) / (2 * h), 0);
    const wanted = rules.flatMap((n, i) => (n === null ? [] : [[n, i] as [Node, number]]));
    const grads = evaluate(wanted.map(([n]) => n), env(0));
    let analytic = 0;
    wanted.forEach(([, i], k) => grads[k]!.data.forEach((v, j) => (analytic += v * dirs[i]![j]!)));
    expect(rules.map((n, i) => n === null || c.smooth[i])).toEqual(c.inputs.map(() => true));
    expect(Math.abs(numeric)).toBeGreaterThan(1e-2);
    expect(Math.abs(analytic - numeric)).toBeLessThanOrEqual(1e-7 * Math.max(1, Math.abs(numeric)));
  });
});
