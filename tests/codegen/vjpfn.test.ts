/**
 * vjpFn keeps residuals in their cheapest form: a ReLU's mask travels as bits (32x smaller
 * than f32), cheap elementwise values are recomputed from the inputs, and the pullback's
 * gradients equal the stateless vjp's.
 */
import { describe, expect, it } from "vitest";
import { cpu, tensor } from "estc/runtime";
import { buildModule } from "../helpers/build.js";
import { rng } from "../helpers/gradcheck.js";

function random(n: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => r() * 2 - 1);
}

describe("vjpFn residuals", () => {
  it("saves a ReLU mask after a matmul as a bit mask and matches vjp", async () => {
    const { mod } = await buildModule(`fn f(x: f32[B, I], w: f32[I, H]) -> f32[B, H] { return relu(x @ w) }`);
    const [B, I, H] = [8, 5, 64];
    const inputs = { x: tensor(random(B * I, 1), [B, I]), w: tensor(random(I * H, 2), [I, H]) };
    const ct = tensor(random(B * H, 3), [B, H]);
    const memory = cpu().memory;
    const before = memory.bytesSavedForBackward;
    const { out, pullback } = await mod.f.vjpFn(inputs);
    // B*H = 512 predicate bits = 16 words = 64 bytes, against 2048 bytes for an f32 mask.
    expect(memory.bytesSavedForBackward - before).toBe(64);
    const viaPullback = await pullback(ct);
    expect(memory.bytesSavedForBackward).toBe(before);
    const stateless = await mod.f.vjp(inputs, ct);
    const fwd = await mod.f.forward(inputs);
    expect(Array.from(await out.data())).toEqual(Array.from(await fwd.data()));
    for (const name of ["x", "w"]) expect(Array.from(await viaPullback[name].data())).toEqual(Array.from(await stateless[name].data()));
    await expect(pullback(ct)).rejects.toThrow(/already ran/);
  });

  it("recomputes a sign estimator's inputs instead of saving them", async () => {
    const { mod } = await buildModule(`import { ReSTE } from "std/binary"
fn f(x: f32[B, I], w: f32[I, O], o: f32 = 3.0) -> f32[B, O] { return (sign x backward ReSTE(o = o)) @ w }`);
    const inputs = { x: tensor(random(12, 4), [3, 4]), w: tensor(random(8, 5), [4, 2]) };
    const memory = cpu().memory;
    const before = memory.bytesSavedForBackward;
    const { pullback } = await mod.f.vjpFn(inputs, { o: 2 });
    expect(memory.bytesSavedForBackward - before).toBe(0);
    const ct = tensor(random(6, 6), [3, 2]);
    const g = await pullback(ct);
    const want = await mod.f.vjp(inputs, ct, { o: 2 });
    expect(Array.from(await g.x.data())).toEqual(Array.from(await want.x.data()));
  });
});
