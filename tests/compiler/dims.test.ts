import { describe, expect, it } from "vitest";
import {
  convOutDim,
  dimAdd,
  dimExactDiv,
  dimFloorDiv,
  dimMul,
  dimProduct,
  dimSub,
  dimSymbols,
  evaluateDim,
  isDimExpr,
  normaliseDim,
  solveLinear,
  substituteDim,
} from "../../compiler/dims.js";
import { elementCount } from "../../compiler/types.js";
import { mulberry32 } from "../../examples/lib/data.js";

/** A deterministic pseudo-random generator. */
const rng = mulberry32;

describe("canonical dims", () => {
  it("gives one string for one polynomial, whatever the order written", () => {
    expect(normaliseDim("C * H * W")).toBe("C*H*W");
    expect(normaliseDim("W*H*C")).toBe("C*H*W");
    expect(dimMul(dimMul("W", "H"), "C")).toBe(dimMul("C", dimMul("H", "W")));
    expect(normaliseDim("2 * N")).toBe("2*N");
    expect(normaliseDim("N + N")).toBe("2*N");
    expect(normaliseDim("N - N")).toBe(0);
    expect(normaliseDim("3 * 4")).toBe(12);
    expect(normaliseDim("(B)")).toBe("B");
    expect(normaliseDim("1 + H - 2 * K")).toBe("H-2*K+1");
    expect(normaliseDim("P * N")).toBe(dimMul("N", "P"));
  });

  it("reduces floor division by a constant to a quotient and an atom with reduced coefficients", () => {
    expect(normaliseDim("(2 * N + 1) / 2")).toBe("N");
    expect(normaliseDim("(4 * N) / 2")).toBe("2*N");
    expect(normaliseDim("H / 2")).toBe("H/2");
    expect(normaliseDim("(H - 1) / 2")).toBe("(H+1)/2-1");
    expect(normaliseDim("(H + 3) / 2")).toBe("(H+1)/2+1");
    expect(normaliseDim("2 * ((H + 1) / 2)")).toBe("2*((H+1)/2)");
    expect(dimFloorDiv(7, 2)).toBe(3);
    expect(dimFloorDiv("H", 1)).toBe("H");
  });

  it("rejects text that is not dim arithmetic", () => {
    for (const bad of ["", "N +", "N / M", "N / 0", "(N", "N)", "N ^ 2", "1.5", "N / -2"]) expect(normaliseDim(bad)).toBeUndefined();
  });

  it("tells plain symbols from expressions", () => {
    expect(isDimExpr("B")).toBe(false);
    expect(isDimExpr("?")).toBe(false);
    expect(isDimExpr(3)).toBe(false);
    expect(isDimExpr("C*H")).toBe(true);
    expect(dimSymbols("(H+1)/2+C*H")).toEqual(["C", "H"]);
  });

  it("keeps ? unknown through arithmetic", () => {
    expect(dimAdd("?", 1)).toBe("?");
    expect(dimMul("N", "?")).toBe("?");
    expect(elementCount(["B", "?"])).toBeNull();
    expect(elementCount(null)).toBeNull();
  });

  it("evaluates the normal form to the value of the expression it came from (random trees)", () => {
    const next = rng(7);
    const symbols = ["B", "C", "H", "W"];
    type Tree = { text: string; value: (env: Record<string, number>) => number };
    const tree = (depth: number): Tree => {
      const r = next();
      if (depth === 0 || r < 0.25) {
        if (next() < 0.5) {
          const k = Math.floor(next() * 6);
          return { text: String(k), value: () => k };
        }
        const s = symbols[Math.floor(next() * symbols.length)]!;
        return { text: s, value: (env) => env[s]! };
      }
      const a = tree(depth - 1);
      if (r < 0.4) {
        const k = 1 + Math.floor(next() * 4);
        return { text: `(${a.text}) / ${k}`, value: (env) => Math.floor(a.value(env) / k) };
      }
      const b = tree(depth - 1);
      const op = ["+", "-", "*"][Math.floor(next() * 3)]!;
      const f = op === "+" ? (x: number, y: number) => x + y : op === "-" ? (x: number, y: number) => x - y : (x: number, y: number) => x * y;
      return { text: `(${a.text}) ${op} (${b.text})`, value: (env) => f(a.value(env), b.value(env)) };
    };
    for (let t = 0; t < 300; t++) {
      const e = tree(4);
      const d = normaliseDim(e.text);
      expect(d, e.text).toBeDefined();
      // The canonical text is itself dim text with the same normal form.
      expect(normaliseDim(String(d)), `${e.text} -> ${d}`).toBe(d);
      for (let k = 0; k < 5; k++) {
        const env = Object.fromEntries(symbols.map((s) => [s, Math.floor(next() * 40) - 10]));
        expect(evaluateDim(d!, (s) => env[s]), `${e.text} -> ${d} at ${JSON.stringify(env)}`).toBe(e.value(env) + 0); // + 0: -0 and 0 are one size
      }
    }
  });

  it("counts elements as a polynomial, so merged and split shapes agree", () => {
    expect(elementCount(["B", "C", "H", "W"])).toBe(elementCount(["B", normaliseDim("W * H * C")!]));
    expect(elementCount(["P", "N", "T"])).toBe(elementCount([dimMul("P", "N"), "T"]));
    expect(elementCount([2, "N", 3])).toBe("6*N");
    expect(elementCount(["N", "N"])).not.toBe(elementCount(["N", 2]));
    expect(dimProduct([])).toBe(1);
  });

  it("divides exactly or says it cannot", () => {
    expect(dimExactDiv(elementCount(["P", "N", "T"])!, "T")).toBe("N*P");
    expect(dimExactDiv("6*N", 3)).toBe("2*N");
    expect(dimExactDiv(12, 5)).toBeUndefined();
    expect(dimExactDiv("N", 4)).toBeUndefined();
    expect(dimExactDiv("N", 0)).toBeUndefined();
    expect(dimExactDiv("N+1", "N+1")).toBe(1);
    expect(dimExactDiv("?", 2)).toBe("?");
  });

  it("substitutes symbols and renormalises", () => {
    expect(substituteDim("C*H*W", (s) => (s === "H" ? 4 : undefined))).toBe("4*C*W");
    expect(substituteDim("2*N", (s) => (s === "N" ? dimAdd("M", 1) : undefined))).toBe("2*M+2");
    expect(substituteDim("(H+1)/2", (s) => (s === "H" ? 9 : undefined))).toBe(5);
    expect(evaluateDim("C*H", (s) => (s === "C" ? 2 : undefined))).toBeUndefined();
    expect(dimSub("N", "N")).toBe(0);
  });

  it("solves linear dims for their one unbound symbol", () => {
    expect(solveLinear("2*N", 8, () => false)).toEqual({ symbol: "N", dim: 4 });
    expect(solveLinear("2*N", 7, () => false)).toBeUndefined();
    expect(solveLinear("2*N+1", 7, () => false)).toEqual({ symbol: "N", dim: 3 });
    expect(solveLinear("2*N", "4*M", () => false)).toEqual({ symbol: "N", dim: "2*M" });
    expect(solveLinear("K*N", 12, (s) => s === "K")).toBeUndefined(); // K*N is not k*N with a number k
    expect(solveLinear("N*N", 9, () => false)).toBeUndefined();
    expect(solveLinear("N+M", 9, () => false)).toBeUndefined();
    expect(solveLinear("N+M", 9, (s) => s === "M")).toEqual({ symbol: "N", dim: dimSub(9, "M") });
    expect(solveLinear("NB+N", 4, (s) => s === "NB")).toEqual({ symbol: "N", dim: dimSub(4, "NB") });
  });
});

describe("convOutDim", () => {
  /** PyTorch's Conv2d output size, written out independently. */
  const torchOut = (h: number, k: number, s: number, p: number, d: number) => Math.floor((h + 2 * p - d * (k - 1) - 1) / s) + 1;

  it("matches PyTorch's formula for known sizes", () => {
    expect(convOutDim(28, 3, 1, 1, 1)).toBe(28);
    expect(convOutDim(28, 2, 2, 0, 1)).toBe(14);
    expect(convOutDim(28, 5, 1, 0, 1)).toBe(24);
    expect(convOutDim(7, 3, 2, 1, 2)).toBe(3);
    expect(convOutDim(2, 5, 1, 0, 1)).toBe(-2); // the caller reports a size below 1
  });

  it("gives a symbolic size that evaluates to the formula at every H", () => {
    for (const [k, s, p, d] of [[3, 1, 1, 1], [3, 2, 1, 1], [2, 2, 0, 1], [5, 3, 2, 2], [1, 1, 0, 1], [3, 4, 0, 1]] as const) {
      const out = convOutDim("H", k, s, p, d);
      expect(typeof out).toBe("string");
      for (let h = d * (k - 1) + 1; h < 60; h++) expect(evaluateDim(out, () => h), `H=${h} k=${k} s=${s} p=${p} d=${d}: ${out}`).toBe(torchOut(h, k, s, p, d));
    }
    expect(convOutDim("H", 3, 1, 1, 1)).toBe("H");
    expect(convOutDim("H", 2, 2, 0, 1)).toBe("H/2");
    expect(convOutDim("H", 3, 2, 1, 1)).toBe("(H+1)/2");
  });
});
