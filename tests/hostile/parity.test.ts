/**
 * Hostile inputs for "CPU ≡ WebGPU" (issue 17, items 8 and 10): i32 values above 2^24, f32
 * overflow, division by zero, NaN and Inf through every op whose result docs/language.md
 * ("Numerics") fixes, normal draws, out-of-range literals and defaults. Each case runs the same
 * generated module on `cpu()` and on a WebGPU device and checks both against a value derived
 * here by hand (integer wrapping by Math.imul and `| 0`, IEEE rules), not against each other only.
 */
import { describe, expect, it } from "vitest";
import { checkFiles } from "../../compiler/pipeline.js";
import { normalFromWords } from "../../runtime/normal.js";
import { fillWords, uniform01, uniformOpen01 } from "../../runtime/philox.js";
import { run } from "../helpers/backends.js";
import { compileFn, memoryHost } from "../helpers/compile.js";

const DEVICES = ["cpu", "webgpu"] as const;
const f32 = Math.fround;

/** Element-wise equality that treats NaN as equal to NaN and tells +0 from -0 only where asked. */
function same(got: number[], want: number[], what: string): void {
  const bad = want.findIndex((w, i) => !(Object.is(got[i], w) || (w === 0 && got[i] === 0) || (Number.isNaN(w) && Number.isNaN(got[i]!))));
  if (bad >= 0) expect.fail(`${what}[${bad}]: got ${got[bad]}, want ${want[bad]} (all: ${got.join(", ")})`);
}

/** |got - want| <= 1e-5·|want| + 1e-6 element-wise, specials equal. */
function close(got: number[], want: number[], what: string): void {
  const bad = want.findIndex((w, i) => {
    const g = got[i]!;
    if (!Number.isFinite(w)) return !(Object.is(g, w) || (Number.isNaN(w) && Number.isNaN(g)));
    return !(Math.abs(g - w) <= 1e-5 * Math.abs(w) + 1e-6);
  });
  if (bad >= 0) expect.fail(`${what}[${bad}]: got ${got[bad]}, want ${want[bad]}`);
}

const INTS = `
fn inc(i: i32[N]) -> i32[N] { return i + 1 }
fn wrap(i: i32[N]) -> i32[N] { return i * 3 - 7 }
fn neg(i: i32[N]) -> i32[N] { return -i - i }
fn fmod(i: i32[N], j: i32[N]) -> i32[N] { return i % j }
fn pos(x: f32[N]) -> i32[N] { return iota([N]) * 16777216 + 3 }
fn big(i: i32[N], k: i32 = 1) -> i32[N] { return i + k }
fn same24(i: i32[N]) -> bool[N] { return i + 1 == i }
fn back(i: i32[N]) -> f32[N] { return i * 1.0 }
`;

describe("i32 stays i32 on both back ends, wrapping modulo 2^32", () => {
  const above = [16777216, 16777217, 2147483647, -2147483648, 33554433, -16777217, 0, 123456789];
  const I = { data: above, shape: [above.length], dtype: "i32" as const };
  for (const device of DEVICES) {
    it(`${device}: + - * and negation above 2^24`, async () => {
      same((await run(device, INTS, "inc", { i: I })).outputs[0]!, above.map((v) => (v + 1) | 0), "i + 1");
      same((await run(device, INTS, "wrap", { i: I })).outputs[0]!, above.map((v) => (Math.imul(v, 3) - 7) | 0), "i * 3 - 7");
      same((await run(device, INTS, "neg", { i: I })).outputs[0]!, above.map((v) => (-v - v) | 0), "-i - i");
      // i + 1 == i never holds in i32 (it did at 2^24 when the GPU computed through f32).
      same((await run(device, INTS, "same24", { i: I })).outputs[0]!, above.map(() => 0), "i + 1 == i");
    });
    it(`${device}: floored % with negative operands and x % 0 = 0`, async () => {
      const i = [7, -7, 7, -7, 2147483647, -2147483648, 5, -2147483648];
      const j = [3, 3, -3, -3, 16777216, -1, 0, 3];
      const want = i.map((a, k) => (j[k] === 0 ? 0 : (((a % j[k]!) + j[k]!) % j[k]!) | 0));
      expect(want.slice(0, 4)).toEqual([1, 2, -2, -1]);
      same((await run(device, INTS, "fmod", { i: { data: i, shape: [8], dtype: "i32" }, j: { data: j, shape: [8], dtype: "i32" } })).outputs[0]!, want, "i % j");
    });
    it(`${device}: iota and an i32 scalar option above 2^24`, async () => {
      same((await run(device, INTS, "pos", { x: { data: [0, 0, 0, 0], shape: [4] } })).outputs[0]!, [3, 16777219, 33554435, 50331651], "iota * 2^24 + 3");
      const r = await run(device, INTS, "big", { i: { data: [1, 2], shape: [2], dtype: "i32" } }, { scalars: { k: 16777217 } });
      same(r.outputs[0]!, [16777218, 16777219], "i + k");
    });
    it(`${device}: i32 → f32 rounds to the nearest f32`, async () => {
      same((await run(device, INTS, "back", { i: I })).outputs[0]!, above.map((v) => f32(v)), "f32(i)");
    });
  }
});

const FLOATS = `
fn logistic(x: f32[N]) -> f32[N] { return exp(x) / (1 + exp(x)) }
fn div(x: f32[N], y: f32[N]) -> f32[N] { return x / y }
fn divzero(x: f32[N]) -> f32[N] { return x / 0.0 }
fn specials(x: f32[N]) -> (f32[N], f32[N], f32[N], f32[N]) { return (exp(x), log(x), sqrt(x), rsqrt(x)) }
fn nan_ops(x: f32[N]) -> (f32[N], f32[N], f32[N], f32[N], f32[N], f32[N]) {
  return (sign(x), step(x), max(x, 0.0), min(x, 0.0), relu(x), clamp(x, -1, 1))
}
fn nan_more(x: f32[N]) -> (f32[N], f32[N], f32[N], f32[N], f32[N], f32[N]) {
  return (signum(x), tanh(x), x + 1, x * 0.5, sigmoid(x), softplus(x))
}
fn compare(x: f32[N]) -> (bool[N], bool[N], bool[N], f32[N]) { return (x > 0, x != x, x == x, select(x, 1.0, 2.0)) }
fn fma_chain(a: f32[N], b: f32[N], c: f32[N]) -> f32[N] { return (a * b + c) * (a - c) + b * b }
fn folds(x: f32[N]) -> (f32[N], f32[N]) { return (relu(x) * 0.0, x - x) }
`;

const X = [100, -100, 0, -0, NaN, Infinity, -Infinity, 1, -1, 88.72284, 88.72283, 0.5];

describe("f32 results, overflow, division by zero and NaN are the same on both back ends", () => {
  for (const device of DEVICES) {
    it(`${device}: exp(x)/(1+exp(x)) overflows to Inf/Inf = NaN at x = 100, as f32 does`, async () => {
      const want = X.map((v) => {
        const e = f32(Math.exp(v));
        return f32(e / f32(1 + e));
      });
      expect(want[0]).toBeNaN();
      close((await run(device, FLOATS, "logistic", { x: { data: X, shape: [X.length] } })).outputs[0]!, want, "logistic");
    });
    it(`${device}: x/0 is ±Inf by the signs, 0/0 and NaN/0 are NaN, finite/Inf is ±0`, async () => {
      const x = [1, -1, 1, -1, 0, -0, NaN, Infinity, 3, -3, Infinity, 0];
      const y = [0, 0, -0, -0, 0, -0, 0, 0, Infinity, Infinity, Infinity, 5];
      const want = x.map((a, i) => f32(a / y[i]!));
      expect(want.slice(0, 4)).toEqual([Infinity, -Infinity, -Infinity, Infinity]);
      same((await run(device, FLOATS, "div", { x: { data: x, shape: [12] }, y: { data: y, shape: [12] } })).outputs[0]!, want, "x / y");
      same((await run(device, FLOATS, "divzero", { x: { data: x, shape: [12] } })).outputs[0]!, x.map((a) => a / 0), "x / 0.0");
    });
    it(`${device}: exp overflow and underflow, log/sqrt/rsqrt at 0, below 0, at Inf and NaN`, async () => {
      const x = [88.72284, 88.72283, 200, -200, 0, -0, -1, Infinity, -Infinity, NaN, 4, 1e-30];
      const r = (await run(device, FLOATS, "specials", { x: { data: x, shape: [12] } })).outputs;
      close(r[0]!, x.map((v) => f32(Math.exp(v))), "exp");
      close(r[1]!, x.map((v) => f32(Math.log(v))), "log");
      close(r[2]!, x.map((v) => f32(Math.sqrt(v))), "sqrt");
      close(r[3]!, x.map((v) => f32(1 / Math.sqrt(v))), "rsqrt");
    });
    it(`${device}: NaN propagates through sign, step, max, min, relu, clamp, signum, tanh, + and *`, async () => {
      const x = [NaN, 2, -2, 0, -0, Infinity, -Infinity, 0.5];
      const r = (await run(device, FLOATS, "nan_ops", { x: { data: x, shape: [8] } })).outputs;
      same(r[0]!, [NaN, 1, -1, 1, 1, 1, -1, 1], "sign");
      same(r[1]!, [NaN, 1, 0, 0, 0, 1, 0, 1], "step");
      same(r[2]!, [NaN, 2, 0, 0, 0, Infinity, 0, 0.5], "max(x, 0)");
      same(r[3]!, [NaN, 0, -2, 0, -0, 0, -Infinity, 0], "min(x, 0)");
      same(r[4]!, [NaN, 2, 0, 0, 0, Infinity, 0, 0.5], "relu");
      same(r[5]!, [NaN, 1, -1, 0, -0, 1, -1, 0.5], "clamp");
      const m = (await run(device, FLOATS, "nan_more", { x: { data: x, shape: [8] } })).outputs;
      same(m[0]!, [NaN, 1, -1, 0, -0, 1, -1, 1], "signum");
      close(m[1]!, x.map((v) => f32(Math.tanh(v))), "tanh");
      same(m[2]!, x.map((v) => f32(v + 1)), "x + 1");
      same(m[3]!, x.map((v) => f32(v * 0.5)), "x * 0.5");
      close(m[4]!, x.map((v) => f32(1 / (1 + Math.exp(-v)))), "sigmoid");
      close(m[5]!, x.map((v) => f32(Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v))))), "softplus");
    });
    it(`${device}: comparisons with NaN are false (!= true), select reads a NaN condition as true`, async () => {
      const x = [NaN, 1, -1, 0];
      const r = (await run(device, FLOATS, "compare", { x: { data: x, shape: [4] } })).outputs;
      same(r[0]!, [0, 1, 0, 0], "x > 0");
      same(r[1]!, [1, 0, 0, 0], "x != x");
      same(r[2]!, [0, 1, 1, 1], "x == x");
      same(r[3]!, [1, 1, 1, 2], "select(x, 1, 2)");
    });
    it(`${device}: x * 0 and x - x are NaN for an infinite or NaN x (no algebraic folding)`, async () => {
      const x = [Infinity, -Infinity, NaN, 3, -0];
      const r = (await run(device, FLOATS, "folds", { x: { data: x, shape: [5] } })).outputs;
      same(r[0]!, x.map((v) => Math.max(v, 0) * 0), "relu(x) * 0");
      same(r[1]!, x.map((v) => v - v), "x - x");
    });
  }
  it("a chain of + - * gives the same bits on both back ends (each op rounded to f32, no FMA)", async () => {
    const n = 4096;
    let s = 12345;
    const rand = () => ((s = (Math.imul(s, 1103515245) + 12345) | 0) >>> 0) / 2 ** 32 * 4 - 2;
    const ins = Object.fromEntries(["a", "b", "c"].map((k) => [k, { data: Array.from({ length: n }, () => f32(rand())), shape: [n] }]));
    const want = ins["a"]!.data.map((a, i) => {
      const [b, c] = [ins["b"]!.data[i]!, ins["c"]!.data[i]!];
      return f32(f32(f32(f32(a * b) + c) * f32(a - c)) + f32(b * b));
    });
    for (const device of DEVICES) same((await run(device, FLOATS, "fma_chain", ins)).outputs[0]!, want, `${device} (a*b + c)*(a - c) + b*b`);
  });
});

/** The standard normal CDF, Φ(z) = erfc(−z/√2)/2, with W. J. Cody's erfc to 1e-15 (via a continued fraction past 4). */
function normalCdf(z: number): number {
  // Abramowitz–Stegun 26.2.17 has 7.5e-8 absolute error, far below the KS bound used here.
  const t = 1 / (1 + 0.2316419 * Math.abs(z));
  const poly = t * (0.31938153 + t * (-0.356563782 + t * (1.781477937 + t * (-1.821255978 + t * 1.330274429))));
  const tail = (Math.exp((-z * z) / 2) / Math.sqrt(2 * Math.PI)) * poly;
  return z >= 0 ? 1 - tail : tail;
}

const NORMAL = `fn draw(x: f32[N]) -> f32[N] { return normal(x * 0.0, 1.0) }
fn scaled(mu: f32[N], sigma: f32[N]) -> f32[N] { return normal(mu, sigma) }`;

describe("normal draws are bit-identical on both back ends and standard normal", () => {
  const n = 1 << 16;
  it("2^16 draws: the same f32 bits on cpu and webgpu, within 2e-6 of f64 Box–Muller, and N(0, 1) by mean, variance and KS", async () => {
    const x = { data: new Float32Array(n), shape: [n] };
    const cpu = (await run("cpu", NORMAL, "draw", { x }, { seed: 2024 })).outputs[0]!;
    const gpu = (await run("webgpu", NORMAL, "draw", { x }, { seed: 2024 })).outputs[0]!;
    const differ = cpu.filter((v, i) => !Object.is(v, gpu[i])).length;
    expect(differ, "elements whose bits differ").toBe(0);
    // The sampler against the f64 Box–Muller of the same words (the site is the fn's first, 0).
    const w1 = new Uint32Array(n);
    const w2 = new Uint32Array(n);
    fillWords(w1, 2024, 0, 0);
    fillWords(w2, 2024, 0, 1);
    let worst = 0;
    for (let i = 0; i < n; i++) {
      const exact = Math.sqrt(-2 * Math.log(uniformOpen01(w1[i]!))) * Math.cos(2 * Math.PI * uniform01(w2[i]!));
      expect(normalFromWords(w1[i]!, w2[i]!)).toBe(cpu[i]);
      worst = Math.max(worst, Math.abs(cpu[i]! - exact) / Math.max(1, Math.abs(exact)));
    }
    expect(worst).toBeLessThan(2e-6);
    const mean = cpu.reduce((a, b) => a + b, 0) / n;
    const variance = cpu.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1);
    // Standard errors: 1/√n = 0.0039 for the mean, √(2/n) = 0.0055 for the variance; 5σ bounds.
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(Math.abs(variance - 1)).toBeLessThan(0.028);
    const sorted = Float64Array.from(cpu).sort();
    let d = 0;
    sorted.forEach((z, i) => (d = Math.max(d, Math.abs(normalCdf(z) - i / n), Math.abs(normalCdf(z) - (i + 1) / n))));
    // Kolmogorov–Smirnov at α = 0.001: D_crit = 1.949/√n = 0.0076.
    expect(d).toBeLessThan(1.949 / Math.sqrt(n));
  });
  it("normal(mu, sigma) = mu + sigma·z agrees between back ends to 1e-5", async () => {
    const m = 1024;
    const mu = { data: Array.from({ length: m }, (_, i) => f32(Math.sin(i) * 3)), shape: [m] };
    const sigma = { data: Array.from({ length: m }, (_, i) => f32(0.5 + (i % 7) * 0.25)), shape: [m] };
    const cpu = (await run("cpu", NORMAL, "scaled", { mu, sigma }, { seed: 7 })).outputs[0]!;
    close((await run("webgpu", NORMAL, "scaled", { mu, sigma }, { seed: 7 })).outputs[0]!, cpu, "normal(mu, sigma)");
  });
});

const GUMBEL = `fn noise(x: f32[N]) -> f32[N] { return gumbel([N]) + x * 0.0 }
fn pick(logits: f32[B, K]) -> i32[B] { return categorical(logits) }`;

describe("gumbel and categorical draws are bit-identical on both back ends", () => {
  it("2^16 Gumbel draws: same bits, within 2e-6 of the f64 −ln(−ln u), mean γ and variance π²/6", async () => {
    const n = 1 << 16;
    const x = { data: new Float32Array(n), shape: [n] };
    const cpu = (await run("cpu", GUMBEL, "noise", { x }, { seed: 99 })).outputs[0]!;
    const gpu = (await run("webgpu", GUMBEL, "noise", { x }, { seed: 99 })).outputs[0]!;
    expect(cpu.filter((v, i) => !Object.is(v, gpu[i])).length, "elements whose bits differ").toBe(0);
    const w = new Uint32Array(n);
    fillWords(w, 99, 0, 0);
    let worst = 0;
    w.forEach((word, i) => {
      const exact = -Math.log(-Math.log(uniformOpen01(word)));
      worst = Math.max(worst, Math.abs(cpu[i]! - exact) / Math.max(1, Math.abs(exact)));
    });
    expect(worst).toBeLessThan(2e-6);
    const mean = cpu.reduce((a, b) => a + b, 0) / n;
    const variance = cpu.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1);
    // γ = 0.5772, π²/6 = 1.6449; standard errors 0.005 and about 0.015 at n = 2^16.
    expect(Math.abs(mean - 0.5772156649)).toBeLessThan(0.025);
    expect(Math.abs(variance - Math.PI ** 2 / 6)).toBeLessThan(0.08);
  });
  it("categorical over 4096 rows of close logits picks the same class on both", async () => {
    const B = 4096;
    const logits = { data: Array.from({ length: B * 4 }, (_, i) => f32(Math.sin(i) * 1e-3)), shape: [B, 4] };
    const cpu = (await run("cpu", GUMBEL, "pick", { logits }, { seed: 5 })).outputs[0]!;
    const gpu = (await run("webgpu", GUMBEL, "pick", { logits }, { seed: 5 })).outputs[0]!;
    expect(gpu).toEqual(cpu);
    expect(new Set(cpu).size).toBe(4);
  });
});

describe("literals and defaults out of range are check-time errors", () => {
  const check = (text: string) =>
    checkFiles(["main.est"], memoryHost({ "main.est": text })).diagnostics.map((d) => {
      const before = text.slice(0, d.span.start);
      return `${d.code} ${before.split("\n").length}:${d.span.start - before.lastIndexOf("\n")}`;
    });
  it("an i32 literal past 2^31 - 1 is E3050 at the literal; -2147483648 is valid", () => {
    expect(check("fn f(i: i32[N]) -> i32[N] {\n  return i + 3000000000\n}\n")).toEqual(["E3050 2:14"]);
    expect(check("fn f(i: i32[N]) -> i32[N] {\n  return i + -2147483648\n}\n")).toEqual([]);
  });
  it("a default of -1e999 or 1e39, or a const that overflows, is E3051", () => {
    expect(check("fn f(x: f32[N], lo: f32 = -1e999) -> f32[N] {\n  return max(x, lo)\n}\n")).toEqual(["E3051 1:28"]);
    expect(check("fn f(x: f32[N], lo = 1e39) -> f32[N] {\n  return max(x, lo)\n}\n")).toEqual(["E3051 1:22"]);
    expect(check("const BIG = 1e30 * 1e30\nfn f(x: f32[N], s = BIG) -> f32[N] {\n  return x * s\n}\n")).toEqual(["E3051 2:21"]);
  });
});

// b is stored (it is a result), so the kernel that computes it is where its NaN first appears;
// a value used only inside a fused kernel is reported at that kernel (docs/language.md).
const NUMERICS = `fn f(x: f32[N], y: f32[N]) -> (f32[N], f32) {
  let a = x * 2.0
  let b = log(a) + y
  return (b, sum(b * b))
}`;

describe("checkNumerics names the fn, the kernel and the .est line where a NaN or Inf first appears", () => {
  for (const device of DEVICES) {
    it(`${device}: log of a negative number in line 3, an Inf input, off by default`, async () => {
      const { buildModule } = await import("../helpers/build.js");
      const { cpu, tensor, webgpu } = await import("estc/runtime");
      const mod = (await buildModule(NUMERICS)).mod;
      const dev = device === "cpu" ? cpu() : await webgpu();
      try {
        const x = tensor(Float32Array.of(1, -1, 2, 3), [4]);
        const y = tensor(Float32Array.of(0, 0, 0, 0), [4]);
        // Off: the NaN reaches the result, as it always did.
        const off = await (await mod.f.forward({ x, y }, { device: dev }))[1].data();
        expect(off[0]).toBeNaN();
        const err = await mod.f.forward({ x, y }, { device: dev, checkNumerics: true }).then(() => undefined, (e: unknown) => e);
        expect(err).toMatchObject({ code: "E6030" });
        const message = (err as Error).message;
        // The fn, the kernel computing log(a) + y (main.est line 3), element 1.
        expect(message).toMatch(/^error\[E6030\]: f \(main\.est:1\): checkNumerics: NaN first appears in kernel f\$k\d+ \(main\.est:3\), element 1 of its f32\[N\] buffer$/);
        const inf = tensor(Float32Array.of(1, 1, Infinity, 1), [4]);
        const cts = (b: number) => [tensor(Float32Array.of(0, 0, 0, 0), [4]), tensor(Float32Array.of(b), [])];
        const bad = await mod.f.vjp({ x, y: inf }, cts(1), { device: dev, checkNumerics: true }).then(() => undefined, (e: unknown) => e);
        expect(bad).toMatchObject({ code: "E6030", message: expect.stringContaining("input 'y' holds Infinity at element 2") });
        const ct = await mod.f.vjp({ x: tensor(Float32Array.of(1, 2, 3, 4), [4]), y }, cts(NaN), { device: dev, checkNumerics: true }).then(() => undefined, (e: unknown) => e);
        expect(ct).toMatchObject({ code: "E6030", message: expect.stringContaining("the cotangent holds NaN at element 0") });
        // Finite values pass, and the result is the one an unchecked call gives.
        const ok = tensor(Float32Array.of(1, 2, 3, 4), [4]);
        const checked = await (await mod.f.forward({ x: ok, y }, { device: dev, checkNumerics: true }))[1].data();
        const plain = await (await mod.f.forward({ x: ok, y }, { device: dev }))[1].data();
        expect(checked[0]).toBe(plain[0]);
        expect(checked[0]).toBeCloseTo([2, 4, 6, 8].reduce((s, v) => s + Math.log(v) ** 2, 0), 4);
        const wrong = await mod.f.forward({ x: ok, y }, { device: dev, checkNumerics: 1 }).then(() => undefined, (e: unknown) => e);
        expect(wrong).toMatchObject({ code: "E6012" });
      } finally {
        if (device === "webgpu") (dev as { destroy(): void }).destroy();
      }
    });
  }
});

const RESTE = `import { ReSTE } from "std/binary"
fn act(x: f32[N], o: f32 = 3.0) -> f32[N] {
  return sign x backward ReSTE(o = o)
}`;

describe("ReSTE's o must be >= 1 (its require): o = 0 gave NaN gradients silently", () => {
  for (const device of DEVICES) {
    it(`${device}: o = 0 and o = 0.5 are E6031 naming the scalar and its range; o = 1 gives finite gradients`, async () => {
      const x = { data: [0.05, -0.5, 1.2, 2], shape: [4] };
      for (const o of [0, 0.5, -1]) {
        const err = await run(device, RESTE, "act", { x }, { ct: [[1, 1, 1, 1]], scalars: { o } }).then(() => undefined, (e: unknown) => e);
        expect(err).toMatchObject({ code: "E6031" });
        expect((err as Error).message).toMatch(new RegExp(`act: option 'o' is ${o}, outside its valid range o >= 1 \\(required by .*std/binary\\.est:\\d+\\)`));
      }
      // o = 1: ReSTE is the clipped identity, slope 1 on |x| <= t = 1.5 (and m^0 = 1 inside m).
      same((await run(device, RESTE, "act", { x }, { ct: [[1, 1, 1, 1]], scalars: { o: 1 } })).grads["x"]!, [1, 1, 1, 0], "ReSTE(o = 1) gradient");
    });
  }
  it("a literal o = 0 at the call site is E4040 there, at build time", () => {
    const text = `import { ReSTE } from "std/binary"\nfn lit(x: f32[N]) -> f32[N] {\n  return sign x backward ReSTE(o = 0.0)\n}\n`;
    expect(() => compileFn(text, "lit")).toThrow(/main\.est:3:10: error\[E4040\]: estimator 'ReSTE': an argument of 0 is outside the valid range x >= 1/);
  });
});

const DENSE = `import { ClippedSTE } from "std/binary"
fn dense(x: f32[B, I], w: f32[I, O]) -> f32[B, O] {
  return (sign x backward ClippedSTE) @ (sign w backward ClippedSTE)
}`;

describe("NaN through an estimator: a binary dense layer (the quickstart's gave a finite -3 for NaN inputs)", () => {
  for (const device of DEVICES) {
    it(`${device}: a NaN input makes its row NaN; ClippedSTE's mask passes no gradient at NaN`, async () => {
      const x = { data: [NaN, 0.5, -0.25, 0.75, -0.5, 0.125], shape: [2, 3] };
      const w = { data: [0.5, 0.5, 0.25, 0.25, -0.75, 0.5], shape: [3, 2] };
      const r = await run(device, DENSE, "dense", { x, w }, { ct: [[1, 1, 1, 1]] });
      // sign(w) = [[1, 1], [1, 1], [-1, 1]]. Row 0 holds sign(NaN) = NaN; row 1 is (1, -1, 1) @ sign(w) = (-1, 1).
      same(r.outputs[0]!, [NaN, NaN, -1, 1], "forward");
      // dx = (ct @ sign(w)ᵀ) · 1[|x| <= 1] = (2, 2, 0) · mask: 0 at the NaN, where the mask is false.
      same(r.grads["x"]!, [0, 2, 0, 2, 2, 0], "dx");
      // dw = sign(x)ᵀ @ ct: the row of w that meets the NaN column of x is NaN, the others 1 - 1 = 0.
      same(r.grads["w"]!, [NaN, NaN, 0, 0, 0, 0], "dw");
    });
  }
});
