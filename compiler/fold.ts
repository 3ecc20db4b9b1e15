/**
 * Compile-time evaluation of constant expressions (const items, parameter defaults, axes):
 * literals, names of other consts, unary and binary arithmetic, comparisons and logic. The
 * checker and lowering share it, so what checks clean also lowers.
 */
import type * as A from "../grammar/ast.js";

type Folded = number | boolean | undefined;

/**
 * The value of `e`, or undefined when it is not a compile-time constant. Evaluated in post-order
 * with an explicit stack, so a long chain (`1 + 1 + … + 1`) costs no JavaScript stack.
 */
export function foldConstant(e: A.Expr, constant: (name: string) => Folded): Folded {
  if (e.kind === "Number" || e.kind === "Bool") return e.value;
  if (e.kind === "Name") return constant(e.name);
  const values = new Map<A.Expr, Folded>();
  const stack: A.Expr[] = [e];
  while (stack.length > 0) {
    const x = stack[stack.length - 1]!;
    const pending = operandsPending(x, values);
    if (pending.length > 0) {
      stack.push(...pending);
      continue;
    }
    stack.pop();
    values.set(x, foldNode(x, values, constant));
  }
  return values.get(e);
}

/** The operands of `e` that its value needs and that are not folded yet (a `?:` needs only the branch taken). */
function operandsPending(e: A.Expr, values: ReadonlyMap<A.Expr, Folded>): A.Expr[] {
  switch (e.kind) {
    case "Unary":
      return values.has(e.operand) ? [] : [e.operand];
    case "Binary":
      return [e.left, e.right].filter((x) => !values.has(x));
    case "Ternary": {
      if (!values.has(e.cond)) return [e.cond];
      const c = values.get(e.cond);
      if (c === undefined) return [];
      const branch = c ? e.then : e.else;
      return values.has(branch) ? [] : [branch];
    }
    default:
      return [];
  }
}

/** The value of `e` from its operands' values. */
function foldNode(e: A.Expr, values: ReadonlyMap<A.Expr, Folded>, constant: (name: string) => Folded): Folded {
  switch (e.kind) {
    case "Number":
    case "Bool":
      return e.value;
    case "Name":
      return constant(e.name);
    case "Unary": {
      const v = values.get(e.operand);
      if (v === undefined) return undefined;
      return e.op === "-" ? -Number(v) : !v;
    }
    case "Binary": {
      const l = values.get(e.left);
      const r = values.get(e.right);
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
      const c = values.get(e.cond);
      return c === undefined ? undefined : values.get(c ? e.then : e.else);
    }
    default:
      return undefined;
  }
}

/** True when `e` denotes an integer: an integer literal, or arithmetic on integers only. Walked with a loop. */
export function isIntegerExpr(e: A.Expr, constIsInt: (name: string) => boolean): boolean {
  const stack: A.Expr[] = [e];
  while (stack.length > 0) {
    const x = stack.pop()!;
    switch (x.kind) {
      case "Number":
        if (!x.isInt) return false;
        break;
      case "Name":
        if (!constIsInt(x.name)) return false;
        break;
      case "Unary":
        if (x.op !== "-") return false;
        stack.push(x.operand);
        break;
      case "Binary":
        if (!["+", "-", "*", "%"].includes(x.op)) return false;
        stack.push(x.right, x.left);
        break;
      default:
        return false;
    }
  }
  return true;
}
