/**
 * The `wrt` option: vjp, valueAndGrad and vjpFn's pullback return only the gradients asked for,
 * equal to the same gradients of a full call, and skip the steps only the others need (a layer's
 * data gradient is a whole matrix product). Checked on cpu() and on WebGPU, against the full call
 * on the same back end, plus the single-assignment property the pruning rests on: every kernel
 * writes exactly the buffers it touches first (checked against the WGSL bindings' access modes).
 */
import { describe, expect, it } from "vitest";
import { cpu, tensor, type EntryPlan, type FunctionSpec, type Tensor } from "estc/runtime";
import { firstTouches, prunedPlan, stepWrites } from "../../runtime/prune.js";
import { sharedDevice } from "../helpers/backends.js";
import { buildModule } from "../helpers/build.js";
import { cotangentsFor, inputsFor, programs } from "../helpers/programs.js";
import { mulberry32 } from "../helpers/random.js";

const MLP = `import { ClippedSTE } from "std/binary"
fn loss(x: f32[B, I], w1: f32[I, H], w2: f32[H, K], labels: i32[B]) -> f32 {
  let h = sign(x @ w1) backward ClippedSTE
  return -mean(sum(one_hot(labels, K) * log_softmax(relu(h @ w2), axis = 1), axis = 1))
}`;
const [B, I, H, K] = [8, 12, 16, 5];

function random(shape: number[], seed: number): Tensor {
  const r = mulberry32(seed);
  return tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r() * 2 - 1), shape);
}

function mlpInputs() {
  const labels = tensor(Int32Array.from({ length: B }, (_, i) => (i * 3) % K), [B]);
  return { x: random([B, I], 1), w1: random([I, H], 2), w2: random([H, K], 3), labels };
}

async function arrays(grads: Record<string, Tensor>): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const [name, t] of Object.entries(grads)) out[name] = Array.from(await t.data());
  return out;
}

/** Matrix-product steps of a plan (generated matmul kernels and library matmul steps). */
function products(spec: FunctionSpec, plan: EntryPlan): number {
  return plan.steps.filter((s) => s.op === "matmul" || (s.op === "kernel" && spec.wgsl?.[s.kernel]?.matmul !== undefined)).length;
}

describe("wrt", () => {
  for (const backend of ["cpu", "webgpu"] as const) {
    const options = async () => (backend === "cpu" ? {} : { device: await sharedDevice() });

    it(`${backend}: valueAndGrad and vjp return just the asked-for gradients, equal to the full call's`, async () => {
      const { mod } = await buildModule(MLP);
      const inputs = mlpInputs();
      const opts = await options();
      const memory = (backend === "cpu" ? cpu() : opts.device!).memory;
      const allocated = memory.bytesAllocated;
      const returned: Tensor[] = [];
      const keep = <T extends { value?: Tensor; grads?: Record<string, Tensor> } | Record<string, Tensor>>(r: T): T => {
        const ts = "grads" in r ? [r.value as Tensor, ...Object.values(r.grads as Record<string, Tensor>)] : Object.values(r as Record<string, Tensor>);
        returned.push(...ts);
        return r;
      };
      const full = keep(await mod.loss.valueAndGrad(inputs, opts));
      const want = await arrays(full.grads);
      expect(Object.keys(want)).toEqual(["x", "w1", "w2"]);
      for (const wrt of [["w1", "w2"], ["x"], ["w2", "w1"], ["w1", "w1"]]) {
        const part = keep(await mod.loss.valueAndGrad(inputs, { ...opts, wrt }));
        expect(Array.from(await part.value.data())).toEqual(Array.from(await full.value.data()));
        const got = await arrays(part.grads);
        expect(Object.keys(got).sort()).toEqual([...new Set(wrt)].sort());
        for (const name of Object.keys(got)) expect(got[name], `${wrt} → ${name}`).toEqual(want[name]);
      }
      const ct = tensor(Float32Array.of(0.5), []);
      returned.push(ct);
      const vjp = await arrays(keep(await mod.loss.vjp(inputs, ct, { ...opts, wrt: ["w1"] })));
      expect(Object.keys(vjp)).toEqual(["w1"]);
      expect(vjp.w1).toEqual(want.w1!.map((g) => Math.fround(g * 0.5)));
      const none = keep(await mod.loss.valueAndGrad(inputs, { ...opts, wrt: [] }));
      expect(none.grads).toEqual({});
      expect(Array.from(await none.value.data())).toEqual(Array.from(await full.value.data()));
      // A pruned call frees its scratch (a kept kernel's unneeded outputs) like any intermediate.
      for (const t of returned) t.dispose();
      expect(memory.bytesAllocated).toBe(allocated);
    });

    it(`${backend}: vjpFn's pullback with wrt keeps only the residuals it reads`, async () => {
      const { mod } = await buildModule(`fn f(x: f32[B, I], w1: f32[I, H], w2: f32[H, K]) -> f32[B, K] { return relu(x @ w1) @ w2 }`);
      const inputs = { x: random([B, I], 4), w1: random([I, H], 5), w2: random([H, K], 6) };
      const ct = random([B, K], 7);
      const opts = await options();
      const memory = (backend === "cpu" ? cpu() : opts.device!).memory;
      const before = memory.bytesSavedForBackward;
      const all = await mod.f.vjpFn(inputs, opts);
      const savedAll = memory.bytesSavedForBackward - before;
      const want = await arrays(await all.pullback(ct));
      const last = await mod.f.vjpFn(inputs, { ...opts, wrt: ["w2"] });
      const savedLast = memory.bytesSavedForBackward - before;
      const got = await arrays(await last.pullback(ct));
      expect(Object.keys(got)).toEqual(["w2"]);
      expect(got.w2).toEqual(want.w2);
      // The full pullback needs relu's mask (for w1 and x); w2's gradient needs only relu(x @ w1).
      expect(savedLast).toBeLessThan(savedAll);
      expect(memory.bytesSavedForBackward).toBe(before);
    });
  }

  for (const backend of ["cpu", "webgpu"] as const) {
    it(`${backend}: every test program's vjp with one input in wrt gives that input's full gradient, bit for bit`, async () => {
      const opts = backend === "cpu" ? {} : { device: await sharedDevice() };
      let checked = 0;
      for (const p of programs) {
        const { fns, mod } = await buildModule(p.src);
        const f = mod[p.fn];
        const spec: FunctionSpec = f.spec;
        const inputs = inputsFor(fns[p.fn]!, p.dims, 7);
        const call = { ...opts, ...(p.scalars ?? {}) };
        const outs = [await f.forward(inputs, call)].flat() as Tensor[];
        const cts = cotangentsFor(await Promise.all(outs.map(async (o) => tensor(await o.data(), [...o.shape]))), 8);
        const ct = spec.tuple ? cts : cts[0]!;
        const full = await arrays(await f.vjp(inputs, ct, call));
        for (const name of spec.gradInputs) {
          const one = await arrays(await f.vjp(inputs, ct, { ...call, wrt: [name] }));
          expect(Object.keys(one), `${p.name}: wrt [${name}]`).toEqual([name]);
          expect(one[name], `${p.name}: wrt [${name}]`).toEqual(full[name]);
          checked++;
        }
        expect(await f.vjp(inputs, ct, { ...call, wrt: [] }), `${p.name}: wrt []`).toEqual({});
      }
      expect(checked).toBeGreaterThan(15);
    });
  }

  it("drops the data gradient's matrix product from the plans", async () => {
    const { mod } = await buildModule(MLP);
    const spec: FunctionSpec = mod.loss.spec;
    const plan = spec.valueAndGrad!;
    const pruned = prunedPlan(plan, [0, 2, 3]); // value, w1, w2 (gradInputs: x, w1, w2)
    expect(products(spec, plan)).toBe(products(spec, pruned) + 1);
    expect(pruned.outputs).toEqual([plan.outputs[0], plan.outputs[2], plan.outputs[3]]);
    // Only the value: the forward's two products, none of the backward's.
    expect(products(spec, prunedPlan(plan, [0]))).toBe(2);
    expect(prunedPlan(plan, [0, 2, 3])).toBe(pruned); // cached
    expect(prunedPlan(plan, [0, 1, 2, 3])).toBe(plan);
  });

  it("rejects names that are not f32 inputs, with the reason and the choices (E6020)", async () => {
    const { mod } = await buildModule(MLP);
    const inputs = mlpInputs();
    await expect(mod.loss.valueAndGrad(inputs, { wrt: ["labels"] })).rejects.toMatchObject({
      code: "E6020",
      message: expect.stringMatching(/input 'labels' is i32 and has no gradient; the f32 inputs are 'x', 'w1', 'w2'/),
    });
    await expect(mod.loss.valueAndGrad(inputs, { wrt: ["W1"] })).rejects.toThrow(/'W1' is not an input of loss \(did you mean 'w1'\?\)/);
    await expect(mod.loss.vjp(inputs, tensor(Float32Array.of(1), []), { wrt: "w1" })).rejects.toThrow(/option 'wrt' must be an array of input names, got "w1"/);
    await expect(mod.loss.forward(inputs, { wrt: ["wl"] })).rejects.toMatchObject({ code: "E6020" });
    expect(Array.from(await (await mod.loss.forward(inputs, { wrt: ["w1"] })).data())).toHaveLength(1);
    await expect(mod.loss.forward(inputs, { wrts: ["w1"] })).rejects.toThrow(/unknown option 'wrts' \(did you mean 'wrt'\?\)/);
  });

  it("rests on single assignment: a kernel writes exactly the buffers it touches first", async () => {
    let kernels = 0;
    for (const p of programs) {
      const { mod } = await buildModule(p.src);
      const spec: FunctionSpec = mod[p.fn].spec;
      const plans = [spec.forward, spec.vjp, spec.valueAndGrad, spec.forwardWithResiduals, spec.pullback];
      for (const plan of plans) {
        if (plan === undefined) continue;
        const first = firstTouches(plan);
        plan.steps.forEach((step, s) => {
          if (step.op !== "kernel") return;
          const code = spec.wgsl![step.kernel]!.code;
          const written = [...code.matchAll(/@binding\((\d+)\) var<storage, read_write>/g)].map((m) => step.args[Number(m[1]) - 1]!);
          expect(stepWrites(plan, s, first).sort(), `${p.name}: kernel ${step.kernel}`).toEqual(written.sort());
          kernels++;
        });
      }
    }
    expect(kernels).toBeGreaterThan(50);
  });
});
