/**
 * check: types every item of every loaded module — dtypes, symbolic shapes with NumPy
 * broadcasting, fn signatures and calls, estimator definitions (target, arity, grads covering
 * every differentiable input, `g`/`out`/`cost`/`diff`), `backward` uses, runtime-scalar
 * parameters, consts, and recursion. Reports E2xxx–E4xxx diagnostics; never throws.
 */
import type * as A from "../grammar/ast.js";
import { error, type Diagnostic, type Span } from "./diagnostics.js";
import { foldConstant } from "./fold.js";
import { ExprChecker, type FnSignature, type ItemOracle } from "./check-expr.js";
import { primitives, requiredParams, type PrimParam } from "./primitives.js";
import type { ItemSymbol, ModuleInfo, Program, Resolver } from "./resolve.js";
import { stdlibModuleIds } from "./resolve.js";
import { Scope, type BindObserver } from "./scope.js";
import { CALL_OPTIONS } from "../runtime/plan.js";
import { closest } from "./suggest.js";
import { ellipsisMarker, markersOf, placeholder, type Lengths } from "./ellipsis.js";
import { oneDimEach, RankGeneric, resultShapes, type FnInstance } from "./check-instance.js";
import { broadcastShapes, dtypeAssignable, errorTy, f32Scalar, i32Scalar, isScalar, showTy, tensor, dimsEqual, type Ty, type TensorTy, type DimT } from "./types.js";
import { boundSymbols, dimNames, typeDim } from "./check-dims.js";


type FnSym = Extract<ItemSymbol, { kind: "fn" }>;
type ConstSym = Extract<ItemSymbol, { kind: "const" }>;
type EstimatorSym = Extract<ItemSymbol, { kind: "estimator" }>;

/** What check learns about a program, for lower and the CLI. */
export interface CheckedProgram {
  program: Program;
  signatures: Map<A.FnDecl, FnSignature>;
  /** The folded value of every const item. */
  consts: Map<A.ConstDecl, number | boolean>;
  /** `axis = B` (a named ellipsis) in a rank-generic fn: the axes, by instance key (ellipsis.ts). */
  ellipsisAxes: Map<A.Expr, Map<string, number[]>>;
}


/** The checker for one program; `run` checks every module once. */
export class Checker implements ItemOracle {
  readonly diagnostics: Diagnostic[] = [];
  private readonly signatures = new Map<A.FnDecl, FnSignature | "pending">();
  private readonly consts = new Map<A.ConstDecl, number | boolean | "pending" | undefined>();
  /** Uses of fns and estimators by each item, for the recursion check. */
  private readonly uses = new Map<A.Item, { target: A.Item; span: Span }[]>();
  private current: A.Item | undefined;
  /** Rank-generic fns: their signatures and instances (check-instance.ts). */
  private readonly generic = new RankGeneric({
    diagnostics: this.diagnostics,
    observer: () => this.observer,
    report: (code, span, message, extra) => this.report(code, span, message, extra),
    checkBody: (m, decl, scope, key) => this.checkBody(m, decl, scope, key),
    checkResult: (declared, got, decl) => this.checkResult(declared, got, decl),
    enter: (item) => {
      const prev = this.current;
      this.current = item;
      return () => void (this.current = prev);
    },
  });
  private readonly ellipsisAxes = new Map<A.Expr, Map<string, number[]>>();
  /** How many const cycles were reported: a const caught in one is not also "not computable". */
  private constCycles = 0;

  constructor(
    private readonly program: Program,
    private readonly resolver: Resolver,
    /** Sees every parameter, let, estimator input and shape symbol bound (for the language server). */
    private readonly observer?: BindObserver,
  ) {}

  run(): CheckedProgram {
    for (const m of this.program.modules.values()) {
      for (const item of m.ast.items) this.checkItem(m, item);
    }
    this.checkRecursion();
    const signatures = new Map<A.FnDecl, FnSignature>();
    for (const [k, v] of this.signatures) if (v !== "pending") signatures.set(k, v);
    const consts = new Map<A.ConstDecl, number | boolean>();
    for (const [k, v] of this.consts) if (v !== undefined && v !== "pending") consts.set(k, v);
    return { program: this.program, signatures, consts, ellipsisAxes: this.ellipsisAxes };
  }

  private report(code: string, span: Span, message: string, extra: Parameters<typeof error>[3] = {}): void {
    this.diagnostics.push(error(code, span, message, extra));
  }

  private checkItem(m: ModuleInfo, item: A.Item): void {
    const prev = this.current;
    this.current = item;
    if (item.kind === "Fn") this.fnSignatureOf(m, item);
    else if (item.kind === "Estimator") this.checkEstimator(m, item);
    else if (item.kind === "Const") this.constOf(m, item);
    this.current = prev;
  }

  // ---------------------------------------------------------------- oracle for expressions

  fnSignature(sym: FnSym): FnSignature | undefined {
    return this.fnSignatureOf(sym.module, sym.decl);
  }

  constValue(sym: ConstSym): number | boolean | undefined {
    return this.constOf(sym.module, sym.decl);
  }

  recordEllipsisAxes(e: A.Expr, instance: string, axes: number[]): void {
    const byInstance = this.ellipsisAxes.get(e) ?? new Map<string, number[]>();
    byInstance.set(instance, axes);
    this.ellipsisAxes.set(e, byInstance);
  }

  fnInstance(sym: FnSym, lengths: Lengths, call: Span): FnInstance | undefined {
    const sig = this.fnSignature(sym);
    return sig === undefined ? undefined : this.generic.instance(sym.module, sym.decl, sig, lengths, call);
  }

  estimatorInstance(sym: EstimatorSym, lengths: Lengths, call: Span): void {
    this.generic.estimatorInstance(sym.decl, lengths, call, () => this.checkEstimator(sym.module, sym.decl, lengths));
  }

  recordUse(sym: ItemSymbol, span: Span): void {
    if (this.current === undefined) return;
    const list = this.uses.get(this.current) ?? [];
    list.push({ target: sym.decl, span });
    this.uses.set(this.current, list);
  }

  suggestEstimator(name: string, module: ModuleInfo): string | undefined {
    const visible = [...module.scope].filter(([, v]) => v.symbol.kind === "estimator");
    const near = closest(name, visible.map(([k]) => k));
    if (near !== undefined) {
      const via = module.scope.get(near)!.via;
      return via !== undefined ? `did you mean '${near}' (imported from "${via.from}")?` : `did you mean '${near}'?`;
    }
    for (const id of stdlibModuleIds(this.resolver.host)) {
      const std = this.resolver.loadStd(id);
      if (std === undefined) continue;
      const exact = std.items.get(name)?.kind === "estimator" ? name : closest(name, [...std.items].filter(([, s]) => s.kind === "estimator").map(([k]) => k));
      if (exact !== undefined) return `'${exact}' is in "${id}": import { ${exact} } from "${id}"`;
    }
    return undefined;
  }

  // ---------------------------------------------------------------- consts

  private constOf(m: ModuleInfo, decl: A.ConstDecl): number | boolean | undefined {
    const known = this.consts.get(decl);
    if (known === "pending") {
      this.report("E2012", decl.name.span, `const '${decl.name.name}' is defined in terms of itself`);
      this.constCycles++;
      this.consts.set(decl, undefined);
      return undefined;
    }
    if (this.consts.has(decl)) return known as number | boolean | undefined;
    this.consts.set(decl, "pending");
    const cycles = this.constCycles;
    const v = this.fold(m, decl.value);
    if (v === undefined && this.constCycles === cycles) {
      this.report("E3040", decl.value.span, `const '${decl.name.name}' must be computable at compile time`, {
        hint: "use numbers, true/false, other consts and arithmetic; tensors belong in an fn",
      });
    }
    this.consts.set(decl, v);
    return v;
  }

  /** Folds a constant expression (see fold.ts), reading other consts of module `m`. */
  private fold(m: ModuleInfo, e: A.Expr): number | boolean | undefined {
    return foldConstant(e, (name) => {
      const sym = m.scope.get(name)?.symbol;
      return sym?.kind === "const" ? this.constOf(sym.module, sym.decl) : undefined;
    });
  }

  // ---------------------------------------------------------------- parameters and types

  /** A written type; a dim naming an integer const takes the const's value; arithmetic is normalised. */
  private typeFromAst(m: ModuleInfo, t: A.TypeExpr): TensorTy {
    const ellipses = (t.dims ?? []).filter((d) => d.kind === "DimEllipsis");
    if (ellipses.length > 1) {
      this.report("E3060", ellipses[1]!.span, "a type has at most one ellipsis", {
        hint: "an ellipsis is a run of any number of dims; two in one type could split the dims either way",
        related: [{ span: ellipses[0]!.span, message: "the first ellipsis" }],
      });
      return tensor(t.dtype, null);
    }
    const constOf = (name: string) => {
      const sym = m.scope.get(name)?.symbol;
      const v = sym?.kind === "const" ? this.constOf(sym.module, sym.decl) : undefined;
      return typeof v === "number" && Number.isInteger(v) && v >= 0 ? v : undefined;
    };
    const report = (code: string, span: Span, message: string, extra?: { hint?: string }) => this.report(code, span, message, extra);
    return tensor(t.dtype, (t.dims ?? []).map((d) => (d.kind === "DimEllipsis" ? ellipsisMarker(d.name) : typeDim(d, constOf, report))));
  }

  /** Checks a parameter list and binds params (and the shape symbols their types bind). */
  private bindParams(m: ModuleInfo, params: A.Param[], scope: Scope, kind: "fn" | "estimator"): { name: string; ty: Ty; hasDefault: boolean; span: Span }[] {
    const out: { name: string; ty: Ty; hasDefault: boolean; span: Span }[] = [];
    const exprs = new ExprChecker(m, this, this.diagnostics);
    for (const p of params) {
      let ty: Ty = errorTy;
      if (p.type !== undefined) ty = this.typeFromAst(m, p.type);
      if (p.default !== undefined) {
        const before = this.diagnostics.length;
        const dty = exprs.typeOf(p.default, scope);
        // A literal out of range has said so already (E3050/E3051); its default is not reported again.
        const folded = this.diagnostics.length > before ? 0 : this.fold(m, p.default);
        if (folded === undefined) {
          this.report("E3007", p.default.span, `the default of '${p.name.name}' must be a compile-time constant`, {
            hint: "a literal such as 3.0, or a const",
          });
        } else if (typeof folded === "number" && !Number.isFinite(Math.fround(folded))) {
          // The runtime takes finite scalars only (E6013), so such a default could never be used.
          this.report("E3051", p.default.span, `the default of '${p.name.name}' is ${folded}, which is not a finite f32`, {
            hint: "a runtime scalar must be a finite number below 3.4028235e38 in magnitude",
          });
        } else if (typeof folded === "number" && (ty.kind === "tensor" && ty.dtype === "i32") && (folded > 2 ** 31 - 1 || folded < -(2 ** 31))) {
          this.report("E3050", p.default.span, `the default of '${p.name.name}' is ${folded}, outside the i32 range [-2147483648, 2147483647]`);
        } else if (p.type === undefined && dty.kind === "tensor") {
          ty = tensor(dty.dtype === "i32" && kind === "fn" && !dty.weak ? "i32" : dty.dtype === "bool" ? "bool" : "f32", []);
        } else if (dty.kind === "tensor" && ty.kind === "tensor" && !dtypeAssignable(dty, ty.dtype)) {
          this.report("E3005", p.default.span, `the default of '${p.name.name}' is ${showTy(dty)}, but its type is ${showTy(ty)}`);
        }
        if (ty.kind === "tensor" && !isScalar(ty)) {
          this.report("E3006", p.type?.span ?? p.span, `'${p.name.name}' has a default, so it is a runtime scalar and cannot be ${showTy(ty)}`, {
            hint: "tensor inputs take no default; scalars with defaults become options of the generated function",
          });
        }
      } else if (p.type === undefined) {
        this.report("E3008", p.name.span, `parameter '${p.name.name}' needs a type or a default`, {
          hint: kind === "fn" ? `for example ${p.name.name}: f32[N]` : `for example ${p.name.name}: f32 = 1.0`,
        });
      }
      if (kind === "fn" && p.default !== undefined && (CALL_OPTIONS as readonly string[]).includes(p.name.name)) {
        this.report("E2013", p.name.span, `'${p.name.name}' cannot name a runtime scalar: it is an option of every generated function`, {
          hint: `the options '${CALL_OPTIONS.join("', '")}' are the runtime's; rename the parameter (for example ${p.name.name}_)`,
        });
      }
      if (kind === "fn" && p.name.name === "__proto__") {
        this.report("E2014", p.name.span, "'__proto__' cannot name a fn parameter: a JavaScript object literal `{ __proto__: t }` sets the object's prototype instead of passing an input or option", {
          hint: "rename the parameter (for example proto)",
        });
      }
      if (kind === "estimator" && ty.kind === "tensor" && !isScalar(ty)) {
        this.report("E3006", p.type?.span ?? p.span, `estimator parameter '${p.name.name}' must be a scalar, not ${showTy(ty)}`);
      }
      const prev = scope.bind(p.name.name, { kind: "param", ty, span: p.name.span });
      if (prev !== undefined) this.shadowed(p.name, prev.span);
      out.push({ name: p.name.name, ty, hasDefault: p.default !== undefined, span: p.span });
    }
    const { bound, unbindable } = boundSymbols(out.map((p) => (p.ty.kind === "tensor" && p.ty.shape !== null ? p.ty.shape : [])));
    for (const p of params) {
      for (const d of p.type?.dims ?? []) {
        if (d.kind === "DimEllipsis" && d.name !== undefined) {
          const b = scope.lookup(d.name);
          if (b === undefined) scope.bind(d.name, { kind: "ellipsis", ty: errorTy, span: d.span, placeholders: [placeholder(ellipsisMarker(d.name), 0)] });
          else if (b.kind !== "ellipsis") this.shadowed({ kind: "Ident", name: d.name, span: d.span }, b.span);
          continue;
        }
        for (const n of dimNames(d)) {
          if (!bound.has(n.name) || m.scope.get(n.name)?.symbol.kind === "const") continue;
          const b = scope.lookup(n.name);
          if (b === undefined) scope.bind(n.name, { kind: "dim", ty: i32Scalar, span: n.span, dim: n.name });
          else if (b.kind !== "dim") this.shadowed({ kind: "Ident", name: n.name, span: n.span }, b.span);
        }
      }
    }
    for (const u of unbindable) {
      const where = params.find((p) => p.type?.dims?.some((d) => dimNames(d).some((n) => n.name === u.missing[0])));
      this.report("E3017", where?.type?.span ?? params[0]!.span, `no parameter binds ${u.missing.join(", ")} in the dim ${u.dim}`, {
        hint: `write ${u.missing[0]} alone as a dim of some parameter, or use it linearly (2 * ${u.missing[0]}, ${u.missing[0]} + 1) in one dim with no other unbound symbol`,
      });
    }
    return out;
  }

  private shadowed(name: A.Ident, prev: Span | undefined): void {
    this.report("E2008", name.span, prev === undefined ? `'${name.name}' is a built-in name in this body and cannot be rebound` : `'${name.name}' is already bound`, {
      hint: "bindings are immutable and shadowing is an error; pick a new name",
      related: prev === undefined ? [] : [{ span: prev, message: "first bound here" }],
    });
  }

  // ---------------------------------------------------------------- fns

  private fnSignatureOf(m: ModuleInfo, decl: A.FnDecl): FnSignature | undefined {
    const known = this.signatures.get(decl);
    if (known === "pending") return undefined;
    if (known !== undefined) return known;
    this.signatures.set(decl, "pending");
    const prev = this.current;
    this.current = decl;
    const scope = new Scope(undefined, this.observer);
    const params = this.bindParams(m, decl.params, scope, "fn");
    const declared = decl.result === undefined ? undefined : decl.result.kind === "TupleType"
      ? ({ kind: "tuple", elements: decl.result.elements.map((t) => this.typeFromAst(m, t)) } as Ty)
      : this.typeFromAst(m, decl.result);
    const markers = markersOf(params.map((p) => (p.ty.kind === "tensor" ? p.ty.shape : null)));
    if (markers.length > 0 || (declared !== undefined && markersOf(resultShapes(declared)).length > 0)) {
      const sig = this.generic.signature(m, decl, params, declared, markers);
      this.signatures.set(decl, sig);
      this.current = prev;
      return sig;
    }
    const bodyTy = this.checkBody(m, decl, scope);
    if (declared !== undefined && bodyTy !== undefined) this.checkResult(declared, bodyTy, decl);
    const sig: FnSignature = { params, result: declared ?? bodyTy ?? errorTy };
    this.signatures.set(decl, sig);
    this.current = prev;
    return sig;
  }

  /** Checks a fn body; returns the type of its `return`. */
  private checkBody(m: ModuleInfo, decl: A.FnDecl, scope: Scope, instance = ""): Ty | undefined {
    const exprs = new ExprChecker(m, this, this.diagnostics, undefined, instance);
    let result: Ty | undefined;
    let returned: A.ReturnStmt | undefined;
    for (const s of decl.body) {
      if (returned !== undefined) {
        this.report("E3015", s.span, "nothing may follow the return of an fn", { related: [{ span: returned.span, message: "the fn returns here" }] });
        break;
      }
      if (s.kind === "Let") this.checkLet(s, exprs, scope);
      else if (s.kind === "Return") {
        result = exprs.typeOf(s.value, scope);
        returned = s;
      } else {
        this.report("E4018", s.span, `${s.kind === "Grad" ? "grad" : "surrogate"} belongs in an estimator body, not in an fn`, {
          hint: "an fn computes values with let and return; write backward rules as estimators",
        });
      }
    }
    if (returned === undefined) {
      this.report("E3014", decl.name.span, `fn '${decl.name.name}' has no return`, { hint: "end the body with return <expression>" });
    }
    return result;
  }

  private checkLet(s: A.LetStmt, exprs: ExprChecker, scope: Scope): void {
    const ty = exprs.typeOf(s.value, scope);
    let types: Ty[] = s.names.map(() => ty);
    if (s.destructure && ty.kind !== "error") {
      if (ty.kind !== "tuple" || ty.elements.length !== s.names.length) {
        this.report("E3012", s.value.span, `cannot unpack ${showTy(ty)} into ${s.names.length} name${s.names.length === 1 ? "" : "s"}`);
        types = s.names.map(() => errorTy);
      } else types = ty.elements;
    }
    s.names.forEach((n, i) => {
      if (n.name === "") return;
      const prev = scope.bind(n.name, { kind: "let", ty: types[i]!, span: n.span });
      if (prev !== undefined) this.shadowed(n, prev.span);
    });
  }

  private checkResult(declared: Ty, got: Ty, decl: A.FnDecl): void {
    if (got.kind === "error" || declared.kind === "error") return;
    const span = decl.result!.span;
    const ret = [...decl.body].reverse().find((s) => s.kind === "Return") as A.ReturnStmt | undefined;
    const mismatch = () =>
      this.report("E3004", ret?.value.span ?? decl.name.span, `fn '${decl.name.name}' returns ${showTy(got)}, but its result type says ${showTy(declared)}`, {
        related: [{ span, message: "the declared result type" }],
      });
    if (declared.kind === "tuple" || got.kind === "tuple") {
      if (declared.kind !== "tuple" || got.kind !== "tuple" || declared.elements.length !== got.elements.length) return void mismatch();
      declared.elements.forEach((d, i) => {
        if (!sameTensorType(d, got.elements[i]!)) mismatch();
      });
      return;
    }
    if (!sameTensorType(declared, got)) mismatch();
  }

  // ---------------------------------------------------------------- estimators

  /** Checks an estimator; for a rank-generic target, at the instance `lengths` (default: one-dim ellipses). */
  private checkEstimator(m: ModuleInfo, decl: A.EstimatorDecl, lengths?: Lengths): void {
    const scope = new Scope(undefined, lengths === undefined ? this.observer : undefined);
    const target = this.estimatorTarget(m, decl, lengths);
    // Built-ins first, so a parameter or input named g, out or cost is reported where it is written.
    const outName = decl.outName?.name ?? "out";
    const outTy = target?.out ?? tensor("f32", null);
    for (const [name, ty] of [[outName, outTy], ["g", outTy], ["cost", f32Scalar]] as const) {
      const prev = scope.bind(name, { kind: "builtin", ty, span: name === outName ? decl.outName?.span : undefined });
      if (prev !== undefined && decl.outName !== undefined) this.shadowed(decl.outName, undefined);
    }
    this.bindParams(m, decl.params, scope, "estimator");
    if (target === undefined) return;
    const inputNames = new Set<string>();
    decl.inputs.forEach((input, i) => {
      const p = target.inputs[i]!;
      const prev = scope.bind(input.name, { kind: "input", ty: p.ty, span: input.span, differentiable: p.differentiable, compileTime: p.compileTime === true });
      if (prev !== undefined) this.shadowed(input, prev.span);
      inputNames.add(input.name);
    });
    const exprs = new ExprChecker(m, this, this.diagnostics, { inputNames });
    const grads = new Map<string, A.GradStmt>();
    let surrogate: A.SurrogateStmt | undefined;
    for (const s of decl.body) {
      if (s.kind === "Let") this.checkLet(s, exprs, scope);
      else if (s.kind === "Return") {
        this.report("E4017", s.span, "an estimator body has no return", { hint: "give each input's cotangent with grad x = …, or a surrogate" });
      } else if (s.kind === "Surrogate") {
        if (surrogate !== undefined) this.report("E4016", s.span, "an estimator has at most one surrogate", { related: [{ span: surrogate.span, message: "the first surrogate" }] });
        surrogate = s;
        exprs.typeOf(s.value, scope);
      } else this.checkGrad(decl, s, target, exprs, scope, grads);
    }
    const missing = decl.inputs.filter((x, i) => target.inputs[i]!.differentiable && !grads.has(x.name));
    if (surrogate === undefined && missing.length > 0) {
      this.report("E4015", decl.name.span, `estimator '${decl.name.name}' gives no cotangent for ${missing.map((x) => `'${x.name}'`).join(", ")}`, {
        hint: `add grad ${missing[0]!.name} = … (g is the incoming cotangent), or a surrogate`,
      });
    }
  }

  private checkGrad(
    decl: A.EstimatorDecl,
    s: A.GradStmt,
    target: EstimatorTarget,
    exprs: ExprChecker,
    scope: Scope,
    grads: Map<string, A.GradStmt>,
  ): void {
    const ty = exprs.typeOf(s.value, scope);
    const i = decl.inputs.findIndex((x) => x.name === s.name.name);
    if (i < 0) {
      const guess = closest(s.name.name, decl.inputs.map((x) => x.name));
      this.report("E4012", s.name.span, `'${s.name.name}' is not an input of estimator '${decl.name.name}'`, {
        hint: guess !== undefined ? `did you mean '${guess}'?` : `its inputs: ${decl.inputs.map((x) => x.name).join(", ") || "none"}`,
      });
      return;
    }
    const prev = grads.get(s.name.name);
    if (prev !== undefined) {
      this.report("E4013", s.span, `'${s.name.name}' already has a grad`, { related: [{ span: prev.span, message: "the first grad" }] });
      return;
    }
    grads.set(s.name.name, s);
    const input = target.inputs[i]!;
    if (!input.differentiable) {
      this.report("E4014", s.name.span, `'${s.name.name}' is not differentiable (${showTy(input.ty)}), so it takes no grad`);
      return;
    }
    if (ty.kind === "tuple" || ty.kind === "list") {
      this.report("E4021", s.value.span, `a cotangent must be a tensor, got ${showTy(ty)}`);
    } else if (ty.kind === "tensor" && ty.shape !== null && input.ty.kind === "tensor" && input.ty.shape !== null) {
      const b = broadcastShapes(ty.shape, input.ty.shape);
      if ("clash" in b || b.shape === null || b.shape.length !== input.ty.shape.length) {
        this.report("E4021", s.value.span, `the cotangent of '${s.name.name}' is ${showTy(ty)}, which does not broadcast to its input's ${showTy(input.ty)}`);
      }
    }
  }

  /** Looks up an estimator's target and gives its inputs' and output's types. */
  private estimatorTarget(m: ModuleInfo, decl: A.EstimatorDecl, lengths?: Lengths): EstimatorTarget | undefined {
    const name = decl.target.name;
    if (name === "") return undefined;
    const entry = m.scope.get(name);
    let inputs: { name: string; ty: Ty; differentiable: boolean; optional: boolean }[];
    let out: Ty;
    if (entry?.symbol.kind === "fn") {
      this.recordUse(entry.symbol, decl.target.span);
      const sig = this.fnSignature(entry.symbol);
      if (sig === undefined) return undefined;
      // A rank-generic target is seen as its instance with one-dim ellipses (as its body is checked).
      const inst = sig.generic === undefined ? undefined : this.generic.instance(entry.symbol.module, entry.symbol.decl, sig, lengths ?? oneDimEach(sig.generic), undefined);
      if (sig.generic !== undefined && inst === undefined) return undefined;
      inputs = sig.params.map((p, i) => ({
        name: p.name,
        ty: inst?.params[i] ?? p.ty,
        differentiable: p.ty.kind === "tensor" && p.ty.dtype === "f32" && !p.hasDefault,
        optional: p.hasDefault,
      }));
      out = inst?.result ?? sig.result;
    } else {
      const prims = primitives.get(name);
      if (prims === undefined) {
        const guess = closest(name, [...primitives.keys(), ...[...m.scope].filter(([, v]) => v.symbol.kind === "fn").map(([k]) => k)]);
        this.report("E4010", decl.target.span, `estimator '${decl.name.name}' is for '${name}', which is neither a primitive nor an fn`, {
          hint: guess !== undefined ? `did you mean '${guess}'?` : "an estimator targets a primitive such as sign or round, or an fn",
        });
        return undefined;
      }
      const prim = prims.find((p) => decl.inputs.length >= requiredParams(p) && decl.inputs.length <= p.params.length) ?? prims[0]!;
      inputs = prim.params.map((p) => ({
        name: p.name,
        ty: paramType(p),
        differentiable: p.differentiable === true,
        optional: p.optional === true,
        compileTime: p.kind === "int" || p.kind === "dim" || p.kind === "axis" || p.kind === "pair",
      }));
      const r = prim.result({});
      out = "error" in r ? tensor("f32", null) : r;
    }
    const required = inputs.filter((p) => !p.optional).length;
    if (decl.inputs.length < required || decl.inputs.length > inputs.length) {
      const want = required === inputs.length ? `${required}` : `${required} to ${inputs.length}`;
      this.report("E4011", decl.target.span, `${name} takes ${want} input${inputs.length === 1 ? "" : "s"} (${inputs.map((p) => p.name).join(", ")}), but the estimator names ${decl.inputs.length}`);
      return undefined;
    }
    return { inputs: inputs.slice(0, decl.inputs.length), out };
  }

  // ---------------------------------------------------------------- recursion

  private checkRecursion(): void {
    const state = new Map<A.Item, "active" | "done">();
    const stack: { item: A.Item; span?: Span }[] = [];
    const visit = (item: A.Item, span?: Span): void => {
      if (state.get(item) === "done") return;
      if (state.get(item) === "active") {
        const i = stack.findIndex((s) => s.item === item);
        const cycle = [...stack.slice(i).map((s) => itemName(s.item)), itemName(item)];
        this.report("E2012", span ?? (item as A.FnDecl).name.span, `recursion is not allowed: ${cycle.join(" → ")}`, {
          hint: "estc programs are finite dataflow graphs; unroll the computation instead",
        });
        return;
      }
      state.set(item, "active");
      stack.push({ item, span });
      for (const u of this.uses.get(item) ?? []) visit(u.target, u.span);
      stack.pop();
      state.set(item, "done");
    };
    for (const item of this.uses.keys()) visit(item);
  }
}

interface EstimatorTarget {
  inputs: { name: string; ty: Ty; differentiable: boolean; compileTime?: boolean }[];
  out: Ty;
}

function itemName(item: A.Item): string {
  return item.kind === "Import" ? "import" : item.name.name;
}

/** The type an estimator body sees for a primitive's parameter. */
function paramType(p: PrimParam): Ty {
  if (p.kind === "tensor") return tensor(p.dtype ?? "f32", null);
  if (p.kind === "shape" || p.kind === "perm") return { kind: "list", dims: [] };
  if (p.kind === "flag") return tensor("bool", []);
  return i32Scalar;
}

function sameTensorType(a: Ty, b: Ty): boolean {
  if (a.kind === "error" || b.kind === "error") return true;
  if (a.kind !== "tensor" || b.kind !== "tensor") return false;
  if (!(a.dtype === b.dtype || dtypeAssignable(b, a.dtype))) return false;
  if (a.shape === null || b.shape === null) return true;
  return a.shape.length === b.shape.length && a.shape.every((d, i) => dimsEqual(d, b.shape![i]!));
}

