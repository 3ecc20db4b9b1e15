/**
 * Philox draws on the Wasm back end (compiler/codegen/wasm/philox.ts, normal.ts) against the TS
 * reference (runtime/philox.ts, runtime/normal.ts), bit for bit: the standalone draw functions
 * over block ranges that cross 2^32 elements, the i32 sign bit of the block index and end at
 * 2^34 (the mapping's limit), under seeds with and without a high key word; and generated
 * kernels that fuse draws with elementwise ops, forward and backward, on `cpu({ kernels:
 * "wasm" })` against `cpu({ kernels: "ts" })` at lengths with a 1–3 element tail.
 */
import { describe, expect, it } from "vitest";
import { cpu, fillGumbel, fillNormal, fillUniform, fillUniformOpen01, fillWords, philoxKey, tensor, type Tensor } from "estc/runtime";
import { drawFunction, type DrawKind } from "../../compiler/codegen/wasm/philox.js";
import { wasmApi } from "../../runtime/wasm/api.js";
import { encodeModule } from "../../runtime/wasm/encoder.js";
import { buildModule } from "../helpers/build.js";

const wasm = cpu({ kernels: "wasm" });
const ts = cpu({ kernels: "ts" });

const SITE = 5;
const kinds: DrawKind[] = ["words", "uniform", "open", "normal", "gumbel"];
const seeds = [0, 1, 0xdeadbeef, 2 ** 32, 2 ** 40 + 12345, 2 ** 53 - 1];
/** First blocks: 0, across element 2^32 (block 2^30), across the block index's sign bit, to the end at 2^34. */
const BLOCKS = 257;
const firsts = [0, 2 ** 30 - 100, 2 ** 31 - 101, 2 ** 32 - BLOCKS];

/** The TS reference of `kind` for elements [offset, offset + out.length) of stream 1 (words) or 0. */
function reference(kind: DrawKind, out: Float32Array | Uint32Array, seed: number, offset: number): void {
  if (kind === "words") fillWords(out as Uint32Array, seed, SITE, 1, offset);
  else if (kind === "uniform") fillUniform(out as Float32Array, seed, SITE, offset);
  else if (kind === "open") fillUniformOpen01(out as Float32Array, seed, SITE, offset);
  else if (kind === "normal") fillNormal(out as Float32Array, seed, SITE, offset);
  else fillGumbel(out as Float32Array, seed, SITE, offset);
}

/** The first element whose bits differ, or -1. */
function firstDiff(a: ArrayBufferView, b: ArrayBufferView, n: number): number {
  const x = new Uint32Array(a.buffer, a.byteOffset, n);
  const y = new Uint32Array(b.buffer, b.byteOffset, n);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return i;
  return -1;
}

describe("Wasm Philox draw functions against runtime/philox.ts", () => {
  const api = wasmApi!;
  const memory = new api.Memory({ initial: 1, maximum: 1 });
  const bytes = encodeModule(kinds.map((k) => ({ name: k, fn: drawFunction(k, SITE, k === "words" ? 1 : 0) })), { minPages: 1, maxPages: 1, shared: false });
  const fns = new api.Instance(new api.Module(bytes), { env: { memory } }).exports as Record<DrawKind, (out: number, blocks: number, first: number, k0: number, k1: number) => void>;

  for (const kind of kinds) {
    it(`${kind}: bit-identical over ${seeds.length} seeds and block ranges crossing 2^32 elements, 2^31 blocks and ending at 2^34`, () => {
      for (const seed of seeds) {
        const [k0, k1] = philoxKey(seed);
        for (const first of firsts) {
          fns[kind](0, BLOCKS, first | 0, k0 | 0, k1 | 0);
          const n = 4 * BLOCKS;
          const want = kind === "words" ? new Uint32Array(n) : new Float32Array(n);
          reference(kind, want, seed, 4 * first);
          const got = new Uint32Array(memory.buffer, 0, n);
          const at = firstDiff(got, want, n);
          expect(at, `seed ${seed}, element ${4 * first + at}: wasm bits ${got[at]?.toString(16)}, ts ${want[at]}`).toBe(-1);
        }
      }
    });
  }

  const unalignedFns = new api.Instance(
    new api.Module(encodeModule(kinds.slice(1).map((k) => ({ name: k, fn: drawFunction(k, SITE, 0, true) })), { minPages: 1, maxPages: 1, shared: false })),
    { env: { memory } },
  ).exports as Record<DrawKind, (out: number, vectors: number, first: number, k0: number, k1: number) => void>;
  for (const kind of kinds.slice(1)) {
    it(`${kind} at any alignment (emitAt, for loops whose vectors start anywhere): bit-identical, up to element 2^32`, () => {
      for (const seed of [0, 2 ** 40 + 12345]) {
        const [k0, k1] = philoxKey(seed);
        for (const first of [0, 1, 2, 3, 4097, 2 ** 31 - 2, 2 ** 32 - 4 * BLOCKS - 3]) {
          unalignedFns[kind](0, BLOCKS, first | 0, k0 | 0, k1 | 0);
          const n = 4 * BLOCKS;
          const want = new Float32Array(n);
          reference(kind, want, seed, first);
          const got = new Uint32Array(memory.buffer, 0, n);
          const at = firstDiff(got, want, n);
          expect(at, `seed ${seed}, first ${first}, element ${first + at}`).toBe(-1);
        }
      }
    });
  }

  it("starts on an odd block (the second of a cached pair) and still draws its own block", () => {
    const [k0, k1] = philoxKey(7);
    fns.uniform(0, 3, 9, k0, k1);
    const want = new Float32Array(12);
    fillUniform(want, 7, SITE, 36);
    expect(Array.from(new Float32Array(memory.buffer, 0, 12))).toEqual(Array.from(want));
  });
});

/** Runs `name`'s forward (and, with `g`, its vjp) on both devices; every output as bits. */
async function onBoth(mod: Record<string, any>, name: string, inputs: Record<string, Float32Array>, opts: Record<string, unknown>, vjp: boolean): Promise<{ w: Float32Array[]; t: Float32Array[] }> {
  const f = mod[name];
  const run = async (device: typeof wasm) => {
    const args: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(inputs)) args[k] = tensor(v, [v.length]);
    const out = (await f.forward(args, { ...opts, device })) as Tensor;
    const results = [(await out.data()) as Float32Array];
    if (vjp) {
      const n = Object.values(inputs)[0]!.length;
      const g = tensor(Float32Array.from({ length: n }, (_, i) => ((i % 7) - 3) / 4), [n]);
      const grads = (await f.vjp(args, g, { ...opts, device })) as Record<string, Tensor>;
      for (const k of Object.keys(inputs)) results.push((await grads[k]!.data()) as Float32Array);
    }
    return results;
  };
  return { w: await run(wasm), t: await run(ts) };
}

const program = `
estimator BernoulliSTE for bernoulli(p) {
  grad p = g
}
fn stoch_sign(x: f32[N]) -> f32[N] {
  return 2 * (bernoulli(0.5 * (clamp(x, -1.0, 1.0) + 1)) backward BernoulliSTE) - 1
}
fn noisy(x: f32[N], s: f32 = 0.5) -> f32[N] {
  return x * (1 + normal(0.0 * x, s)) + uniform([N])
}
fn gumbel_max(x: f32[N]) -> f32[N] {
  return max(x, 0.5 * x + gumbel([N]))
}
fn dropout(x: f32[N], keep: f32 = 0.8) -> f32[N] {
  return x * bernoulli(keep + 0.0 * x) / keep
}
`;

describe("generated kernels with draws: cpu wasm against cpu ts", () => {
  const cases: [string, boolean][] = [["stoch_sign", true], ["noisy", true], ["gumbel_max", false], ["dropout", true]];
  for (const n of [1, 3, 4, 5, 7, 8, 33, 1027]) {
    it(`draw the same bits forward and backward at n = ${n} under several seeds`, async () => {
      const { mod } = await buildModule(program);
      const x = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.7) * 1.5);
      for (const [name, vjp] of cases) {
        // The draws are fused into a kernel the Wasm back end compiles.
        expect(mod[name].spec.wasm?.kernels.some((k: unknown) => k !== null), name).toBe(true);
        for (const seed of [0, 3, 2 ** 33 + 5]) {
          const { w, t } = await onBoth(mod, name, { x }, { seed }, vjp);
          for (let r = 0; r < t.length; r++) {
            const at = firstDiff(w[r]!, t[r]!, n);
            expect(at, `${name} result ${r}, seed ${seed}, element ${at}: wasm ${w[r]![at]}, ts ${t[r]![at]}`).toBe(-1);
          }
        }
      }
    });
  }

  it("every kernel of the draw programs runs on Wasm (none left to the TS form)", async () => {
    const { mod } = await buildModule(program);
    for (const name of ["stoch_sign", "noisy", "gumbel_max", "dropout"]) {
      const kernels = mod[name].spec.wasm.kernels as unknown[];
      expect(kernels.length, name).toBe(mod[name].spec.kernels.length);
      expect(kernels.every((k) => k !== null), `${name}: ${kernels.map((k) => (k === null ? "ts" : "wasm")).join(", ")}`).toBe(true);
    }
  });

  it("draws read beside broadcast operands and inside reductions give the TS kernels' bits (whichever form runs them)", async () => {
    const { mod } = await buildModule(`
fn bcast(x: f32[B, N], b: f32[N]) -> f32[B, N] {
  return bernoulli(clamp(x + b, 0.0, 1.0)) * x + normal(0.0 * x, 1.0)
}
fn rowmax(x: f32[B, N]) -> f32[B] {
  return max(bernoulli(clamp(x, 0.0, 1.0)) * x + gumbel([B, N]), axis = 1)
}
fn colmax(x: f32[B, N]) -> f32[N] {
  return max(uniform([B, N]) + x, axis = 0)
}
`);
    for (const [B, N] of [[3, 5], [4, 4], [7, 13]] as const) {
      const x = tensor(Float32Array.from({ length: B * N }, (_, i) => Math.cos(i * 0.9)), [B, N]);
      const b = tensor(Float32Array.from({ length: N }, (_, i) => i / N - 0.5), [N]);
      for (const [name, inputs] of [["bcast", { x, b }], ["rowmax", { x }], ["colmax", { x }]] as const) {
        for (const seed of [1, 2 ** 35 + 3]) {
          const w = (await (await mod[name].forward(inputs, { device: wasm, seed })).data()) as Float32Array;
          const t = (await (await mod[name].forward(inputs, { device: ts, seed })).data()) as Float32Array;
          expect(firstDiff(w, t, t.length), `${name} [${B}, ${N}] seed ${seed}`).toBe(-1);
        }
      }
    }
  });

  it("a different seed changes the draws (the key reaches the kernel)", async () => {
    const { mod } = await buildModule(program);
    const x = new Float32Array(64);
    const a = await onBoth(mod, "stoch_sign", { x }, { seed: 1 }, false);
    const b = await onBoth(mod, "stoch_sign", { x }, { seed: 2 ** 32 + 1 }, false);
    expect(firstDiff(a.w[0]!, b.w[0]!, 64)).not.toBe(-1);
    // x = 0: p = 1/2, so about half the signs are +1.
    const plus = a.w[0]!.filter((v) => v === 1).length;
    expect(plus).toBeGreaterThan(16);
    expect(plus).toBeLessThan(48);
  });
});
