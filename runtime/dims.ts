/**
 * Computed dims at call time. A plan's shapes and a spec's input types may hold dim text that
 * the compiler normalised (compiler/dims.ts): `C*H*W`, `2*N+1`, `(H+1)/2+1`. This module
 * evaluates such text from the symbols' sizes and solves a linear one for its one unknown
 * symbol (an input typed `f32[2 * N]` binds N); it depends on nothing from the compiler.
 * Each text is parsed once into a closure, cached by the string.
 */
import { EstcRuntimeError, RuntimeErrorCode } from "./errors.js";

type Evaluator = (value: (symbol: string) => number) => number;

const SYMBOL = /^[A-Za-z_][A-Za-z0-9_]*$/;
const cache = new Map<string, Evaluator>();

/** True for dim text that is arithmetic rather than one symbol. */
export function isComputedDim(d: string | number): d is string {
  return typeof d === "string" && !SYMBOL.test(d);
}

/** The symbols dim text names. */
export function dimTextSymbols(text: string): string[] {
  return [...new Set(text.match(/[A-Za-z_][A-Za-z0-9_]*/g) ?? [])];
}

/**
 * The value of dim text given its symbols' sizes: `+ - *` on integers, `/` floor division, a
 * `-` that opens a sum negating its first term (the compiler's printed form).
 */
export function evaluateDimText(text: string, value: (symbol: string) => number): number {
  let f = cache.get(text);
  if (f === undefined) {
    f = compile(text);
    cache.set(text, f);
  }
  return f(value);
}

function compile(text: string): Evaluator {
  const tokens = text.match(/\d+|[A-Za-z_][A-Za-z0-9_]*|[-+*/()]|\S/g) ?? [];
  let at = 0;
  const fail = (): never => {
    throw new Error(`estc internal error: '${text}' is not dim text`);
  };
  const sum = (): Evaluator => {
    const negate = tokens[at] === "-" ? (at++, true) : false;
    const first = product();
    let f: Evaluator = negate ? (v) => -first(v) : first;
    while (tokens[at] === "+" || tokens[at] === "-") {
      const op = tokens[at++];
      const a = f;
      const b = product();
      f = op === "+" ? (v) => a(v) + b(v) : (v) => a(v) - b(v);
    }
    return f;
  };
  const product = (): Evaluator => {
    let f = atom();
    while (tokens[at] === "*" || tokens[at] === "/") {
      const op = tokens[at++];
      const a = f;
      const b = atom();
      f = op === "*" ? (v) => a(v) * b(v) : (v) => Math.floor(a(v) / b(v));
    }
    return f;
  };
  const atom = (): Evaluator => {
    const t = tokens[at++] ?? fail();
    if (t === "(") {
      const f = sum();
      if (tokens[at++] !== ")") fail();
      return f;
    }
    if (/^\d+$/.test(t)) {
      const n = Number(t);
      return () => n;
    }
    if (SYMBOL.test(t)) return (v) => v(t);
    return fail();
  };
  const f = sum();
  if (at !== tokens.length) fail();
  return f;
}

/**
 * The size of `symbol` that makes linear dim text (`k*N + c`, which the compiler guarantees)
 * equal `size`, the other symbols given by `value`; undefined when no whole, non-negative size does.
 */
export function solveDimText(text: string, symbol: string, size: number, value: (symbol: string) => number): number | undefined {
  const at = (n: number) => evaluateDimText(text, (s) => (s === symbol ? n : value(s)));
  const c = at(0);
  const k = at(1) - c;
  if (k === 0) return undefined;
  const n = (size - c) / k;
  return Number.isInteger(n) && n >= 0 && at(n) === size ? n : undefined;
}

/** The sizes of `spec.dims` in order: symbols from `bound`, computed dims evaluated from them. */
export function resolveSpecDims(name: string, dims: readonly string[], bound: (symbol: string) => number | undefined): Int32Array {
  const value = (s: string): number => {
    const v = bound(s);
    if (v === undefined) throw new Error(`estc internal error in ${name}: no input binds the shape symbol '${s}'`);
    return v;
  };
  return Int32Array.from(dims, (d) => {
    if (!isComputedDim(d)) return value(d);
    const size = evaluateDimText(d, value);
    if (size < 0 || size > 0x7fffffff) {
      const sizes = dimTextSymbols(d).map((s) => `${s} = ${value(s)}`).join(", ");
      throw new EstcRuntimeError(RuntimeErrorCode.badDim, `${name}: the dim ${d} is ${size} for ${sizes}, ${size < 0 ? "and a dim cannot be negative" : "larger than a dim can be (2^31 - 1)"}`);
    }
    return size;
  });
}
