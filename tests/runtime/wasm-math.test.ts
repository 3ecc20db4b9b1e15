/**
 * The accuracy contract of the Wasm back end's approximated functions (docs/language.md, "The
 * Wasm back end"): each function of compiler/codegen/wasm/math.ts evaluated on a dense grid of
 * f32 inputs (every 2^k-th f32 bit pattern over its domain, ~0.5–2 M points, plus the special
 * values) against Math.* in f64, with the error in ulps of the f32 result (an ulp below the
 * smallest normal is 2^-149). The bounds asserted here are the ones the docs state.
 */
import { describe, expect, it } from "vitest";
import { I32, V128 } from "../../runtime/wasm/encoder.js";
import { emitMath, type MathFunction } from "../../compiler/codegen/wasm/math.js";
import { SimdBuilder } from "../../compiler/codegen/wasm/simd.js";
import { base64, wasmModuleBytes } from "../../compiler/codegen/wasm/module.js";
import { fromBase64 } from "../../runtime/wasm/kernels.js";
import { wasmApi, type WasmMemory } from "../../runtime/wasm/api.js";

/** The max error in ulps each function is documented to keep (docs/language.md). */
const ULP_BOUNDS: Record<MathFunction, number> = { exp: 1, log: 1, log1p: 1, tanh: 1.5, sigmoid: 2.5, softplus: 1.5 };

const reference: Record<MathFunction, (x: number) => number> = {
  exp: Math.exp,
  log: Math.log,
  log1p: Math.log1p,
  tanh: Math.tanh,
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  softplus: (x) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))),
};

/** Bit-pattern ranges [lo, hi] (as f32 values) each function is measured over. */
const domains: Record<MathFunction, [number, number][]> = {
  exp: [[-110, 90]],
  log: [[2 ** -149, 3.4e38]],
  log1p: [[-0.99999994, 3.4e38]],
  tanh: [[-20, 20]],
  sigmoid: [[-110, 110]],
  softplus: [[-110, 110]],
};

/** A Wasm function `(src, dst, n)` applying `f` to n f32s (n a multiple of 4). */
function kernel(f: MathFunction): (src: number, dst: number, n: number) => void {
  const b = new SimdBuilder([I32, I32, I32]);
  const [i, v] = [b.local(I32), b.local(V128)];
  b.block(() =>
    b.loop(() => {
      b.get(i).get(2).i32(4).mul().geU().brIf(1);
      b.get(0).get(i).add().v128Load().set(v);
      b.get(1).get(i).add();
      emitMath(b, f, v);
      b.v128Store();
      b.bump(i, 16).br(0);
    }),
  );
  // Through the generated modules' own encoding and base64 round trip.
  const bytes = fromBase64(base64(wasmModuleBytes([b])!));
  const api = wasmApi!;
  const memory = new api.Memory({ initial: 256, maximum: 65536, shared: true });
  const instance = new api.Instance(new api.Module(bytes), { env: { memory, pow: Math.pow } });
  const run = instance.exports["k0"] as (a: number, b: number, c: number) => void;
  kernel.memory = memory;
  return run;
}
kernel.memory = undefined as WasmMemory | undefined;

function f32Bits(x: number): number {
  return new Int32Array(new Float32Array([x]).buffer)[0]!;
}

/** Every `stride`-th f32 between lo and hi (by bit pattern, through zero), and the specials. */
function grid(lo: number, hi: number, stride: number): Float32Array {
  const out: number[] = [0, -0, Infinity, -Infinity, NaN, lo, hi, 1, -1];
  const f = new Float32Array(1);
  const i = new Int32Array(f.buffer);
  const walk = (a: number, b: number) => {
    for (let bits = a; bits <= b; bits += stride) {
      i[0] = bits;
      out.push(f[0]!);
    }
  };
  if (lo < 0) walk(f32Bits(Math.min(hi, -0)) & 0x7fffffff, f32Bits(-lo) & 0x7fffffff);
  const n = out.length;
  for (let k = 9; k < n; k++) out[k] = -out[k]!;
  if (hi > 0) walk(f32Bits(Math.max(lo, 2 ** -149)), f32Bits(hi));
  while (out.length % 4 !== 0) out.push(1);
  return Float32Array.from(out);
}

/** The error of f32 `y` from the exact `r`, in ulps of f32 at r. */
function ulpError(y: number, r: number): number {
  if (Number.isNaN(r)) return Number.isNaN(y) ? 0 : Infinity;
  if (!Number.isFinite(r) || !Number.isFinite(y)) return y === Math.fround(r) ? 0 : Infinity;
  const e = r === 0 ? -149 : Math.max(Math.floor(Math.log2(Math.abs(r))), -126) - 23;
  return Math.abs(y - r) / 2 ** e;
}

describe("Wasm math functions against f64", () => {
  for (const f of Object.keys(reference) as MathFunction[]) {
    it(`${f}: at most ${ULP_BOUNDS[f]} ulp over a dense grid, special values exact`, () => {
      const run = kernel(f);
      const memory = kernel.memory!;
      let worst = 0;
      let at = 0;
      let points = 0;
      for (const [lo, hi] of domains[f]) {
        const span = Math.abs(f32Bits(hi) - (lo < 0 ? 0 : f32Bits(lo))) + (lo < 0 ? f32Bits(-lo) : 0);
        const xs = grid(lo, hi, Math.max(1, Math.floor(span / 1_000_000)));
        const bytes = xs.length * 4;
        if (memory.buffer.byteLength < 2 * bytes + 64) memory.grow(Math.ceil((2 * bytes + 64 - memory.buffer.byteLength) / 65536));
        new Float32Array(memory.buffer, 0, xs.length).set(xs);
        run(0, bytes, xs.length);
        const ys = new Float32Array(memory.buffer, bytes, xs.length);
        for (let k = 0; k < xs.length; k++) {
          const err = ulpError(ys[k]!, reference[f](xs[k]!));
          if (err > worst) [worst, at] = [err, xs[k]!];
        }
        points += xs.length;
      }
      console.log(`${f}: max ${worst.toFixed(3)} ulp at x = ${at} over ${points} points`);
      expect(worst, `${f} at x = ${at}`).toBeLessThanOrEqual(ULP_BOUNDS[f]);
    });
  }
});
