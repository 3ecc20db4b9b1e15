/**
 * conv2d, max_pool2d and avg_pool2d in the compiler: forwards through the reference interpreter
 * against naive loops written from PyTorch's definitions (tests/helpers/conv-naive.ts), gradients
 * of x and w against f64 central differences over several geometries, max pooling's tie and NaN
 * rules by hand, and the checker's diagnostics (code, span, arithmetic).
 */
import { describe, expect, it } from "vitest";
import { checkFiles } from "../../compiler/pipeline.js";
import { compileFn, memoryHost } from "../helpers/compile.js";
import { convCases, convSrc as src, naiveConv2d, naivePool2d, poolCases, poolSrc } from "../helpers/conv-naive.js";
import { evalVjp, gradcheck, rng } from "../helpers/gradcheck.js";

const random = (n: number, seed: number) => {
  const r = rng(seed);
  return Array.from({ length: n }, () => r() * 2 - 1);
};

describe("conv2d", () => {
  it.each(convCases.map((c) => [c.name, c] as const))("%s: the interpreter's forward equals the naive loop", (_n, c) => {
    const x = random(c.xs.reduce((a, b) => a * b, 1), 1);
    const w = random(c.ws.reduce((a, b) => a * b, 1), 2);
    const want = naiveConv2d(x, c.xs, w, c.ws, c.g);
    const got = evalVjp(compileFn(src(c), "f"), { x, w }, undefined, { dims: { B: c.xs[0] } });
    expect(got.outputs[0]!.length).toBe(want.data.length);
    got.outputs[0]!.forEach((v, i) => expect(v).toBeCloseTo(want.data[i]!, 12));
  });

  it.each(convCases.map((c) => [c.name, c] as const))("%s: gradients of x and w pass the f64 gradcheck", (_n, c) => {
    const fn = compileFn(src(c).replace("{ return conv2d", "{ return tanh(conv2d").replace(/\) }$/, ")) }"), "f");
    for (const seed of [1, 2, 3]) {
      const r = gradcheck(fn, { dims: { B: c.xs[0] }, seed });
      expect(Math.abs(r.numeric)).toBeGreaterThan(1e-3);
      expect(Math.abs(r.analytic - r.numeric), `seed ${seed}: ${r.analytic} vs ${r.numeric}`).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(r.numeric)));
    }
  });

  it("dx and dw are the naive adjoints: <ct, conv(x, w)> is bilinear, so dx_i = <ct, conv(e_i, w)>", () => {
    const c = convCases[6]!;
    const fn = compileFn(src(c), "f");
    const nx = c.xs.reduce((a, b) => a * b, 1);
    const nw = c.ws.reduce((a, b) => a * b, 1);
    const x = random(nx, 3);
    const w = random(nw, 4);
    const y = naiveConv2d(x, c.xs, w, c.ws, c.g);
    const ct = random(y.data.length, 5);
    const r = evalVjp(fn, { x, w }, [ct], { dims: { B: c.xs[0] } });
    const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i]!, 0);
    for (const i of [0, 17, nx - 1]) {
      const e = new Array(nx).fill(0);
      e[i] = 1;
      expect(r.grads["x"]![i]).toBeCloseTo(dot(ct, naiveConv2d(e, c.xs, w, c.ws, c.g).data), 12);
    }
    for (const i of [0, 5, nw - 1]) {
      const e = new Array(nw).fill(0);
      e[i] = 1;
      expect(r.grads["w"]![i]).toBeCloseTo(dot(ct, naiveConv2d(x, c.xs, e, c.ws, c.g).data), 12);
    }
  });

  it("a symbolic spatial size is kept where the geometry keeps it (stride 1, 'same' padding)", () => {
    const fn = compileFn("fn f(x: f32[B, 2, H, W], w: f32[3, 2, 3, 3]) -> f32[B, 3, H, W] { return conv2d(x, w, padding = 1) }", "f");
    const x = random(2 * 2 * 4 * 5, 6);
    const w = random(3 * 2 * 9, 7);
    const got = evalVjp(fn, { x, w }, undefined, { dims: { B: 2, H: 4, W: 5 } });
    const want = naiveConv2d(x, [2, 2, 4, 5], w, [3, 2, 3, 3], { padding: [1, 1] });
    got.outputs[0]!.forEach((v, i) => expect(v).toBeCloseTo(want.data[i]!, 12));
  });
});

describe("symbolic spatial sizes", () => {
  it("conv2d and max_pool2d over symbolic H and W: the computed output sizes, at two sizes through one fn", () => {
    // Height floor((H + 2 − 2 − 1) / 2) + 1, width floor((W − 3) / 2) + 1, then a 2x2 pooling: floor of half each.
    const text = `fn f(x: f32[B, 2, H, W], w: f32[3, 2, 3, 3]) -> f32[B, 3, ((H - 1) / 2 + 1) / 2, ((W - 3) / 2 + 1) / 2] {
      return max_pool2d(conv2d(x, w, stride = 2, padding = [1, 0]), 2)
    }`;
    const fn = compileFn(text, "f");
    for (const [h, w] of [[9, 12], [6, 7]] as const) {
      const x = random(2 * 2 * h * w, h);
      const wt = random(3 * 2 * 9, 7);
      const conv = naiveConv2d(x, [2, 2, h, w], wt, [3, 2, 3, 3], { stride: [2, 2], padding: [1, 0] });
      const want = naivePool2d("max", conv.data, conv.shape, [2, 2]);
      const got = evalVjp(fn, { x, w: wt }, undefined, { dims: { B: 2, H: h, W: w } });
      expect(want.shape).toEqual([2, 3, Math.floor((Math.floor((h - 1) / 2) + 1) / 2), Math.floor((Math.floor((w - 3) / 2) + 1) / 2)]);
      expect(got.outputs[0]!.length).toBe(want.data.length);
      got.outputs[0]!.forEach((v, i) => expect(v).toBeCloseTo(want.data[i]!, 12));
    }
  });
});

describe("max_pool2d and avg_pool2d", () => {
  for (const c of poolCases) {
    const want = (x: number[]) => naivePool2d(c.kind, x, c.xs, c.k, c.s ?? c.k, c.p ?? [0, 0]);
    const n = c.xs.reduce((a, b) => a * b, 1);
    const text = poolSrc(c);
    it(`${c.kind} ${c.name}: forward equals the naive loop`, () => {
      const x = random(n, 8);
      const got = evalVjp(compileFn(text, "f"), { x }, undefined, { dims: { B: c.xs[0] } });
      expect(got.outputs[0]).toHaveLength(want(x).data.length);
      got.outputs[0]!.forEach((v, i) => expect(v).toBeCloseTo(want(x).data[i]!, 12));
    });
    it(`${c.kind} ${c.name}: the gradient passes the f64 gradcheck`, () => {
      const fn = compileFn(text.replace(`return ${c.kind}`, `return tanh(${c.kind}`).replace(/\) }$/, ")) }"), "f");
      for (const seed of [1, 2, 3]) {
        const r = gradcheck(fn, { dims: { B: c.xs[0] }, seed });
        expect(Math.abs(r.numeric)).toBeGreaterThan(1e-3);
        expect(Math.abs(r.analytic - r.numeric)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(r.numeric)));
      }
    });
  }

  const maxFn = () => compileFn("fn f(x: f32[1, 1, 2, 4]) -> f32[1, 1, 1, 3] { return max_pool2d(x, 2, stride = 1) }", "f");

  it("a tie gives the whole cotangent to the first maximum in row-major window order", () => {
    // Windows [0..1] x [0..1], [1..2], [2..3] of rows (5 5 1 5 / 5 0 5 5): every maximum is a tie.
    const x = [5, 5, 1, 5, 5, 0, 5, 5];
    const r = evalVjp(maxFn(), { x }, [[1, 10, 100]]);
    expect(r.outputs[0]).toEqual([5, 5, 5]);
    // Window 0 → x[0]; window 1 → x[1] (row 0 before row 1); window 2 → x[3].
    expect(r.grads["x"]).toEqual([1, 10, 0, 100, 0, 0, 0, 0]);
  });

  it("a NaN counts as the maximum (the first NaN wins) and carries the gradient", () => {
    const x = [1, NaN, 3, 2, 0, NaN, 9, 4];
    const r = evalVjp(maxFn(), { x }, [[1, 10, 100]]);
    // Windows 0 and 1 both hold x[1] and x[5] (NaN): x[1] comes first; window 2 has no NaN.
    expect(r.outputs[0]!.map((v) => (Number.isNaN(v) ? "NaN" : v))).toEqual(["NaN", "NaN", 9]);
    expect(r.grads["x"]).toEqual([0, 11, 0, 0, 0, 0, 100, 0]);
  });

  it("avg_pool2d counts the padding as zeros (count_include_pad = True)", () => {
    const fn = compileFn("fn f(x: f32[1, 1, 2, 2]) -> f32[1, 1, 3, 3] { return avg_pool2d(x, 2, stride = 1, padding = 1) }", "f");
    const r = evalVjp(fn, { x: [4, 8, 12, 16] }, undefined);
    // Padded windows: each holds one, two or four elements of x, always divided by 4.
    expect(r.outputs[0]!.slice(0, 2)).toEqual([1, 3]);
  });
});

describe("the checker's shape rules", () => {
  const diagnose = (text: string) => checkFiles(["main.est"], memoryHost({ "main.est": text })).diagnostics;
  const one = (text: string) => {
    const ds = diagnose(text);
    expect(ds, ds.map((d) => d.message).join("\n")).toHaveLength(1);
    return ds[0]!;
  };
  const col = (text: string, needle: string) => text.indexOf(needle);

  it("a window larger than the input is E3003 with the arithmetic, at the geometry argument", () => {
    const text = "fn f(x: f32[B, 1, 4, 4], w: f32[2, 1, 3, 3]) -> f32[B, 2, 1, 1] { return conv2d(x, w, dilation = 2) }";
    const d = one(text);
    expect(d.code).toBe("E3003");
    expect(d.message).toBe("conv2d: the window does not fit the height: 4 + 2·0 − 2·(3 − 1) − 1 = -1 < 0, so no output position remains");
    // The whole call: the failing sizes come from x, w and the geometry together.
    expect(d.span.start).toBe(col(text, "conv2d("));
  });

  it("channels that disagree are E3003 at w", () => {
    const text = "fn f(x: f32[B, 4, 8, 8], w: f32[2, 3, 3, 3]) -> f32[B, 2, 6, 6] { return conv2d(x, w) }";
    const d = one(text);
    expect(d.code).toBe("E3003");
    expect(d.message).toBe("conv2d: x has 4 channels but w takes 3 per group × 1 group = 3");
    expect([d.span.start, d.span.end]).toEqual([col(text, ", w)") + 2, col(text, ", w)") + 3]);
  });

  it("a symbolic height the geometry changes gives a computed dim, which a declared result must match (E3004)", () => {
    const d = one("fn f(x: f32[B, 1, H, 8], w: f32[2, 1, 3, 3]) -> f32[B, 2, H, 6] { return conv2d(x, w) }");
    expect(d.code).toBe("E3004");
    // floor((H + 2·0 − 1·(3 − 1) − 1) / 1) + 1 = H − 2
    expect(d.message).toBe("fn 'f' returns f32[B, 2, H-2, 6], but its result type says f32[B, 2, H, 6]");
  });

  it("a stride of 0 and a 3-element list are E3003; a non-constant stride is E3034", () => {
    expect(one("fn f(x: f32[B, 1, 8, 8], w: f32[2, 1, 3, 3]) -> f32[B, 2, 6, 6] { return conv2d(x, w, stride = 0) }").message).toContain("'stride' must be at least 1");
    expect(one("fn f(x: f32[B, 1, 8, 8], w: f32[2, 1, 3, 3]) -> f32[B, 2, 6, 6] { return conv2d(x, w, stride = [1, 1, 1]) }").message).toContain("a list [h, w] of two");
    expect(one("fn f(x: f32[B, 1, 8, 8], w: f32[2, 1, 3, 3], s: i32) -> f32[B, 2, 6, 6] { return conv2d(x, w, stride = s) }").code).toBe("E3034");
  });

  it("pooling padding over half the kernel is E3003, as PyTorch refuses it", () => {
    const d = one("fn f(x: f32[B, 1, 8, 8]) -> f32[B, 1, 5, 5] { return max_pool2d(x, 2, padding = 2) }");
    expect(d.code).toBe("E3003");
    expect(d.message).toContain("more than half the kernel");
  });
});
