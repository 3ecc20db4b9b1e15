/**
 * Types one expression: names, operators with NumPy broadcasting, primitive and fn calls
 * (shape rules; argument binding and dim unification are in check-args.ts), `backward`,
 * `detach`, tuples and lists. Every error becomes a diagnostic and an ErrorTy, which silences
 * follow-on errors.
 */
import { sliceGeometry } from "./slice-concat.js";
import { DepthGuard } from "../grammar/deep.js";
import type * as A from "../grammar/ast.js";
import { tensorArguments } from "./depth.js";
import { error, type Diagnostic, type RelatedInfo, type Span } from "./diagnostics.js";
import { argValue, bindArgs, unifyArg, type ArgContext, type CallDims } from "./check-args.js";
import { callLengths, substituteShape, type Lengths } from "./ellipsis.js";
import { dimOfExpr, settleComputedDims } from "./check-dims.js";
import { pickOverload, primitives, type ArgValue, type Primitive } from "./primitives.js";
import type { ItemSymbol, ModuleInfo } from "./resolve.js";
import type { Scope } from "./scope.js";
import { closest } from "./suggest.js";
import {
  broadcastShapes,
  errorTy,
  isScalar,
  promote,
  showShape,
  showTy,
  tensor,
  type DimT,
  type TensorTy,
  type Ty,
} from "./types.js";

/** What the item-level checker provides to the expression checker. */
export interface ItemOracle {
  /** The declared (or inferred) signature of a user fn; undefined while it is being inferred. */
  fnSignature(sym: Extract<ItemSymbol, { kind: "fn" }>): FnSignature | undefined;
  /** The compile-time value of a const item. */
  constValue(sym: Extract<ItemSymbol, { kind: "const" }>): number | boolean | undefined;
  /** Records a use of a fn or estimator, for the recursion check. */
  recordUse(sym: ItemSymbol, span: Span): void;
  /** Suggests an estimator by name, with where it comes from, for E2003. */
  suggestEstimator(name: string, module: ModuleInfo): string | undefined;
  /**
   * A rank-generic fn's instance for these ellipsis lengths: its parameter and result types with
   * each ellipsis expanded. Checks the body for that instance once (errors noted at `call`).
   */
  fnInstance(sym: Extract<ItemSymbol, { kind: "fn" }>, lengths: Lengths, call: Span): { params: Ty[]; result: Ty } | undefined;
  /** Checks an estimator for a rank-generic fn at the instance a `backward` (at `call`) uses. */
  estimatorInstance(sym: Extract<ItemSymbol, { kind: "estimator" }>, lengths: Lengths, call: Span): void;
  /** Records the axes `axis = B` (a named ellipsis) denotes in one instance, for lower. */
  recordEllipsisAxes(e: A.Expr, instance: string, axes: number[]): void;
}

/** A user fn's interface: parameter types (with shape symbols) and result type. */
export interface FnSignature {
  params: { name: string; ty: Ty; hasDefault: boolean; span: Span }[];
  result: Ty;
  /** A rank-generic fn's ellipsis markers ("...", "...B"), in order of first use; absent otherwise. */
  generic?: string[];
}

/** The estimator body being checked, if any: enables `diff`. */
export interface EstimatorFrame {
  inputNames: Set<string>;
}

export class ExprChecker implements ArgContext {
  constructor(
    readonly module: ModuleInfo,
    readonly oracle: ItemOracle,
    readonly diagnostics: Diagnostic[],
    readonly estimator?: EstimatorFrame,
    /** The instance of a rank-generic fn whose body this checks (ellipsis.ts `instanceKey`). */
    readonly instance = "",
  ) {}

  report(code: string, span: Span, message: string, extra: { hint?: string; related?: RelatedInfo[] } = {}): Ty {
    this.diagnostics.push(error(code, span, message, extra));
    return errorTy;
  }

  /** The ellipsis lengths of each call of a rank-generic fn, for a `backward` on it. */
  private readonly genericCalls = new Map<A.CallExpr, Lengths>();

  recordAxes(e: A.Expr, axes: number[]): void {
    this.oracle.recordEllipsisAxes(e, this.instance, axes);
  }

  /** typeOfNode with a bounded stack, however deep the expression (grammar/deep.ts). */
  private readonly guard = new DepthGuard<A.Expr, Ty, Scope>(
    (e, scope) => this.typeOfNode(e, scope),
    (e, scope) => this.typedChildren(e, scope),
  );

  /**
   * A number literal's type, after its range check: an integer literal must fit an i32 (it is an
   * i32 wherever it meets one, and would wrap on the CPU and saturate on the GPU: E3050), a float
   * literal must be finite in f32 (1e39 and 1e999 would be Infinity: E3051). `negated`: the
   * literal is the operand of a prefix minus, so 2147483648 is -2^31.
   */
  number(e: A.NumberLit, negated: boolean): Ty {
    if (e.isInt && e.value > (negated ? 2 ** 31 : 2 ** 31 - 1)) {
      this.report("E3050", e.span, `the integer literal ${e.text} is outside the i32 range [-2147483648, 2147483647]`, {
        hint: `write ${e.text}.0 for an f32 value`,
      });
    } else if (!e.isInt && !Number.isFinite(Math.fround(e.value))) {
      this.report("E3051", e.span, `the literal ${e.text} is outside the f32 range (its magnitude must be below 3.4028235e38)`, {
        hint: "estc computes in f32; a value this large would be Infinity",
      });
    }
    return tensor(e.isInt ? "i32" : "f32", [], e.isInt);
  }

  /** The type of `e` in `scope`. */
  typeOf(e: A.Expr, scope: Scope): Ty {
    return this.guard.visit(e, scope);
  }

  /**
   * The children that typeOfNode always types, with `scope`, before `e` itself, in that order;
   * children it may skip (after an error, or as compile-time values) are left out.
   */
  private typedChildren(e: A.Expr, scope: Scope): readonly A.Expr[] {
    switch (e.kind) {
      case "Unary":
        return e.op === "-" && e.operand.kind === "Number" ? [] : [e.operand];
      case "Binary":
        return [e.left, e.right];
      case "Ternary":
        return [e.cond, e.then, e.else];
      case "Detach":
        return [e.operand];
      case "Backward":
        return [e.call];
      case "Index":
        return [e.target];
      case "Tuple":
        return e.elements;
      case "Call": {
        const name = e.callee.name;
        if (name === "" || name === "diff" || scope.lookup(name) !== undefined) return [];
        const sym = this.module.scope.get(name)?.symbol;
        // A user fn's arguments are all typed, bound or not.
        if (sym !== undefined) return sym.kind === "fn" ? e.args.map((a) => a.value) : [];
        const prim = pickOverload(name, e.args.filter((a) => a.name === undefined).length);
        return prim === undefined ? [] : tensorArguments(prim, e.args);
      }
      default:
        return [];
    }
  }

  private typeOfNode(e: A.Expr, scope: Scope): Ty {
    switch (e.kind) {
      case "Number":
        return this.number(e, false);
      case "Bool":
        return tensor("bool", []);
      case "Name":
        return this.name(e, scope);
      case "Unary": {
        // -2147483648 is the one integer literal whose magnitude is outside i32 but whose value is not.
        if (e.op === "-" && e.operand.kind === "Number") return this.number(e.operand, true);
        const t = this.tensorOperand(e.operand, scope, `\`${e.op}\``);
        if (t === undefined) return errorTy;
        return e.op === "!" ? tensor("bool", t.shape) : tensor(t.dtype === "bool" ? "f32" : t.dtype, t.shape, t.weak);
      }
      case "Binary":
        return this.binary(e, scope);
      case "Ternary":
        // The branches decide the dtype. Each operand is typed once, so nested ?: stay linear.
        return this.broadcastOperands([e.cond, e.then, e.else], scope, "`? :`", e.span, (_l, _r, [, a, b]) => promote(a!, b!).dtype, false);
      case "Call":
        return this.call(e, scope);
      case "Index":
        return this.index(e, scope);
      case "Backward":
        return this.backward(e, scope);
      case "Detach":
        return this.typeOf(e.operand, scope);
      case "Tuple":
        return { kind: "tuple", elements: e.elements.map((x) => this.typeOf(x, scope)) };
      case "List":
        return { kind: "list", dims: e.elements.map((x) => this.dimOf(x, scope) ?? "?") };
      case "Error":
        return errorTy;
    }
  }

  // ---------------------------------------------------------------- names and constants

  private name(e: A.NameExpr, scope: Scope): Ty {
    const local = scope.lookup(e.name);
    if (local?.kind === "ellipsis") {
      return this.report("E3061", e.span, `'${e.name}' is an ellipsis (a run of dims), not a value`, {
        hint: `it can only stand as the axes it covers: sum(x, axis = ${e.name})`,
      });
    }
    if (local !== undefined) return local.ty;
    const entry = this.module.scope.get(e.name);
    if (entry !== undefined) {
      const sym = entry.symbol;
      if (sym.kind === "const") {
        const v = this.oracle.constValue(sym);
        if (v === undefined) return errorTy;
        if (typeof v === "boolean") return tensor("bool", []);
        const int = Number.isInteger(v) && isIntLiteral(sym.decl.value);
        return tensor(int ? "i32" : "f32", [], int);
      }
      const what = sym.kind === "fn" ? "fn" : "estimator";
      return this.report("E3020", e.span, `'${e.name}' is an ${what}, not a value`, {
        hint: sym.kind === "fn" ? `call it: ${e.name}(…)` : `attach it to a call: sign(x) backward ${e.name}`,
      });
    }
    const candidates = [...scope.allNames(), ...this.module.scope.keys()];
    const guess = closest(e.name, candidates);
    const builtin = ["g", "out", "cost"].includes(e.name) && this.estimator === undefined;
    const fnName = primitives.has(e.name);
    return this.report("E2002", e.span, fnName ? `'${e.name}' is a function, not a value` : `unknown name '${e.name}'`, {
      hint: builtin
        ? `'${e.name}' exists only inside an estimator body`
        : fnName
          ? `call it: ${e.name}(…); juxtaposition takes a plain argument (${e.name} x), so write ${e.name}(-x), not ${e.name} -x`
          : guess !== undefined
            ? `did you mean '${guess}'?`
            : undefined,
    });
  }

  /** The value of a const item named `name` in this module, if it is one. */
  constOf(name: string): number | boolean | undefined {
    const sym = this.module.scope.get(name)?.symbol;
    return sym?.kind === "const" ? this.oracle.constValue(sym) : undefined;
  }

  /** The compile-time integer an expression denotes, if any. */
  intOf(e: A.Expr): number | undefined {
    if (e.kind === "Number") return e.isInt ? e.value : undefined;
    // `- - … 3` with a loop: a long chain of signs costs no stack.
    if (e.kind === "Unary" && e.op === "-") {
      let sign = -1;
      let x = e.operand;
      for (; x.kind === "Unary" && x.op === "-"; x = x.operand) sign = -sign;
      const v = x.kind === "Unary" ? undefined : this.intOf(x);
      return v === undefined ? undefined : sign * v;
    }
    if (e.kind === "Name") {
      const sym = this.module.scope.get(e.name)?.symbol;
      if (sym?.kind === "const") {
        const v = this.oracle.constValue(sym);
        return typeof v === "number" && Number.isInteger(v) ? v : undefined;
      }
    }
    return undefined;
  }

  /** The dim an expression denotes: a size, a shape symbol or dim arithmetic; undefined otherwise. */
  dimOf(e: A.Expr, scope: Scope): DimT | undefined {
    return dimOfExpr(e, (x) => this.dimLeaf(x, scope));
  }

  private dimLeaf(e: A.Expr, scope: Scope): DimT | undefined {
    const n = this.intOf(e);
    if (n !== undefined) return n;
    if (e.kind === "Name") {
      const b = scope.lookup(e.name);
      if (b?.dim !== undefined) return b.dim;
      if (b !== undefined && isScalar(b.ty) && b.ty.dtype === "i32") return "?";
    }
    return undefined;
  }

  // ---------------------------------------------------------------- operators

  tensorOperand(e: A.Expr, scope: Scope, what: string): TensorTy | undefined {
    const t = this.typeOf(e, scope);
    if (t.kind === "tensor") return t;
    if (t.kind === "tuple") {
      this.report("E3013", e.span, `a tuple ${showTy(t)} cannot be an operand of ${what}`, {
        hint: "pick an element with r[0] or unpack it with let (a, b) = …",
      });
    } else if (t.kind === "list") {
      this.report("E3016", e.span, `a list cannot be an operand of ${what}`, { hint: "lists are shapes and axes: reshape(x, [B, K]), sum(x, axis = [0, 1])" });
    }
    return undefined;
  }

  private binary(e: A.BinaryExpr, scope: Scope): Ty {
    if (e.op === "@") {
      const l = this.tensorOperand(e.left, scope, "`@`");
      const r = this.tensorOperand(e.right, scope, "`@`");
      if (l === undefined || r === undefined) return errorTy;
      return this.applyRule(primitives.get("matmul")![0]!, { a: { ty: l }, b: { ty: r } }, { a: e.left.span, b: e.right.span }, e.opSpan);
    }
    const logical = e.op === "&&" || e.op === "||";
    const compares = ["==", "!=", "<", "<=", ">", ">="].includes(e.op);
    const dtype = (l: TensorTy, r: TensorTy) => (logical || compares ? "bool" : e.op === "/" || e.op === "^" ? "f32" : promote(l, r).dtype);
    return this.broadcastOperands([e.left, e.right], scope, `\`${e.op}\``, e.opSpan, dtype, !logical && !compares);
  }

  /** Broadcasts operands as NumPy does; a clash points at the operator and at both operands. */
  private broadcastOperands(
    operands: A.Expr[],
    scope: Scope,
    what: string,
    at: Span,
    dtypeOf: (l: TensorTy, r: TensorTy, all: TensorTy[]) => A.DType,
    keepWeak: boolean,
  ): Ty {
    const maybe = operands.map((o) => this.tensorOperand(o, scope, what));
    if (maybe.some((t) => t === undefined)) return errorTy;
    const types = maybe as TensorTy[];
    let acc = types[0]!;
    for (let i = 1; i < types.length; i++) {
      const t = types[i]!;
      const b = broadcastShapes(acc.shape, t.shape);
      if ("clash" in b) {
        return this.report("E3001", at, `shapes do not broadcast for ${what}: ${showTy(acc)} and ${showTy(t)} (${b.clash[0]} vs ${b.clash[1]})`, {
          hint: "NumPy broadcasting: aligned from the right, each pair of dims must be equal or 1",
          related: operands.slice(0, i + 1).map((o, j) => ({ span: o.span, message: `this is ${showTy(types[j]!)}` })),
        });
      }
      const weak = keepWeak && acc.weak === true && t.weak === true;
      acc = tensor(dtypeOf(acc, t, types), b.shape, weak);
    }
    return acc;
  }

  private index(e: A.IndexExpr, scope: Scope): Ty {
    const t = this.typeOf(e.target, scope);
    if (t.kind === "error") return t;
    if (t.kind === "tensor" && e.slices !== undefined) return this.sliceIndex(t, e.slices, scope);
    for (const x of e.slices === undefined ? [] : e.indices) this.typeOf(x, scope);
    if (t.kind !== "tuple") {
      return this.report("E3011", e.span, `only a tuple result can be indexed; this is ${showTy(t)}`, {
        hint: t.kind === "tensor" ? "slice a tensor along its axes with x[:, a:b] (every position a slice), or pick entries with gather(x, idx, axis)" : "to pick entries of a tensor use gather(x, idx, axis)",
      });
    }
    if (e.slices !== undefined) return this.report("E3010", e.span, "a tuple index must be one compile-time integer, not a slice", { hint: "write r[0], r[1], …" });
    const i = e.indices.length === 1 ? this.intOf(e.indices[0]!) : undefined;
    if (i === undefined) return this.report("E3010", e.span, "a tuple index must be one compile-time integer", { hint: "write r[0], r[1], …" });
    const el = t.elements[i];
    if (el === undefined) return this.report("E3010", e.indices[0]!.span, `index ${i} is out of range for a tuple of ${t.elements.length}`);
    return el;
  }

  /** `x[:, a:b]`: each position a slice of its axis (compiler/slice-concat.ts), trailing axes whole. */
  private sliceIndex(t: TensorTy, items: readonly A.SliceItem[], scope: Scope): Ty {
    if (t.shape === null) return tensor(t.dtype, null);
    if (items.length > t.shape.length) return this.report("E3011", items[t.shape.length]!.span, `${showTy(t)} has ${t.shape.length} axes, but the index has ${items.length} positions`);
    const shape = [...t.shape];
    for (const [axis, item] of items.entries()) {
      if (!item.colon) {
        return this.report("E3011", item.span, "a tensor index position must be a slice such as a:b; a single index would drop the axis, which is not supported", {
          hint: "keep the axis with a one-element slice i:i+1, or pick entries with gather(x, idx, axis)",
        });
      }
      const bound = (x: A.Expr | undefined): DimT | undefined | "bad" => {
        if (x === undefined) return undefined;
        const d = this.dimOf(x, scope);
        if (d === undefined || d === "?") {
          this.report("E3034", x.span, "a slice bound must be a compile-time size, a shape symbol or dim arithmetic (K - 1)", { hint: "runtime-valued bounds are not supported" });
          return "bad";
        }
        return d;
      };
      const [start, end] = [bound(item.start), bound(item.end)];
      const step = item.step === undefined ? 1 : this.intOf(item.step);
      if (step === undefined) return this.report("E3034", item.step!.span, "a slice step must be a compile-time integer");
      if (start === "bad" || end === "bad") return errorTy;
      const geom = sliceGeometry(shape[axis]!, start ?? 0, end, step);
      if ("error" in geom) return this.report("E3003", item.span, `axis ${axis}: ${geom.error}`, { hint: "x[a:b] along an axis holds b − a elements; -1 is the last" });
      shape[axis] = geom.length;
    }
    return tensor(t.dtype, shape);
  }

  // ---------------------------------------------------------------- calls

  private call(e: A.CallExpr, scope: Scope): Ty {
    const name = e.callee.name;
    if (name === "") return this.report("E2010", e.callee.span, "only a named function can be called", { hint: "call a primitive or an fn by name: f(x)" });
    if (name === "diff" && this.estimator !== undefined && scope.lookup(name) === undefined) return this.diff(e, scope);
    const local = scope.lookup(name);
    if (local !== undefined) {
      return this.report("E3021", e.callee.span, `'${name}' is ${showTy(local.ty)}, not a function`, {
        hint: e.juxtaposed ? "two names side by side apply the first to the second; an operator may be missing" : undefined,
      });
    }
    const entry = this.module.scope.get(name);
    if (entry?.symbol.kind === "fn") return this.fnCall(e, entry.symbol, scope);
    if (entry?.symbol.kind === "estimator") {
      return this.report("E3022", e.callee.span, `'${name}' is an estimator, not a function`, {
        hint: `attach it to the call it differentiates: ${entry.symbol.decl.target.name}(…) backward ${name}`,
      });
    }
    if (entry?.symbol.kind === "const") return this.report("E3021", e.callee.span, `'${name}' is a const, not a function`);
    const positional = e.args.filter((a) => a.name === undefined).length;
    const prim = pickOverload(name, positional);
    if (prim !== undefined) return this.primCall(e, prim, scope);
    const candidates = [...primitives.keys(), ...[...this.module.scope].filter(([, v]) => v.symbol.kind === "fn").map(([k]) => k)];
    const guess = closest(name, candidates);
    return this.report("E2009", e.callee.span, `unknown function '${name}'`, {
      hint:
        name === "diff" && this.estimator === undefined
          ? "diff exists only inside an estimator body"
          : guess !== undefined
            ? `did you mean '${guess}'?`
            : "declare it with fn, or import it",
    });
  }

  private primCall(e: A.CallExpr, prim: Primitive, scope: Scope): Ty {
    const bound = bindArgs(this, e.args, prim.params.map((p) => ({ name: p.name, required: !p.optional })), `${prim.name}`, e.span);
    if (bound === undefined) {
      for (const a of e.args) this.typeOf(a.value, scope);
      return errorTy;
    }
    const values: Record<string, ArgValue | undefined> = {};
    const spans: Record<string, Span> = {};
    let ok = true;
    for (const p of prim.params) {
      const b = bound.get(p.name);
      if (b === undefined) continue;
      spans[p.name] = b.span;
      const x = values["x"]?.ty;
      const v = argValue(this, p, b.expr, scope, prim.name, x?.kind === "tensor" ? x : undefined);
      if (v === undefined) ok = false;
      else values[p.name] = v;
    }
    if (!ok) return errorTy;
    return this.applyRule(prim, values, spans, e.callee.span);
  }

  applyRule(prim: Primitive, values: Record<string, ArgValue | undefined>, spans: Record<string, Span>, at: Span): Ty {
    const r = prim.result(values);
    if ("error" in r) return this.report("E3003", (r.arg !== undefined ? spans[r.arg] : undefined) ?? at, `${prim.name}: ${r.error}`, { hint: r.hint });
    return r;
  }

  private fnCall(e: A.CallExpr, sym: Extract<ItemSymbol, { kind: "fn" }>, scope: Scope): Ty {
    this.oracle.recordUse(sym, e.callee.span);
    const sig = this.oracle.fnSignature(sym);
    const name = sym.decl.name.name;
    const params = sym.decl.params.map((p) => ({ name: p.name.name, required: p.default === undefined }));
    const bound = bindArgs(this, e.args, params, name, e.span);
    if (sig === undefined || bound === undefined) {
      for (const a of e.args) this.typeOf(a.value, scope);
      return errorTy;
    }
    let ok = true;
    const args = sig.params.map((p) => {
      const b = bound.get(p.name);
      if (b === undefined) return undefined;
      const t = this.tensorOperand(b.expr, scope, name);
      if (t === undefined || p.ty.kind !== "tensor") ok = false;
      return t;
    });
    if (!ok) return errorTy;
    let wants = sig.params.map((p) => p.ty);
    let result = sig.result;
    if (sig.generic !== undefined) {
      // A rank-generic fn: each ellipsis is as long as its longest argument's batch.
      const lengths = callLengths(sig.params.map((p) => (p.ty.kind === "tensor" ? p.ty.shape : null)), args.map((t) => t?.shape?.length));
      this.genericCalls.set(e, lengths);
      const inst = this.oracle.fnInstance(sym, lengths, e.span);
      if (inst === undefined) return errorTy;
      wants = inst.params;
      result = inst.result;
    }
    const dims: CallDims = new Map();
    sig.params.forEach((p, i) => {
      const t = args[i];
      const want = wants[i]!;
      if (t === undefined || want.kind !== "tensor" || p.ty.kind !== "tensor") return;
      if (!unifyArg(this, p.name, want, t, bound.get(p.name)!.span, dims, name, p.ty)) ok = false;
    });
    const unsettled = ok ? settleComputedDims(dims) : undefined;
    if (unsettled !== undefined) this.report("E3002", unsettled.entry.span, `${name}: ${unsettled.message}`);
    return ok && unsettled === undefined ? substitute(result, dims) : errorTy;
  }

  // ---------------------------------------------------------------- estimators

  private backward(e: A.BackwardExpr, scope: Scope): Ty {
    const callTy = this.typeOf(e.call, scope);
    const estName = e.estimator.name;
    if (e.call.kind !== "Call") {
      return this.report("E4001", e.call.span, "`backward` attaches an estimator to a call, and this is not a call", {
        hint: `write the primitive call it differentiates: sign(x) backward ${estName || "STE"}`,
      });
    }
    if (estName === "") return errorTy;
    const entry = this.module.scope.get(estName);
    if (entry === undefined || entry.symbol.kind !== "estimator") {
      const suggestion = this.oracle.suggestEstimator(estName, this.module);
      return this.report("E2003", e.estimator.span, entry === undefined ? `unknown estimator '${estName}'` : `'${estName}' is not an estimator`, {
        hint: suggestion,
      });
    }
    const est = entry.symbol.decl;
    this.oracle.recordUse(entry.symbol, e.estimator.span);
    const targetSym = entry.symbol.module.scope.get(est.target.name)?.symbol;
    const calleeSym = this.module.scope.get(e.call.callee.name)?.symbol;
    const sameTarget =
      targetSym?.kind === "fn" || calleeSym?.kind === "fn"
        ? targetSym !== undefined && calleeSym !== undefined && targetSym.decl === calleeSym.decl
        : est.target.name === e.call.callee.name;
    if (!sameTarget) {
      return this.report("E4002", e.estimator.span, `'${estName}' is an estimator for ${est.target.name}, not for ${e.call.callee.name}`, {
        related: [{ span: est.target.span, message: `${estName} is declared for ${est.target.name} here` }],
      });
    }
    const lengths = this.genericCalls.get(e.call);
    if (lengths !== undefined) this.oracle.estimatorInstance(entry.symbol, lengths, e.span);
    const params = est.params.map((p) => ({ name: p.name.name, required: p.default === undefined }));
    const bound = bindArgs(this, e.args, params, `estimator ${estName}`, e.span);
    for (const [pname, b] of bound ?? []) {
      const t = this.typeOf(b.expr, scope);
      if (t.kind !== "error" && !isScalar(t)) {
        this.report("E4007", b.span, `estimator parameter '${pname}' must be a scalar, got ${showTy(t)}`, {
          hint: "estimator parameters are runtime scalars (a uniform on the GPU)",
        });
      }
    }
    if (bound === undefined) for (const a of e.args) this.typeOf(a.value, scope);
    return callTy;
  }

  private diff(e: A.CallExpr, scope: Scope): Ty {
    const [body, wrt] = e.args;
    if (e.args.length !== 2 || body === undefined || wrt === undefined || e.args.some((a) => a.name !== undefined)) {
      return this.report("E4020", e.span, "diff takes two arguments: diff(expression, input)");
    }
    const t = this.tensorOperand(body.value, scope, "diff");
    if (wrt.value.kind !== "Name" || !this.estimator!.inputNames.has(wrt.value.name)) {
      return this.report("E4020", wrt.span, "diff differentiates with respect to one of the estimator's inputs", {
        hint: `the inputs are: ${[...this.estimator!.inputNames].join(", ")}`,
      });
    }
    const x = this.tensorOperand(wrt.value, scope, "diff");
    if (t === undefined || x === undefined) return errorTy;
    const b = broadcastShapes(t.shape, x.shape);
    return tensor("f32", "clash" in b ? null : b.shape);
  }
}

function isIntLiteral(e: A.Expr): boolean {
  let x = e;
  while (x.kind === "Unary") x = x.operand;
  return x.kind === "Number" && x.isInt;
}

/** Replaces shape symbols in a callee's result type by the caller's dims. */
function substitute(t: Ty, dims: Map<string, { dim: DimT }>): Ty {
  if (t.kind === "tensor") return tensor(t.dtype, t.shape === null ? null : substituteShape(t.shape, dims));
  if (t.kind === "tuple") return { kind: "tuple", elements: t.elements.map((x) => substitute(x, dims)) };
  return t;
}

export { showShape };
