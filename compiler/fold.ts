/**
 * Compile-time evaluation of constant expressions (const items, parameter defaults, axes):
 * literals, names of other consts, unary and binary arithmetic, comparisons and logic. The
 * checker and lowering share it, so what checks clean also lowers.
 */
import type * as A from "../grammar/ast.js";

/** The value of `e`, or undefined when it is not a compile-time constant. */
export function foldConstant(e: A.Expr, constant: (name: string) => number | boolean | undefined): number | boolean | undefined {
  switch (e.kind) {
    case "Number":
    case "Bool":
      return e.value;
    case "Name":
      return constant(e.name);
    case "Unary": {
      const v = foldConstant(e.operand, constant);
      if (v === undefined) return undefined;
      return e.op === "-" ? -Number(v) : !v;
    }
    case "Binary": {
      const l = foldConstant(e.left, constant);
      const r = foldConstant(e.right, constant);
      if (l === undefined || r === undefined) return undefined;
      const a = Number(l);
      const b = Number(r);
      switch (e.op) {
        case "+": return a + b;
        case "-": return a - b;
        case "*": return a * b;
        case "/": return a / b;
        case "%": return a - b * Math.floor(a / b); // floored, as `%` is at run time
        case "^": return a ** b;
        case "<": return a < b;
        case "<=": return a <= b;
        case ">": return a > b;
        case ">=": return a >= b;
        case "==": return a === b;
        case "!=": return a !== b;
        case "&&": return Boolean(l) && Boolean(r);
        case "||": return Boolean(l) || Boolean(r);
        default: return undefined;
      }
    }
    case "Ternary": {
      const c = foldConstant(e.cond, constant);
      return c === undefined ? undefined : foldConstant(c ? e.then : e.else, constant);
    }
    default:
      return undefined;
  }
}

/** True when `e` denotes an integer: an integer literal, or arithmetic on integers only. */
export function isIntegerExpr(e: A.Expr, constIsInt: (name: string) => boolean): boolean {
  switch (e.kind) {
    case "Number":
      return e.isInt;
    case "Name":
      return constIsInt(e.name);
    case "Unary":
      return e.op === "-" && isIntegerExpr(e.operand, constIsInt);
    case "Binary":
      return ["+", "-", "*", "%"].includes(e.op) && isIntegerExpr(e.left, constIsInt) && isIntegerExpr(e.right, constIsInt);
    default:
      return false;
  }
}
