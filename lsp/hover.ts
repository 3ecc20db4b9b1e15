/**
 * Hover text (Markdown): an item's signature with the checker's types and shapes (an fn's result
 * shape inferred when not written), its `///` doc comment and where it comes from; a parameter's,
 * let's or estimator input's type; a primitive's signature and summary; a shape symbol; `g`, `out`
 * and `cost` inside an estimator body.
 */
import type * as A from "../grammar/ast.js";
import { printExpr, printItemHead } from "../grammar/print.js";
import type { Primitive } from "../compiler/primitives.js";
import { showTy } from "../compiler/types.js";
import type { Analysis } from "./analysis.js";
import type { Referent } from "./refer.js";

const fence = (code: string) => "```est\n" + code + "\n```";

/** The Markdown shown for a referent. */
export function hoverText(a: Analysis, r: Referent): string {
  switch (r.kind) {
    case "item":
      return itemHover(a, r.symbol.decl, r.symbol.module.id, r.via);
    case "local":
      return localHover(r.local.name, r.local.binding);
    case "primitive":
      return r.overloads.map((p) => `${fence(primitiveSignature(p))}\n\n${p.doc} (primitive, ${p.category})`).join("\n\n---\n\n");
    case "builtin":
      return builtinHover(r.name, r.estimator);
    case "module":
      return `${fence(`module "${r.module.id.startsWith("std/") ? r.module.id : r.module.file}"`)}\n\n${r.module.items.size} items: ${[...r.module.items.keys()].join(", ")}`;
  }
}

function itemHover(a: Analysis, decl: A.FnDecl | A.EstimatorDecl | A.ConstDecl, moduleId: string, via: string | undefined): string {
  const head = decl.kind === "Fn" ? fnSignature(a, decl) : decl.kind === "Const" ? constLine(a, decl) : printItemHead(decl);
  const from = via !== undefined ? `\n\nimported from "${via}"` : moduleId.startsWith("std/") ? `\n\nfrom "${moduleId}"` : "";
  const doc = decl.doc === undefined ? "" : `\n\n${decl.doc}`;
  return fence(head) + doc + from;
}

/** `fn f(x: f32[B, I], o: f32 = 3.0) -> f32[B, O]`, with the checked types. */
function fnSignature(a: Analysis, decl: A.FnDecl): string {
  const sig = a.signatures.get(decl);
  if (sig === undefined) return printItemHead(decl);
  const params = sig.params.map((p, i) => {
    const dflt = decl.params[i]?.default;
    return `${p.name}: ${showTy(p.ty)}${dflt === undefined ? "" : ` = ${printExpr(dflt)}`}`;
  });
  return `fn ${decl.name.name}(${params.join(", ")}) -> ${showTy(sig.result)}`;
}

function constLine(a: Analysis, decl: A.ConstDecl): string {
  const head = printItemHead(decl);
  const v = a.consts.get(decl);
  return v === undefined || String(v) === printExpr(decl.value) ? head : `${head}  // = ${v}`;
}

function localHover(name: string, b: { kind: string; ty: Parameters<typeof showTy>[0]; differentiable?: boolean }): string {
  switch (b.kind) {
    case "param":
      return fence(`(parameter) ${name}: ${showTy(b.ty)}`);
    case "let":
      return fence(`let ${name}: ${showTy(b.ty)}`);
    case "input":
      return `${fence(`(estimator input) ${name}: ${showTy(b.ty)}`)}\n\n${b.differentiable === true ? "takes a grad" : "not differentiable: takes no grad"}`;
    case "dim":
      return `${fence(`(shape symbol) ${name}`)}\n\na dimension bound by a parameter's type; its size comes from the arguments at run time`;
    default:
      return fence(`${name}: ${showTy(b.ty)}`);
  }
}

function builtinHover(name: string, est: A.EstimatorDecl): string {
  if (name === "g") return `${fence("g")}\n\nthe incoming cotangent (the gradient of the loss with respect to ${est.target.name}'s result)`;
  if (name === "cost") return `${fence("cost: f32")}\n\nthe loss value of the whole computation (a scalar), for score-function estimators`;
  return `${fence(name)}\n\nthe forward value: ${est.target.name}(${est.inputs.map((x) => x.name).join(", ")})`;
}

function primitiveSignature(p: Primitive): string {
  const params = p.params.map((q) => `${q.name}${q.optional === true ? "?" : ""}: ${q.kind === "tensor" ? `${q.dtype ?? "f32"}[…]` : q.kind}`);
  return `${p.name}(${params.join(", ")})`;
}
