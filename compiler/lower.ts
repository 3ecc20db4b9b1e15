/**
 * lower: checked AST → IR. Inlines user fn calls (binding shape symbols to the caller's dims),
 * turns composite primitives into IR ops (softmax, logsumexp, one_hot, sampling), inserts casts
 * for dtype promotion, and wraps every `call backward E(args)` in an Op.Custom node whose rule
 * (the estimator body) autodiff applies. Guarantees: every node's shape is the broadcast shape of
 * its inputs, every Random node has its own site.
 */
import { lowerSlice } from "./slice-concat.js";
import { dimOfExpr, settleComputedDims } from "./check-dims.js";
import { dimSymbols, isDimExpr } from "./dims.js";
import { DepthGuard } from "../grammar/deep.js";
import type * as A from "../grammar/ast.js";
import type { CheckedProgram } from "./check.js";
import { Graph, Op, type Node } from "./ir.js";
import { pickOverload } from "./primitives.js";
import { boundArguments, tensorArguments } from "./depth.js";
import { foldConstant } from "./fold.js";
import type { ModuleInfo } from "./resolve.js";
import { broadcastShapes, type DimT, type DType, type Ty } from "./types.js";
import { bindShape, callLengths, expandShape, instanceKey, substituteShape } from "./ellipsis.js";
import { LowerError, type Env, type Value, tensorValue, expectTensor, isValue } from "./lower-values.js";
import { lowerPrimitive } from "./lower-prims.js";

export { LowerError };

/** An estimator attached at one call site; Op.Custom's attrs.rule indexes these. */
export interface EstimatorRule {
  estimator: A.EstimatorDecl;
  module: ModuleInfo;
  /** The estimator's names for the call's inputs, in Custom input order (after inputs[0]). */
  inputNames: string[];
  /** Which of those inputs take a cotangent. */
  differentiable: boolean[];
  /** The estimator's parameter names, in Custom input order after the inputs. */
  paramNames: string[];
  /** The `x backward E(…)` expression, where a failed `require` on a literal is reported. */
  callSpan: A.Span;
}

/** One fn lowered to IR: its interface and output nodes. */
export interface LoweredFn {
  name: string;
  decl: A.FnDecl;
  module: ModuleInfo;
  graph: Graph;
  /** Tensor parameters (no default), in declaration order. */
  inputs: { name: string; dtype: DType; shape: DimT[] }[];
  /** Runtime scalars (parameters with defaults). */
  scalars: { name: string; dtype: DType; default: number }[];
  outputs: Node[];
  /** True when the fn returns a tuple (outputs then has one node per element). */
  tuple: boolean;
  rules: EstimatorRule[];
  /** Shape symbols bound by the parameters, with the first (input, axis) that binds each. */
  dims: Map<string, { input: string; axis: number }>;
  /** Where each node came from in the source (shared with autodiff, which adds to it). */
  provenance: Map<number, A.Span>;
  /**
   * The valid range of runtime scalars that reach a `require` (an estimator parameter bound to
   * one), by scalar name; filled while estimator bodies are lowered, checked by the runtime (E6031).
   */
  scalarRanges: Map<string, ScalarRange>;
}

/** Bounds `require(x, min, max)` puts on a runtime scalar (inclusive), and the require's span. */
export interface ScalarRange {
  min?: number;
  max?: number;
  span: A.Span;
}

/** Per-program lowering state shared by nested inlined calls. */
export class Lowerer {
  readonly graph = new Graph();
  readonly rules: EstimatorRule[] = [];
  /** The source span each node was first lowered from, for comments above generated kernels. */
  readonly provenance = new Map<number, A.Span>();
  readonly scalarRanges = new Map<string, ScalarRange>();
  private site = 0;

  constructor(readonly checked: CheckedProgram) {}

  /** Lowers one fn of the program as an entry point. */
  lowerFn(module: ModuleInfo, decl: A.FnDecl): LoweredFn {
    const env: Env = { module, vars: new Map(), dims: new Map(), lowerer: this };
    const inputs: LoweredFn["inputs"] = [];
    const scalars: LoweredFn["scalars"] = [];
    const dims = new Map<string, { input: string; axis: number }>();
    const sig = this.checked.signatures.get(decl);
    decl.params.forEach((p, k) => {
      const ty = sig?.params[k]?.ty;
      const dtype = ty?.kind === "tensor" ? ty.dtype : (p.type?.dtype ?? "f32");
      if (p.default !== undefined) {
        const v = Number(this.constValue(module, p.default));
        scalars.push({ name: p.name.name, dtype, default: v });
        env.vars.set(p.name.name, tensorValue(this.graph.node(Op.Scalar, dtype, [], [], { name: p.name.name })));
        return;
      }
      const shape: DimT[] = ty?.kind === "tensor" && ty.shape !== null ? [...ty.shape] : [];
      shape.forEach((d, axis) => {
        if (typeof d === "string" && !isDimExpr(d) && !dims.has(d)) dims.set(d, { input: p.name.name, axis });
      });
      inputs.push({ name: p.name.name, dtype, shape });
      env.vars.set(p.name.name, tensorValue(this.graph.node(Op.Input, dtype, shape, [], { name: p.name.name })));
    });
    // Symbols only computed dims mention (`f32[2 * N]`): the runtime solves them from the sizes.
    for (const input of inputs) {
      input.shape.forEach((d, axis) => {
        for (const sym of dimSymbols(d)) if (!dims.has(sym)) dims.set(sym, { input: input.name, axis });
      });
    }
    for (const d of dims.keys()) env.dims.set(d, d);
    const result = this.body(decl, env);
    const nodes = result.kind === "tuple" ? result.items.map((v) => expectTensor(v, decl.span).node) : [expectTensor(result, decl.span).node];
    // An output takes its declared dtype (a comparison returned as f32 becomes 0/1 f32, not a bool buffer).
    const declared = (k: number): Ty | undefined => (sig?.result.kind === "tuple" ? sig.result.elements[k] : sig?.result);
    const outputs = nodes.map((n, k) => {
      const t = declared(k);
      return t?.kind === "tensor" ? this.cast(n, t.dtype) : n;
    });
    return { name: decl.name.name, decl, module, graph: this.graph, inputs, scalars, outputs, tuple: result.kind === "tuple", rules: this.rules, dims, provenance: this.provenance, scalarRanges: this.scalarRanges };
  }

  /** A fresh Philox site for one sampling call. */
  nextSite(): number {
    return this.site++;
  }

  /** The value of a compile-time constant expression (a default, a const, an axis). */
  constValue(module: ModuleInfo, e: A.Expr): number | boolean {
    const v = foldConstant(e, (name) => {
      const sym = module.scope.get(name)?.symbol;
      return sym?.kind === "const" ? this.checked.consts.get(sym.decl) : undefined;
    });
    if (v === undefined) throw new LowerError("E5001", e.span, "expected a compile-time constant here");
    return v;
  }

  /** Lowers a fn body (let bindings, then the return) in `env`. */
  body(decl: A.FnDecl, env: Env): Value {
    for (const s of decl.body) {
      if (s.kind === "Let") {
        const v = this.expr(s.value, env);
        if (s.destructure) {
          if (v.kind !== "tuple") throw new LowerError("E5001", s.span, "expected a tuple to unpack");
          s.names.forEach((n, i) => env.vars.set(n.name, v.items[i]!));
        } else env.vars.set(s.names[0]!.name, v);
      } else if (s.kind === "Return") return this.expr(s.value, env);
    }
    throw new LowerError("E5001", decl.span, `fn '${decl.name.name}' has no return`);
  }

  /** exprNode with a bounded stack, however deep the expression (grammar/deep.ts). */
  private readonly guard = new DepthGuard<A.Expr, Value, Env>(
    (e, env) => this.exprNode(e, env),
    (e, env) => this.loweredChildren(e, env),
  );

  /** Lowers one expression. */
  expr(e: A.Expr, env: Env): Value {
    return this.guard.visit(e, env);
  }

  private exprNode(e: A.Expr, env: Env): Value {
    const before = this.graph.size;
    const v = this.exprUntracked(e, env);
    this.tagNew(before, e.span);
    if (v.kind === "tensor" && !this.provenance.has(v.node.id)) this.provenance.set(v.node.id, e.span);
    return v;
  }

  /** The children that exprNode always lowers, in `env`, before `e` itself, in that order. */
  private loweredChildren(e: A.Expr, env: Env): readonly A.Expr[] {
    switch (e.kind) {
      case "Unary":
      case "Detach":
        return [e.operand];
      case "Binary":
        return [e.left, e.right];
      case "Ternary":
        return [e.cond, e.then, e.else];
      case "Index":
        return [e.target];
      case "Tuple":
        return e.elements;
      case "Call":
        return this.loweredArguments(e, env);
      case "Backward":
        // The call itself is not lowered on its own: its arguments are, then the estimator's.
        return e.call.kind === "Call" ? this.loweredArguments(e.call, env) : [];
      default:
        return [];
    }
  }

  private loweredArguments(e: A.CallExpr, env: Env): readonly A.Expr[] {
    if (e.callee.name === "diff") return [];
    const sym = env.module.scope.get(e.callee.name)?.symbol;
    if (sym?.kind === "fn") return boundArguments(e.args, sym.decl.params.map((p) => ({ name: p.name.name })), () => true);
    const prim = sym === undefined ? pickOverload(e.callee.name, e.args.filter((a) => a.name === undefined).length) : undefined;
    return prim === undefined ? [] : tensorArguments(prim, e.args);
  }

  /** Attributes every node built since the graph had `before` nodes to `span` (innermost wins). */
  tagNew(before: number, span: A.Span): void {
    for (let id = before; id < this.graph.size; id++) if (!this.provenance.has(id)) this.provenance.set(id, span);
  }

  private exprUntracked(e: A.Expr, env: Env): Value {
    const g = this.graph;
    switch (e.kind) {
      case "Number":
        return { kind: "tensor", node: g.node(Op.Const, e.isInt ? "i32" : "f32", [], [], { value: e.value }), weak: e.isInt };
      case "Bool":
        return tensorValue(g.node(Op.Const, "bool", [], [], { value: e.value ? 1 : 0 }));
      case "Name":
        return this.name(e, env);
      case "Unary": {
        const v = expectTensor(this.expr(e.operand, env), e.span);
        if (e.op === "!") return tensorValue(g.node(Op.Not, "bool", v.node.shape, [v.node]));
        const x = v.node.dtype === "bool" ? this.cast(v.node, "f32") : v.node;
        return { kind: "tensor", node: g.node(Op.Neg, x.dtype, x.shape, [x]), weak: v.weak };
      }
      case "Binary":
        return this.binary(e, env);
      case "Ternary": {
        const c = expectTensor(this.expr(e.cond, env), e.span);
        const [a, b] = this.promotePair(expectTensor(this.expr(e.then, env), e.span), expectTensor(this.expr(e.else, env), e.span));
        return tensorValue(this.elementwise(Op.Select, a.dtype, [c.node, a, b], e.span));
      }
      case "Call":
        return this.call(e, env);
      case "Index": {
        if (e.slices !== undefined) return tensorValue(this.sliceIndex(e, e.slices, env));
        const t = this.expr(e.target, env);
        const i = Number(this.constValue(env.module, e.indices[0]!));
        if (t.kind !== "tuple" || t.items[i] === undefined) throw new LowerError("E5001", e.span, "bad tuple index");
        return t.items[i]!;
      }
      case "Backward":
        return this.backward(e, env);
      case "Detach": {
        const v = expectTensor(this.expr(e.operand, env), e.span);
        return tensorValue(g.node(Op.StopGradient, v.node.dtype, v.node.shape, [v.node]));
      }
      case "Tuple":
        return { kind: "tuple", items: e.elements.map((x) => this.expr(x, env)) };
      case "List":
        return { kind: "list", dims: e.elements.map((x) => this.dim(x, env)) };
      case "Error":
        throw new LowerError("E5001", e.span, "cannot lower a syntax error");
    }
  }

  private name(e: A.NameExpr, env: Env): Value {
    const v = env.vars.get(e.name);
    if (v !== undefined) return v;
    const d = env.dims.get(e.name);
    if (d !== undefined) return { kind: "tensor", node: this.dimNode(d), weak: false };
    const sym = env.module.scope.get(e.name)?.symbol;
    if (sym?.kind === "const") {
      const c = this.checked.consts.get(sym.decl);
      if (typeof c === "boolean") return tensorValue(this.graph.node(Op.Const, "bool", [], [], { value: c ? 1 : 0 }));
      if (typeof c === "number") {
        const int = Number.isInteger(c) && /^-?\d+$/.test(String(c)) && sym.decl.value.kind === "Number" && sym.decl.value.isInt;
        return { kind: "tensor", node: this.graph.node(Op.Const, int ? "i32" : "f32", [], [], { value: c }), weak: int };
      }
    }
    throw new LowerError("E5001", e.span, `cannot lower the name '${e.name}'`);
  }

  /** `x[:, a:b]` as one slice per written axis (compiler/slice-concat.ts); `:` alone keeps the axis. */
  private sliceIndex(e: A.IndexExpr, items: readonly A.SliceItem[], env: Env): Node {
    let x = expectTensor(this.expr(e.target, env), e.span).node;
    if (x.dtype === "bool") x = this.cast(x, "f32"); // gather moves bool buffers as 0/1 f32, as primitives do
    items.forEach((item, axis) => {
      if (item.start === undefined && item.end === undefined && item.step === undefined) return;
      const step = item.step === undefined ? 1 : Number(this.constValue(env.module, item.step));
      x = lowerSlice(this, x, axis, item.start === undefined ? 0 : this.dim(item.start, env), item.end === undefined ? undefined : this.dim(item.end, env), step, item.span, (m) => {
        throw new LowerError("E5001", item.span, m);
      });
    });
    return x;
  }

  /**
   * The number an estimator argument folds to at compile time (`0.25 * 2.0`, `C * 2`), so that a
   * `require` in the estimator checks it when the fn is built (E4040) as it does a literal;
   * undefined when it reads a local, a dim or a runtime scalar.
   */
  private foldedArgument(e: A.Expr, env: Env): number | undefined {
    const v = foldConstant(e, (name) => {
      if (env.vars.has(name) || env.dims.has(name)) return undefined;
      const sym = env.module.scope.get(name)?.symbol;
      return sym?.kind === "const" ? this.checked.consts.get(sym.decl) : undefined;
    });
    return typeof v === "number" ? v : typeof v === "boolean" ? Number(v) : undefined;
  }

  /** The scalar node holding a dim's runtime value. */
  dimNode(d: DimT): Node {
    return typeof d === "number" ? this.graph.node(Op.Const, "i32", [], [], { value: d }) : this.graph.node(Op.Dim, "i32", [], [], { name: d });
  }

  /** The dim an expression denotes (a literal size or a shape symbol, mapped into the caller). */
  dim(e: A.Expr, env: Env): DimT {
    const d = dimOfExpr(e, (x) => {
      if (x.kind === "Name" && env.dims.has(x.name)) return env.dims.get(x.name);
      const v = x.kind === "Number" || x.kind === "Unary" || x.kind === "Name" ? this.constValue(env.module, x) : undefined;
      return typeof v === "number" && Number.isInteger(v) ? v : undefined;
    });
    if (d !== undefined && d !== "?") return d;
    throw new LowerError("E5002", e.span, "a shape here must be built from sizes and shape symbols", {
      hint: "runtime-valued shapes are not supported in v0",
    });
  }

  cast(n: Node, dtype: DType): Node {
    return n.dtype === dtype ? n : this.graph.node(Op.Cast, dtype, n.shape, [n]);
  }

  /** Brings two operands to one dtype: bool → f32, i32 with f32 → f32, weak literals adopt. */
  promotePair(a: { node: Node; weak?: boolean }, b: { node: Node; weak?: boolean }): [Node, Node] {
    const norm = (n: Node) => (n.dtype === "bool" ? this.cast(n, "f32") : n);
    let x = norm(a.node);
    let y = norm(b.node);
    if (a.weak && !b.weak) x = this.cast(x, y.dtype);
    else if (b.weak && !a.weak) y = this.cast(y, x.dtype);
    const dtype: DType = x.dtype === "f32" || y.dtype === "f32" ? "f32" : "i32";
    return [this.cast(x, dtype), this.cast(y, dtype)];
  }

  /** An elementwise node over inputs broadcast together. */
  elementwise(op: Op, dtype: DType, inputs: Node[], span: A.Span): Node {
    let shape: DimT[] = [];
    for (const n of inputs) {
      const b = broadcastShapes(shape, [...n.shape]);
      if ("clash" in b || b.shape === null) throw new LowerError("E5003", span, `shapes do not broadcast: ${b}`);
      shape = b.shape;
    }
    return this.graph.node(op, dtype, shape, inputs);
  }

  private binary(e: A.BinaryExpr, env: Env): Value {
    const l = expectTensor(this.expr(e.left, env), e.left.span);
    const r = expectTensor(this.expr(e.right, env), e.right.span);
    if (e.op === "@") return lowerPrimitive(this, "matmul", { a: l, b: r }, env, e.span);
    const [a, b] = this.promotePair(l, r);
    const weak = l.weak === true && r.weak === true;
    const arith: Record<string, Op> = { "+": Op.Add, "-": Op.Sub, "*": Op.Mul, "%": Op.Mod };
    const compare: Record<string, Op> = { "<": Op.Lt, "<=": Op.Le, ">": Op.Gt, ">=": Op.Ge, "==": Op.Eq, "!=": Op.Ne, "&&": Op.And, "||": Op.Or };
    if (arith[e.op] !== undefined) return { kind: "tensor", node: this.elementwise(arith[e.op]!, a.dtype, [a, b], e.span), weak };
    if (compare[e.op] !== undefined) return tensorValue(this.elementwise(compare[e.op]!, "bool", [a, b], e.span));
    const op = e.op === "/" ? Op.Div : Op.Pow;
    return tensorValue(this.elementwise(op, "f32", [this.cast(a, "f32"), this.cast(b, "f32")], e.span));
  }

  private call(e: A.CallExpr, env: Env): Value {
    if (e.callee.name === "diff" && env.diff !== undefined && !env.vars.has("diff")) return env.diff(e, env);
    const sym = env.module.scope.get(e.callee.name)?.symbol;
    if (sym?.kind === "fn") return this.inlineFn(sym.module, sym.decl, e, env).value;
    return this.primCall(e, env).value;
  }

  /** Lowers a primitive call; also returns the lowered argument of each parameter. */
  private primCall(e: A.CallExpr, env: Env): { value: Value; args: Map<string, Value | A.Expr> } {
    const positional = e.args.filter((a) => a.name === undefined).length;
    const prim = pickOverload(e.callee.name, positional);
    if (prim === undefined) throw new LowerError("E5001", e.span, `unknown function '${e.callee.name}'`);
    const byName = new Map<string, A.Expr>();
    let next = 0;
    for (const a of e.args) byName.set(a.name?.name ?? prim.params[next++]!.name, a.value);
    const values: Record<string, Value | A.Expr> = {};
    for (const p of prim.params) {
      const a = byName.get(p.name);
      if (a === undefined) continue;
      // `axis = B`, a named ellipsis: the axes the checker found for this instance.
      const found = p.kind === "axis" ? this.checked.ellipsisAxes.get(a) : undefined;
      const spread = found?.get(env.instance ?? "");
      if (found !== undefined && spread === undefined) {
        // Only a call whose arguments have no known rank (from an estimator for a primitive) reaches an unchecked instance.
        throw new LowerError("E5004", a.span, `axis = ${a.kind === "Name" ? a.name : "…"} at ranks the check did not see (${env.instance || "no ellipsis"})`, {
          hint: "call this rank-generic fn with arguments of known rank, or reduce with integer axes",
        });
      }
      if (spread !== undefined) values[p.name] = { kind: "list", dims: spread };
      else values[p.name] = p.kind === "tensor" || p.kind === "shape" || p.kind === "perm" ? this.expr(a, env) : a;
    }
    return { value: lowerPrimitive(this, prim.name, values, env, e.span, prim.category), args: new Map(Object.entries(values)) };
  }

  /**
   * Inlines a user fn call; returns its value and the argument nodes by parameter name. Each
   * tensor argument is broadcast to its parameter's shape (ellipses expanded to the call's
   * lengths, symbols bound as the checker binds them), so the body sees the declared ranks and
   * autodiff sums a broadcast argument's cotangent back to its shape.
   */
  inlineFn(module: ModuleInfo, decl: A.FnDecl, e: A.CallExpr, env: Env): { value: Value; args: Map<string, Node> } {
    const sig = this.checked.signatures.get(decl);
    const bound = new Map<string, A.Expr>();
    let next = 0;
    for (const a of e.args) bound.set(a.name?.name ?? decl.params[next++]!.name.name, a.value);
    const inner: Env = { module, vars: new Map(), dims: new Map(), lowerer: this };
    const values = decl.params.map((p) => {
      const a = bound.get(p.name.name);
      return a !== undefined ? this.expr(a, env) : this.expr(p.default!, inner);
    });
    const generic = decl.params.map((_, k) => {
      const ty = sig?.params[k]?.ty;
      return ty?.kind === "tensor" ? ty.shape : null;
    });
    const lengths = callLengths(generic, values.map((v) => (v.kind === "tensor" ? v.node.shape.length : undefined)));
    inner.instance = instanceKey(lengths);
    const dims = new Map<string, { dim: DimT; at: number }>();
    generic.forEach((shape, k) => {
      const v = values[k]!;
      if (shape === null || v.kind !== "tensor" || decl.params[k]!.default !== undefined) return;
      if (bindShape(expandShape(shape, lengths), v.node.shape, dims, k) !== undefined) throw new LowerError("E5003", e.span, `the arguments of ${decl.name.name} do not fit its parameter types`);
    });
    // Computed dims of the parameter types (`2 * N`) bind their symbols as the checker did.
    const failed = settleComputedDims(dims);
    if (failed !== undefined) throw new LowerError("E5003", e.span, `${decl.name.name}: ${failed.message}`);
    for (const [name, d] of dims) inner.dims.set(name, d.dim);
    const args = new Map<string, Node>();
    decl.params.forEach((p, k) => {
      let v = values[k]!;
      const shape = generic[k];
      if (v.kind === "tensor" && shape !== null && shape !== undefined && p.default === undefined) {
        const want = substituteShape(expandShape(shape, lengths), dims);
        const node = v.node;
        if (want.length !== node.shape.length || want.some((d, i) => d !== node.shape[i])) v = { ...v, node: this.graph.node(Op.Broadcast, node.dtype, want, [node]) };
      }
      inner.vars.set(p.name.name, v);
      if (v.kind === "tensor") args.set(p.name.name, v.node);
    });
    return { value: this.body(decl, inner), args };
  }



  private backward(e: A.BackwardExpr, env: Env): Value {
    if (e.call.kind !== "Call") throw new LowerError("E5001", e.span, "backward needs a call");
    const call = e.call;
    const sym = env.module.scope.get(e.estimator.name)?.symbol;
    if (sym?.kind !== "estimator") throw new LowerError("E5001", e.estimator.span, "unknown estimator");
    const est = sym.decl;
    let forward: Value;
    let inputNodes: Node[];
    const target = env.module.scope.get(call.callee.name)?.symbol;
    if (target?.kind === "fn") {
      const r = this.inlineFn(target.module, target.decl, call, env);
      forward = r.value;
      inputNodes = target.decl.params.slice(0, est.inputs.length).map((p) => r.args.get(p.name.name)!);
    } else {
      const prim = pickOverload(call.callee.name, call.args.filter((a) => a.name === undefined).length)!;
      const r = this.primCall(call, env);
      forward = r.value;
      inputNodes = prim.params.slice(0, est.inputs.length).map((p) => {
        const v = r.args.get(p.name);
        if (v !== undefined && isValue(v)) {
          if (v.kind === "tensor") return v.node;
          throw new LowerError("E5004", call.span, `an estimator for ${prim.name} cannot take its list parameter '${p.name}' as an input`);
        }
        const c = v === undefined ? 0 : Number(this.constValue(env.module, v));
        return this.graph.node(Op.Const, "i32", [], [], { value: c });
      });
    }
    const y = expectTensor(forward, call.span).node;
    const params = est.params.map((p) => {
      const a = e.args.find((x) => x.name?.name === p.name.name) ?? e.args.filter((x) => x.name === undefined)[est.params.indexOf(p)];
      const folded = a === undefined ? undefined : this.foldedArgument(a.value, env);
      const v =
        folded !== undefined
          ? this.graph.node(Op.Const, "f32", [], [], { value: folded })
          : a !== undefined
            ? expectTensor(this.expr(a.value, env), a.span).node
            : this.graph.node(Op.Const, "f32", [], [], { value: Number(this.constValue(sym.module, p.default!)) });
      return this.cast(v.dtype === "bool" ? this.cast(v, "f32") : v, p.type?.dtype ?? "f32");
    });
    const rule = this.rules.length;
    this.rules.push({
      estimator: est,
      module: sym.module,
      inputNames: est.inputs.map((i) => i.name),
      differentiable: inputNodes.map((n) => n.dtype === "f32" && n.op !== Op.Const),
      paramNames: est.params.map((p) => p.name.name),
      callSpan: e.span,
    });
    const node = this.graph.node(Op.Custom, y.dtype, y.shape, [y, ...inputNodes, ...params], { rule, estimator: est.name.name });
    return tensorValue(node);
  }
}
