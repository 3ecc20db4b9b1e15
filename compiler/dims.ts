/**
 * Dim arithmetic: the one place where computed dims (`C * H * W`, `2 * N`, `(H + 1) / 2`) are
 * built, normalised and printed. A dim stays `number | string` (types.ts's DimT) so IR
 * hash-consing and `a === b` keep working; a string dim is `"?"`, a plain symbol (`"B"`) or the
 * canonical string of a polynomial, so two dims are equal exactly when their strings are.
 *
 * The normal form: a sum of monomials with nonzero integer coefficients; a monomial is a
 * product of atoms sorted by code unit; an atom is a symbol or a floor division `(p)/k` of a
 * normalised polynomial by a constant k >= 2 whose coefficients are already reduced into
 * [0, k) (`floor((k·q + r) / k) = q + floor(r / k)` for an integer-valued q, so the
 * divisible part leaves the atom). Terms are printed by degree (highest first), then by
 * their atoms' text, the constant last: `C*H*W`, `2*N+1`, `H-2*K`, `(H+1)/2+3`,
 * `2*((H+1)/2)`. runtime/dims.ts evaluates these strings without the compiler.
 */
import type { DimT } from "./types.js";

/** A polynomial: monomial key (atoms joined by `*`, "" for the constant) → coefficient. */
type Poly = Map<string, number>;

// A symbol is a name, or one of ellipsis.ts's markers ("...B") and placeholders ("...B[0]"),
// which rank-generic fns use as symbols and arithmetic treats as atoms like any other.
const NAME = String.raw`\.\.\.[A-Za-z0-9_]*(?:\[\d+\])?|[A-Za-z_][A-Za-z0-9_]*`;
const SYMBOL = new RegExp(`^(?:${NAME})$`);
const SYMBOLS = new RegExp(NAME, "g");

/** True for a dim that is a computed expression (not a size, a plain symbol or `?`). */
export function isDimExpr(d: DimT): d is string {
  return typeof d === "string" && d !== "?" && !SYMBOL.test(d);
}

/** The symbols a dim mentions, sorted and without repeats. */
export function dimSymbols(d: DimT): string[] {
  if (typeof d === "number" || d === "?") return [];
  return [...new Set(d.match(SYMBOLS) ?? [])].sort();
}

// ---------------------------------------------------------------- polynomials

function constant(c: number): Poly {
  return c === 0 ? new Map() : new Map([["", c]]);
}

function addTo(p: Poly, key: string, c: number): void {
  const v = (p.get(key) ?? 0) + c;
  if (v === 0) p.delete(key);
  else p.set(key, v);
}

function add(a: Poly, b: Poly, sign = 1): Poly {
  const out = new Map(a);
  for (const [k, c] of b) addTo(out, k, sign * c);
  return out;
}

function atomsOf(key: string): string[] {
  return key === "" ? [] : splitTop(key, "*");
}

function mulKeys(a: string, b: string): string {
  return [...atomsOf(a), ...atomsOf(b)].sort().join("*");
}

function mul(a: Poly, b: Poly): Poly {
  const out: Poly = new Map();
  for (const [ka, ca] of a) for (const [kb, cb] of b) addTo(out, mulKeys(ka, kb), ca * cb);
  return out;
}

/** floor(p / k) for an integer k >= 1, normalised (see the header). */
function floorDiv(p: Poly, k: number): Poly {
  if (k === 1) return p;
  const q: Poly = new Map();
  const r: Poly = new Map();
  for (const [key, c] of p) {
    const rem = ((c % k) + k) % k;
    addTo(q, key, (c - rem) / k);
    addTo(r, key, rem);
  }
  const rc = r.get("") ?? 0;
  if (r.size === 0 || (r.size === 1 && rc !== 0)) return q; // 0 <= rc < k: floor(rc / k) = 0
  const text = print(r);
  addTo(q, SYMBOL.test(text) ? `${text}/${k}` : `(${text})/${k}`, 1);
  return q;
}

/** p / q when q divides p exactly as polynomials (q a constant or one monomial); else undefined. */
function exactDiv(p: Poly, q: Poly): Poly | undefined {
  if (q.size === 0) return undefined;
  if (q.size !== 1) return p.size === 0 ? p : equalPoly(p, q) ? constant(1) : undefined;
  const [[qk, qc]] = [...q];
  const qa = atomsOf(qk!);
  const out: Poly = new Map();
  for (const [key, c] of p) {
    if (c % qc! !== 0) return undefined;
    const atoms = atomsOf(key);
    for (const a of qa) {
      const at = atoms.indexOf(a);
      if (at < 0) return undefined;
      atoms.splice(at, 1);
    }
    addTo(out, atoms.join("*"), c / qc!);
  }
  return out;
}

function equalPoly(a: Poly, b: Poly): boolean {
  return a.size === b.size && [...a].every(([k, c]) => b.get(k) === c);
}

/** The canonical text of a polynomial (see the header). */
function print(p: Poly): string {
  if (p.size === 0) return "0";
  const terms = [...p].sort(([ka], [kb]) => {
    const da = atomsOf(ka).length;
    const db = atomsOf(kb).length;
    if (da !== db) return db - da;
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
  let text = "";
  for (const [key, c] of terms) {
    const atoms = atomsOf(key);
    const wrap = atoms.length > 1 || Math.abs(c) !== 1;
    const body = atoms.map((a) => (wrap && a.includes("/") ? `(${a})` : a)).join("*");
    const mag = Math.abs(c);
    const term = key === "" ? String(mag) : mag === 1 ? body : `${mag}*${body}`;
    text += c < 0 ? `-${term}` : text === "" ? term : `+${term}`;
  }
  return text;
}

/** Splits at `sep` outside parentheses. */
function splitTop(s: string, sep: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === "(") depth++;
    else if (s[i] === ")") depth--;
    else if (s[i] === sep && depth === 0) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  out.push(s.slice(start));
  return out;
}

// ---------------------------------------------------------------- dims ↔ polynomials

function toPoly(d: DimT): Poly | undefined {
  if (typeof d === "number") return constant(d);
  if (d === "?") return undefined;
  if (SYMBOL.test(d)) return new Map([[d, 1]]);
  return parseDim(d);
}

function toDim(p: Poly): DimT {
  if (p.size === 0) return 0;
  if (p.size === 1) {
    const [[k, c]] = [...p];
    if (k === "") return c!;
    if (c === 1 && SYMBOL.test(k!)) return k!;
  }
  return print(p);
}

/**
 * Parses dim text (`C*H*W`, `(H + 1) / 2`, `2 * N - 1`: integers, symbols, `+ - *`, `/` by a
 * positive constant, parentheses) into its polynomial; undefined if it is not such text. `/` is
 * floor division, and a `-` that opens a sum negates its whole first term.
 */
function parseDim(text: string): Poly | undefined {
  const tokens = text.match(new RegExp(`\\d+|${NAME}|[-+*/()]|\\S`, "g")) ?? [];
  let at = 0;
  // A leading `-` negates the first term (`-C/2` is −floor(C/2)), as in the printed form.
  const sum = (): Poly | undefined => {
    const negate = tokens[at] === "-" ? (at++, true) : false;
    let p = product();
    if (p !== undefined && negate) p = add(new Map(), p, -1);
    while (p !== undefined && (tokens[at] === "+" || tokens[at] === "-")) {
      const sign = tokens[at++] === "+" ? 1 : -1;
      const q = product();
      p = q === undefined ? undefined : add(p, q, sign);
    }
    return p;
  };
  const product = (): Poly | undefined => {
    let p = unary();
    while (p !== undefined && (tokens[at] === "*" || tokens[at] === "/")) {
      const op = tokens[at++];
      const q = unary();
      if (q === undefined) return undefined;
      if (op === "*") p = mul(p, q);
      else {
        const k = q.size === 0 ? 0 : q.size === 1 ? q.get("") : undefined;
        if (k === undefined || k < 1) return undefined;
        p = floorDiv(p, k);
      }
    }
    return p;
  };
  const unary = (): Poly | undefined => {
    const t = tokens[at++];
    if (t === undefined) return undefined;
    if (t === "(") {
      const p = sum();
      return tokens[at++] === ")" ? p : undefined;
    }
    if (/^\d+$/.test(t)) return constant(Number(t));
    if (SYMBOL.test(t)) return new Map([[t, 1]]);
    return undefined;
  };
  const p = sum();
  return at === tokens.length ? p : undefined;
}

/** The canonical dim of dim text (see {@link parseDim}); undefined if it is not dim text. */
export function normaliseDim(text: string): DimT | undefined {
  const p = parseDim(text);
  return p === undefined ? undefined : toDim(p);
}

// ---------------------------------------------------------------- arithmetic on dims

function lift(f: (a: Poly, b: Poly) => Poly | undefined): (a: DimT, b: DimT) => DimT | undefined {
  return (a, b) => {
    const pa = toPoly(a);
    const pb = toPoly(b);
    if (pa === undefined || pb === undefined) return "?";
    const r = f(pa, pb);
    return r === undefined ? undefined : toDim(r);
  };
}

/** a + b; `?` if either is unknown. */
export const dimAdd = lift((a, b) => add(a, b)) as (a: DimT, b: DimT) => DimT;
/** a − b; `?` if either is unknown. */
export const dimSub = lift((a, b) => add(a, b, -1)) as (a: DimT, b: DimT) => DimT;
/** a · b; `?` if either is unknown. */
export const dimMul = lift(mul) as (a: DimT, b: DimT) => DimT;

/** floor(a / k) for a whole number k >= 1; `?` if a is unknown. */
export function dimFloorDiv(a: DimT, k: number): DimT {
  if (!Number.isInteger(k) || k < 1) throw new Error(`estc internal error: dim divisor ${k}`);
  const p = toPoly(a);
  return p === undefined ? "?" : toDim(floorDiv(p, k));
}

/**
 * a / b when b divides a exactly for every value of the symbols (a numeric quotient that is a
 * whole number, or polynomial division by one monomial: `P*N*T / T` is `P*N`); undefined when
 * it does not, `?` when either is unknown. Used to infer a reshape's `-1` and to solve `k*N`.
 */
export const dimExactDiv = lift(exactDiv);

/** The product of dims (an element count); `?` if any is unknown. */
export function dimProduct(dims: readonly DimT[]): DimT {
  return dims.reduce<DimT>((acc, d) => dimMul(acc, d), 1);
}

/** Substitutes symbols (`N` → 4, `N` → `2*M`) and renormalises; unknown symbols stay. */
export function substituteDim(d: DimT, value: (symbol: string) => DimT | undefined): DimT {
  if (typeof d === "number" || d === "?") return d;
  const syms = dimSymbols(d);
  if (!syms.some((s) => value(s) !== undefined)) return d;
  const text = d.replace(SYMBOLS, (s) => {
    const v = value(s);
    return v === undefined ? s : `(${v === "?" ? "?" : v})`;
  });
  if (text.includes("?")) return "?";
  return normaliseDim(text) ?? "?";
}

/** The value of a dim given every symbol's value; undefined if a symbol has none. */
export function evaluateDim(d: DimT, value: (symbol: string) => number | undefined): number | undefined {
  const r = substituteDim(d, value);
  return typeof r === "number" ? r : undefined;
}

/**
 * Solves `d = got` for the one symbol of d that `known` does not give, when d is linear in it
 * (`k*N + c`, k ≠ 0): the solution `(got − c) / k` as a dim, or undefined when d is not of that
 * form or the division is not exact. Binds `N` from an argument of type `f32[2 * N]`.
 */
export function solveLinear(d: DimT, got: DimT, known: (symbol: string) => boolean): { symbol: string; dim: DimT } | undefined {
  const free = dimSymbols(d).filter((s) => !known(s));
  if (free.length !== 1 || typeof d !== "string") return undefined;
  const symbol = free[0]!;
  const p = toPoly(d);
  if (p === undefined) return undefined;
  // Linear: the symbol appears only in the monomial that is exactly it, outside any division.
  const k = p.get(symbol);
  const mentions = (key: string) => atomsOf(key).some((a) => a === symbol || dimSymbols(a).includes(symbol));
  if (k === undefined || [...p.keys()].some((key) => key !== symbol && mentions(key))) return undefined;
  const rest = new Map(p);
  rest.delete(symbol);
  const g = toPoly(got);
  if (g === undefined) return { symbol, dim: "?" };
  const q = exactDiv(add(g, rest, -1), constant(k));
  return q === undefined ? undefined : { symbol, dim: toDim(q) };
}

/**
 * The output size of a convolution or pooling window along one axis, as PyTorch computes it:
 * floor((h + 2·padding − dilation·(kernel − 1) − 1) / stride) + 1. A number when h is known
 * (it may be ≤ 0: the caller reports that), else a canonical dim such as `(H+1)/2+1`.
 */
export function convOutDim(h: DimT, kernel: number, stride: number, padding: number, dilation: number): DimT {
  const span = dilation * (kernel - 1) + 1;
  if (typeof h === "number") return Math.floor((h + 2 * padding - span) / stride) + 1;
  return dimAdd(dimFloorDiv(dimAdd(h, 2 * padding - span), stride), 1);
}
