/**
 * autodiff: reverse mode over the IR. A rule table maps each op to the cotangents of its inputs
 * (null for a non-differentiable input). An Op.Custom node — a call with `backward E(args)` —
 * uses E's rule instead: its `grad x = …` bodies are lowered with `g`, `out`, `cost` and the
 * parameters bound; a `surrogate s` becomes the VJP of s with cotangent g; `diff(e, x)` is the
 * VJP of e with cotangent 1. Guarantees: every cotangent has its primal's shape and is f32.
 */
import type * as A from "../grammar/ast.js";
import { Op, topoSort, type Node } from "./ir.js";
import { LowerError, expectTensor, type Env, type Value } from "./lower-values.js";
import type { EstimatorRule, Lowerer } from "./lower.js";
import { derivativeRule, sumTo, type Builder } from "./autodiff-rules.js";
import type { DimT } from "./types.js";

/** What the rules need besides the graph: the enclosing function's scalar result, if any. */
export interface AutodiffContext {
  lowerer: Lowerer;
  /** `cost` in estimator bodies: the differentiated function's (scalar) result. */
  cost?: Node;
}

/**
 * Cotangents of `wrt` given cotangents of `outputs`. A wrt node that no output depends on
 * gets a zero cotangent. Propagation stops at the wrt nodes.
 */
export function vjp(outputs: readonly Node[], cotangents: readonly Node[], wrt: readonly Node[], ctx: AutodiffContext): Node[] {
  const L = ctx.lowerer;
  const b: Builder = makeBuilder(L);
  const wrtIds = new Set(wrt.map((n) => n.id));
  const order = topoSort(outputs);
  // Only nodes that depend on a wrt node carry cotangents; nothing flows past a wrt node.
  const live = new Set<number>();
  for (const n of order) {
    if (wrtIds.has(n.id) || n.inputs.some((i) => live.has(i.id) && !isStop(n))) live.add(n.id);
  }
  const acc = new Map<number, Node>();
  const add = (n: Node, ct: Node) => {
    const fitted = sumTo(b, ct, n.shape);
    const prev = acc.get(n.id);
    acc.set(n.id, prev === undefined ? fitted : b.add(prev, fitted));
  };
  outputs.forEach((o, i) => {
    if (live.has(o.id)) add(o, cotangents[i]!);
  });
  for (let k = order.length - 1; k >= 0; k--) {
    const n = order[k]!;
    const ct = acc.get(n.id);
    if (ct === undefined || wrtIds.has(n.id) || !live.has(n.id)) continue;
    const before = L.graph.size;
    const inputCts = n.op === Op.Custom ? customRule(n, ct, ctx) : derivativeRule(b, n, ct, (i) => live.has(n.inputs[i]!.id));
    const span = L.provenance.get(n.id);
    if (span !== undefined) L.tagNew(before, span);
    inputCts.forEach((c, i) => {
      const input = n.inputs[i]!;
      if (c !== null && live.has(input.id) && input.dtype === "f32") add(input, c);
    });
  }
  return wrt.map((w) => acc.get(w.id) ?? b.zeros(w.shape));
}

function isStop(n: Node): boolean {
  return n.op === Op.StopGradient;
}

function makeBuilder(L: Lowerer): Builder {
  const g = L.graph;
  const span = { file: "", start: 0, end: 0 };
  const ew = (op: Op, dtype: "f32" | "bool", ...ins: Node[]) => L.elementwise(op, dtype, ins, span);
  return {
    graph: g,
    c: (v: number) => g.node(Op.Const, "f32", [], [], { value: v }),
    add: (a, c) => ew(Op.Add, "f32", a, c),
    sub: (a, c) => ew(Op.Sub, "f32", a, c),
    mul: (a, c) => ew(Op.Mul, "f32", a, c),
    div: (a, c) => ew(Op.Div, "f32", a, c),
    neg: (a) => g.node(Op.Neg, "f32", a.shape, [a]),
    un: (op, a) => g.node(op, "f32", a.shape, [a]),
    cmp: (op, a, c) => L.cast(ew(op, "bool", a, c), "f32"),
    ew: (op, ...ins) => ew(op, "f32", ...ins),
    zeros: (shape: readonly DimT[]) => g.node(Op.Broadcast, "f32", shape, [g.node(Op.Const, "f32", [], [], { value: 0 })]),
    dimValue: (d: DimT) => L.cast(L.dimNode(d), "f32"),
  };
}

/** The cotangents an estimator gives the inputs of the call it is attached to. */
function customRule(n: Node, ct: Node, ctx: AutodiffContext): (Node | null)[] {
  const L = ctx.lowerer;
  const rule = L.rules[n.attrs["rule"] as number]!;
  const est = rule.estimator;
  const k = rule.inputNames.length;
  const inputs = n.inputs.slice(1, 1 + k);
  const params = n.inputs.slice(1 + k);
  const env: Env = { module: rule.module, vars: new Map(), dims: new Map(), lowerer: L };
  const bind = (name: string, node: Node) => env.vars.set(name, { kind: "tensor", node });
  rule.inputNames.forEach((name, i) => bind(name, inputs[i]!));
  rule.paramNames.forEach((name, i) => bind(name, params[i]!));
  bind(est.outName?.name ?? "out", n.inputs[0]!);
  bind("g", ct);
  if (ctx.cost !== undefined) bind("cost", L.graph.node(Op.StopGradient, "f32", ctx.cost.shape, [ctx.cost]));
  env.diff = (call, e) => diffCall(call, e, rule.inputNames, inputs, ctx);
  const out: (Node | null)[] = [null, ...inputs.map(() => null), ...params.map(() => null)];
  for (const s of est.body) {
    if ((s.kind === "Grad" || s.kind === "Surrogate" || s.kind === "Let") && ctx.cost === undefined && exprReadsCost(s.value)) {
      // Reported where the user attached the estimator (the `backward`), the estimator's line a note.
      const site = L.provenance.get(n.id) ?? s.value.span;
      throw new LowerError("E4030", site, `estimator '${est.name.name}' reads cost, which needs a function with a scalar result`, {
        hint: "differentiate a scalar loss with valueAndGrad, or vjp of a scalar-valued fn",
        related: site === s.value.span ? [] : [{ span: s.value.span, message: `'${est.name.name}' reads cost here` }],
      });
    }
    if (s.kind === "Let") {
      const v = lowerAt(rule, est, () => L.expr(s.value, env));
      s.names.forEach((nm, i) => env.vars.set(nm.name, s.destructure && v.kind === "tuple" ? v.items[i]! : v));
    } else if (s.kind === "Grad") {
      const i = rule.inputNames.indexOf(s.name.name);
      if (rule.differentiable[i]) out[1 + i] = L.cast(expectTensor(L.expr(s.value, env), s.span).node, "f32");
    } else if (s.kind === "Surrogate") {
      const surrogate = expectTensor(L.expr(s.value, env), s.span).node;
      const targets = inputs.filter((_, i) => rule.differentiable[i] && out[1 + i] === null);
      const cts = vjp([surrogate], [ct], targets, ctx);
      let j = 0;
      inputs.forEach((_, i) => {
        if (rule.differentiable[i] && out[1 + i] === null) out[1 + i] = cts[j++]!;
      });
    }
  }
  return out;
}

/** Lowers part of an estimator body; a failed `require` (E4040) is reported at the call site. */
function lowerAt<T>(rule: EstimatorRule, est: A.EstimatorDecl, f: () => T): T {
  try {
    return f();
  } catch (e) {
    const inside = e instanceof LowerError && e.span.file === rule.callSpan.file && e.span.start >= rule.callSpan.start && e.span.end <= rule.callSpan.end;
    if (!(e instanceof LowerError) || e.code !== "E4040" || inside) throw e;
    throw new LowerError("E4040", rule.callSpan, `estimator '${est.name.name}': ${e.message}`, e.extra);
  }
}

/** `diff(e, x)` in an estimator body: the elementwise derivative of e with respect to input x. */
function diffCall(call: A.CallExpr, env: Env, names: string[], inputs: Node[], ctx: AutodiffContext): Value {
  const [body, wrt] = call.args;
  if (body === undefined || wrt === undefined || wrt.value.kind !== "Name") throw new LowerError("E4020", call.span, "diff takes (expression, input)");
  const x = inputs[names.indexOf(wrt.value.name)];
  if (x === undefined) throw new LowerError("E4020", wrt.span, "diff differentiates with respect to an estimator input");
  const e = expectTensor(ctx.lowerer.expr(body.value, env), body.span).node;
  const ones = ctx.lowerer.graph.node(Op.Broadcast, "f32", e.shape, [ctx.lowerer.graph.node(Op.Const, "f32", [], [], { value: 1 })]);
  return { kind: "tensor", node: vjp([e], [ones], [x], ctx)[0]! };
}

/** Whether an estimator rule's expression reads `cost` (the fn's scalar result). */
function exprReadsCost(e: A.Expr): boolean {
  return JSON.stringify(e, (key, v) => (key === "span" ? undefined : v)).includes('"name":"cost"');
}

/** Whether any statement of `est` reads `cost`: only then can attaching it give E4030. */
export function estimatorReadsCost(est: A.EstimatorDecl): boolean {
  return est.body.some((s) => (s.kind === "Grad" || s.kind === "Surrogate" || s.kind === "Let") && exprReadsCost(s.value));
}
