/**
 * Checking rank-generic fns (language.md §5) for the item checker (check.ts): a generic fn's
 * signature keeps its ellipses as markers; its body is checked once per instance — each set of
 * ellipsis lengths a call asks for — with every ellipsis expanded into placeholder dims
 * (ellipsis.ts), and so is an estimator attached to it. An error found again in another instance
 * is reported once; one only an instance has gets a note at the call that asked for it.
 */
import { boundSymbols, dimNames } from "./check-dims.js";
import type * as A from "../grammar/ast.js";
import type { Diagnostic, RelatedInfo, Span } from "./diagnostics.js";
import type { FnSignature } from "./check-expr.js";
import { ellipsisMarker, expandShape, instanceKey, placeholder, type Lengths } from "./ellipsis.js";
import type { ModuleInfo } from "./resolve.js";
import { Scope, type BindObserver } from "./scope.js";
import { errorTy, i32Scalar, tensor, type DimT, type Ty } from "./types.js";

/** One instance of a rank-generic fn: its types with each ellipsis expanded. */
export interface FnInstance {
  params: Ty[];
  result: Ty;
}

/** What instance checking needs from the item checker. */
export interface InstanceHost {
  diagnostics: Diagnostic[];
  observer(): BindObserver | undefined;
  report(code: string, span: Span, message: string, extra?: { hint?: string; related?: RelatedInfo[] }): void;
  checkBody(m: ModuleInfo, decl: A.FnDecl, scope: Scope, instance: string): Ty | undefined;
  checkResult(declared: Ty, got: Ty, decl: A.FnDecl): void;
  /** Makes `item` the one whose uses are recorded; returns the undo. */
  enter(item: A.Item): () => void;
}

/** Every ellipsis one dim long: the instance a generic fn (and its estimators) is checked at on its own. */
export function oneDimEach(markers: readonly string[]): Lengths {
  return new Map(markers.map((k) => [k, 1]));
}

/** The shapes of a (possibly tuple) type. */
export function resultShapes(t: Ty): (readonly DimT[] | null)[] {
  return t.kind === "tensor" ? [t.shape] : t.kind === "tuple" ? t.elements.flatMap(resultShapes) : [];
}

/** A type with each ellipsis expanded to `lengths`' placeholders. */
export function expandTy(t: Ty, lengths: Lengths): Ty {
  if (t.kind === "tensor" && t.shape !== null) return tensor(t.dtype, expandShape(t.shape, lengths), t.weak);
  return t.kind === "tuple" ? { kind: "tuple", elements: t.elements.map((e) => expandTy(e, lengths)) } : t;
}

/** The rank-generic fns of one program: their instances and their estimators' instances. */
export class RankGeneric {
  private readonly instances = new Map<A.FnDecl, Map<string, FnInstance | "pending">>();
  private readonly estimators = new Map<A.EstimatorDecl, Set<string>>();

  constructor(private readonly host: InstanceHost) {}

  /**
   * A rank-generic fn's signature. Its body is checked here once with every ellipsis one dim
   * long, so a fn no one calls is checked too; an inferred result is that instance's, each
   * placeholder turned back into its ellipsis. Every ellipsis of the result must be a parameter's.
   */
  signature(m: ModuleInfo, decl: A.FnDecl, params: FnSignature["params"], declared: Ty | undefined, markers: string[]): FnSignature {
    let result = declared;
    for (const t of decl.result === undefined ? [] : decl.result.kind === "TupleType" ? decl.result.elements : [decl.result]) {
      for (const d of t.dims ?? []) {
        if (d.kind !== "DimEllipsis" || markers.includes(ellipsisMarker(d.name))) continue;
        this.host.report("E3060", d.span, `the result's ${ellipsisMarker(d.name)} is not bound by any parameter`, {
          hint: "an ellipsis takes its dims from the arguments; write it in a parameter's type too",
        });
        result = errorTy;
      }
    }
    const sig: FnSignature = { params, result: result ?? errorTy, generic: markers };
    const inst = this.instance(m, decl, sig, oneDimEach(markers), undefined);
    if (declared === undefined && inst !== undefined) sig.result = generalize(inst.result);
    return sig;
  }

  /** The instance of `decl` for `lengths`, its body checked the first time it is asked for. */
  instance(m: ModuleInfo, decl: A.FnDecl, sig: FnSignature, lengths: Lengths, call: Span | undefined): FnInstance | undefined {
    const key = instanceKey(lengths);
    const cache = this.instances.get(decl) ?? new Map<string, FnInstance | "pending">();
    this.instances.set(decl, cache);
    const known = cache.get(key);
    if (known !== undefined) return known === "pending" ? undefined : known;
    cache.set(key, "pending");
    const leave = this.host.enter(decl);
    const params = sig.params.map((p) => expandTy(p.ty, lengths));
    // The language server sees the lets of the one-dim instance, the one every generic fn has.
    const observer = call === undefined ? this.host.observer() : undefined;
    const scope = new Scope(undefined, observer && ((name, b) => (b.kind === "let" ? observer(name, b) : undefined)));
    sig.params.forEach((p, i) => scope.bind(p.name, { kind: "param", ty: params[i]!, span: p.span }));
    const { bound } = boundSymbols(sig.params.map((p) => (p.ty.kind === "tensor" && p.ty.shape !== null ? p.ty.shape : [])));
    for (const p of decl.params) {
      for (const d of p.type?.dims ?? []) {
        // Symbols a computed dim binds (`2 * N`) too, each once.
        for (const n of dimNames(d)) {
          if (bound.has(n.name) && m.scope.get(n.name)?.symbol.kind !== "const" && scope.lookup(n.name) === undefined) scope.bind(n.name, { kind: "dim", ty: i32Scalar, span: n.span, dim: n.name });
        }
        if (d.kind === "DimEllipsis" && d.name !== undefined) {
          const marker = ellipsisMarker(d.name);
          scope.bind(d.name, { kind: "ellipsis", ty: errorTy, span: d.span, placeholders: Array.from({ length: lengths.get(marker) ?? 1 }, (_, k) => placeholder(marker, k)) });
        }
      }
    }
    const before = this.host.diagnostics.length;
    const bodyTy = this.host.checkBody(m, decl, scope, key);
    const declared = decl.result === undefined ? undefined : expandTy(sig.result, lengths);
    if (declared !== undefined && bodyTy !== undefined) this.host.checkResult(declared, bodyTy, decl);
    this.keepNew(before, lengths, call, call === undefined ? `${decl.name.name} is checked with` : `in ${decl.name.name} called with`, decl.name.span);
    const inst: FnInstance = { params, result: declared ?? bodyTy ?? errorTy };
    cache.set(key, inst);
    leave();
    return inst;
  }

  /**
   * Checks estimator `decl` (for a rank-generic fn) at the instance a `backward` asks for, once
   * per instance; `check` checks its body with that instance's types.
   */
  estimatorInstance(decl: A.EstimatorDecl, lengths: Lengths, call: Span, check: () => void): void {
    const key = instanceKey(lengths);
    const done = this.estimators.get(decl) ?? new Set<string>();
    this.estimators.set(decl, done);
    if (done.has(key) || key === instanceKey(new Map([...lengths].map(([k]) => [k, 1])))) return;
    done.add(key);
    const leave = this.host.enter(decl);
    const before = this.host.diagnostics.length;
    check();
    this.keepNew(before, lengths, call, `in ${decl.name.name} attached to ${decl.target.name} with`, decl.name.span);
    leave();
  }

  /**
   * Drops the diagnostics since `before` that another instance has reported already; notes the
   * instance on the others (for the one-dim check, only where a message shows its dims).
   */
  private keepNew(before: number, lengths: Lengths, call: Span | undefined, what: string, at: Span): void {
    const diagnostics = this.host.diagnostics;
    const fresh = diagnostics.splice(before);
    const seen = new Set(diagnostics.map(diagnosticKey));
    const which = [...lengths].map(([k, n]) => `${k} of ${n} dim${n === 1 ? "" : "s"}`).join(", ");
    for (const d of fresh) {
      if (seen.has(diagnosticKey(d))) continue;
      seen.add(diagnosticKey(d));
      if (call === undefined && !d.message.includes("...")) diagnostics.push(d);
      else diagnostics.push({ ...d, related: [...(d.related ?? []), { span: call ?? at, message: `${what} ${which}${call === undefined ? "" : " here"}` }] });
    }
  }
}

/** An instance's type with each one-dim placeholder ("...B[0]") turned back into its ellipsis. */
function generalize(t: Ty): Ty {
  if (t.kind === "tensor" && t.shape !== null) return tensor(t.dtype, t.shape.map((d) => (typeof d === "string" && d.startsWith("...") && d.endsWith("[0]") ? d.slice(0, -3) : d)), t.weak);
  return t.kind === "tuple" ? { kind: "tuple", elements: t.elements.map(generalize) } : t;
}

function diagnosticKey(d: Diagnostic): string {
  return `${d.code} ${d.span.file} ${d.span.start} ${d.span.end} ${d.message}`;
}
