/**
 * The generated Wasm SIMD elementwise kernels (compiler/codegen/wasm/) against the TypeScript
 * kernels of the same module: bit for bit where the op is exact in f32 (arithmetic, comparisons,
 * selects, roundings, sign and its estimators' masks), within the ulp bounds of docs/language.md
 * for the approximated functions, at sizes that leave a 1–3 element tail, with the special
 * values (±0, ±Infinity, NaN, f32 edges of literals) in the data.
 */
import { describe, expect, it } from "vitest";
import { cpu, tensor, type Tensor } from "estc/runtime";
import { buildModule } from "../helpers/build.js";
import { ulps } from "../helpers/expect.js";

const wasm = cpu({ kernels: "wasm" });
const ts = cpu({ kernels: "ts" });

const specials = [0, -0, 1, -1, 0.5, -0.5, 1.5, 2.5, -2.5, Infinity, -Infinity, NaN, 1e-40, -1e-40, 3e38, -3e38, Math.fround(0.1), 0.1, 88.7, -87.5, -103, 100, -100, 1e-7];

/** `n` values: the specials first, then a spread over ±20 (deterministic). */
function data(n: number, seed = 1): Float32Array {
  const a = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) | 0;
    a[i] = i < specials.length ? specials[i]! : ((s >>> 0) / 2 ** 32 - 0.5) * 40;
  }
  return a;
}


async function both(src: string, name: string, ins: Record<string, Float32Array>, scalars: Record<string, number> = {}): Promise<{ w: Float32Array; t: Float32Array; spec: any }> {
  const { mod } = await buildModule(src);
  const f = mod[name];
  const run = async (device: typeof wasm) => {
    const args: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(ins)) args[k] = tensor(v, [v.length]);
    const out = (await f.forward(args, { ...scalars, device })) as Tensor;
    return (await out.data()) as Float32Array;
  };
  return { w: await run(wasm), t: await run(ts), spec: f.spec };
}

/** Unary expressions of x whose Wasm result is bit-identical to the TS kernel's. */
const exact = ["-x", "abs(x)", "sign(x)", "signum(x)", "relu(x)", "floor(x)", "ceil(x)", "round(x)", "step(x)", "sqrt(x)", "x * 3.0 + 0.1", "x / 3.0", "min(x, 0.25)", "max(x, -0.25)", "clamp(x, -1.0, 1.0)",
  "select(x <= 0.1, x, 2.0 * x)", "select(x < 0.1, 1.0, 0.0)", "select(x == 0.1, 1.0, 0.0)", "select(x != 0.1, 1.0, 0.0)", "select(x >= 1.0, 1.0, 0.0)", "select(abs(x) <= 1.0 && x > 0.0, x, 0.0)", "select(!(x > 0.0) || x == 2.5, 1.0, 0.0)", "(x > 0.5) * x"];
/** Approximated functions: the most ulps the Wasm kernel may differ from the TS kernel (Math.* in f64, rounded once). */
/** pow: its error grows with |b·ln a| (the log's error is scaled by b and exponentiated); see the f64 test below. */
const approx: [string, number][] = [["exp(x)", 2], ["log(x)", 2], ["log1p(x)", 2], ["tanh(x)", 3], ["sigmoid(x)", 3], ["softplus(x)", 3], ["rsqrt(x)", 1], ["pow(abs(x), 1.5)", 16], ["pow(sqrt(abs(x)), -2.5)", 16], ["pow(relu(x), x)", 64]];

describe("Wasm elementwise kernels", () => {
  for (const n of [1, 3, 4, 7, 1027]) {
    it(`exact ops agree bit for bit with the TS kernels at n = ${n}`, async () => {
      const src = exact.map((e, i) => `fn f${i}(x: f32[N]) -> f32[N] {\n  return ${e}\n}`).join("\n");
      const x = data(Math.max(n, 1), n);
      const { mod } = await buildModule(src);
      for (let i = 0; i < exact.length; i++) {
        const f = mod[`f${i}`];
        expect(f.spec.wasm?.kernels.some((k: unknown) => k !== null), exact[i]).toBe(true);
        const w = (await (await f.forward({ x: tensor(x.slice(0, n), [n]) }, { device: wasm })).data()) as Float32Array;
        const t = (await (await f.forward({ x: tensor(x.slice(0, n), [n]) }, { device: ts })).data()) as Float32Array;
        for (let j = 0; j < n; j++) expect(ulps(w[j]!, t[j]!), `${exact[i]} at x = ${x[j]}: wasm ${w[j]}, ts ${t[j]}`).toBe(0);
        // -0 and +0 too.
        for (let j = 0; j < n; j++) if (w[j] === 0) expect(Object.is(w[j], t[j]), `${exact[i]} sign of zero at x = ${x[j]}`).toBe(true);
      }
    });
  }

  it("approximated functions stay within their ulp bounds of the TS kernels", async () => {
    const n = 4099;
    const x = data(n, 7);
    for (const [e, bound] of approx) {
      const { w, t, spec } = await both(`fn f(x: f32[N]) -> f32[N] {\n  return ${e}\n}`, "f", { x });
      expect(spec.wasm.kernels[0]).not.toBeNull();
      let worst = 0;
      for (let j = 0; j < n; j++) {
        // Below the smallest normal an ulp is an absolute 2^-149: compare those absolutely.
        const d = Math.abs(t[j]!) < 2 ** -126 && Math.abs(w[j]!) < 2 ** -126 ? Math.abs(w[j]! - t[j]!) / 2 ** -149 : ulps(w[j]!, t[j]!);
        worst = Math.max(worst, d);
        expect(d, `${e} at x = ${x[j]}: wasm ${w[j]}, ts ${t[j]}`).toBeLessThanOrEqual(bound);
      }
    }
  });

  it("a two-input chain with a runtime scalar agrees with the TS kernel (the bench's 4-op chain)", async () => {
    const src = "fn chain(x: f32[N], y: f32[N], s: f32 = 1.5) -> f32[N] {\n  return tanh(clamp(x * s, -1.0, 1.0)) * y\n}";
    const x = data(1031, 3);
    const y = data(1031, 5);
    const { w, t, spec } = await both(src, "chain", { x, y }, { s: 0.75 });
    expect(spec.wasm.kernels.filter((k: unknown) => k !== null).length).toBeGreaterThan(0);
    for (let j = 0; j < x.length; j++) expect(ulps(w[j]!, t[j]!), `x = ${x[j]}, y = ${y[j]}`).toBeLessThanOrEqual(4);
  });

  it("ClippedSTE's and ReSTE's backward are exact at the window edges and sign(0) = +1", async () => {
    const src = `import { ClippedSTE, ReSTE } from "std/binary"
fn clipped(x: f32[N]) -> f32[N] {
  return sign x backward ClippedSTE(t = 1.0)
}
fn reste(x: f32[N], o: f32 = 3.0) -> f32[N] {
  return sign x backward ReSTE(o = o)
}`;
    const { mod } = await buildModule(src);
    const x = Float32Array.from([-1, 1, -0, 0, Math.fround(1 + 2 ** -23), -Math.fround(1 + 2 ** -23), 0.5, -2, 1e-30]);
    const ct = tensor(Float32Array.from(x, (_, i) => i + 1), [x.length]);
    for (const name of ["clipped", "reste"]) {
      const f = mod[name];
      const fwd = (dev: typeof wasm) => f.forward({ x: tensor(x, [x.length]) }, { device: dev }).then((t: Tensor) => t.data());
      const bwd = (dev: typeof wasm) => f.vjp({ x: tensor(x, [x.length]) }, ct, { device: dev }).then((g: Record<string, Tensor>) => g["x"]!.data());
      expect(Array.from(await fwd(wasm)).slice(0, 4)).toEqual([-1, 1, 1, 1]);
      expect(Array.from(await bwd(wasm)), `${name} backward`).toEqual(Array.from(await bwd(ts)));
      expect(f.spec.wasm.kernels.some((k: unknown) => k !== null)).toBe(true);
    }
    // |x| == t is inside ClippedSTE's window: the cotangent passes there and not one f32 beyond.
    const g = (await mod["clipped"].vjp({ x: tensor(x, [x.length]) }, ct, { device: wasm }).then((r: Record<string, Tensor>) => r["x"]!.data())) as Float32Array;
    expect(Array.from(g.slice(0, 6))).toEqual([1, 2, 3, 4, 0, 0]);
  });

  it("bit-packed bool residuals: vjpFn's mask written and read back agree with the TS kernels at every tail length", async () => {
    const src = `import { ClippedSTE } from "std/binary"
fn clipped(x: f32[N]) -> f32[N] {
  return sign x backward ClippedSTE(t = 1.0)
}
fn mask(x: f32[N]) -> bool[N] {
  return abs(x) <= 1.0
}`;
    const { mod } = await buildModule(src);
    // Every kernel of both fns has a Wasm form: the residual mask is a packed bool buffer.
    for (const name of ["clipped", "mask"]) expect(mod[name].spec.wasm.kernels.every((k: unknown) => k !== null), name).toBe(true);
    for (const n of [1, 3, 31, 32, 33, 64, 100, 1027]) {
      const x = data(n, n + 11).map((v, i) => (i % 5 === 0 ? v / 10 : v));
      const ct = tensor(Float32Array.from(x, (_, i) => i + 1), [n]);
      const run = async (device: typeof wasm) => {
        const r = await mod["clipped"].vjpFn({ x: tensor(x, [n]) }, { device });
        const g = (await r.pullback(ct))["x"] as Tensor;
        const m = (await mod["mask"].forward({ x: tensor(x, [n]) }, { device })) as Tensor;
        return { out: Array.from(await r.out.data()), g: Array.from(await g.data()), m: Array.from(await m.data()) };
      };
      const [w, t] = [await run(wasm), await run(ts)];
      expect(w, `n = ${n}`).toEqual(t);
      // And against the formula: the cotangent where |x| <= 1, else 0.
      expect(w.g, `n = ${n}`).toEqual(Array.from(x, (v, i) => (Math.abs(v) <= 1 ? i + 1 : 0)));
    }
  });

  it("pow(a, b) of a base >= 0 is within 1e-5 relative of f64 wherever the result is a normal f32", async () => {
    const src = "fn p(x: f32[N], e: f32 = 1.5) -> f32[N] {\n  return pow(abs(x), e)\n}";
    const { mod } = await buildModule(src);
    const n = 1 << 16;
    const x = Float32Array.from({ length: n }, (_, i) => Math.fround(2 ** (-30 + (60 * i) / n)));
    let worst = 0;
    for (const e of [1.5, -2 / 3, 3, -0.5, 10, -3.3]) {
      const y = (await (await mod["p"].forward({ x: tensor(x, [n]) }, { e, device: wasm })).data()) as Float32Array;
      for (let i = 0; i < n; i++) {
        const want = Math.pow(x[i]!, Math.fround(e));
        if (!(Math.abs(want) >= 2 ** -126 && Math.abs(want) < 3.4e38)) continue;
        worst = Math.max(worst, Math.abs(y[i]! - want) / want);
      }
    }
    expect(worst).toBeLessThan(1e-5);
  });

  it("a pow hoisted out of the loop is Math.pow's, bit for bit (2^3 - 1 levels are exactly 7)", async () => {
    const src = "fn q(x: f32[N], s: f32 = 3.0) -> f32[N] {\n  return floor(x * (pow(2.0, s) - 1.0)) / (pow(2.0, s) - 1.0) + pow(0.1, 1.0 / s)\n}";
    for (const s of [3, 0.5, 7]) {
      const { w, t, spec } = await both(src, "q", { x: data(1031, 9) }, { s });
      expect(spec.wasm.kernels[0]).not.toBeNull();
      expect(Array.from(w), `s = ${s}`).toEqual(Array.from(t));
    }
  });

  it("kernels the Wasm generator does not compile (sin, pow of a base that may be negative) run their TS form", async () => {
    const { w, t, spec } = await both("fn f(x: f32[N]) -> f32[N] {\n  return pow(x, 2.0) + sin(x)\n}", "f", { x: data(9) });
    expect(spec.wasm === undefined || spec.wasm.kernels.every((k: unknown) => k === null)).toBe(true);
    expect(Array.from(w)).toEqual(Array.from(t));
  });
});
