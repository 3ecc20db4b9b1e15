/**
 * The generated TypeScript kernels against the f64 reference evaluator: forward values and
 * vjp gradients of the same programs must agree to f32 precision (inputs are rounded to f32
 * before both see them).
 */
import { describe, expect, it } from "vitest";
import { tensor } from "estc/runtime";
import { evaluate } from "../../compiler/interpret.js";
import { buildModule } from "../helpers/build.js";
import { rng } from "../helpers/gradcheck.js";
import { programs } from "../helpers/programs.js";

const cases = programs;

/** f32 inputs as the generated code sees them, so the oracle takes the same branches. */
function roundF32(a: Float64Array): Float64Array {
  return a.map(Math.fround);
}

describe("generated CPU kernels agree with the reference evaluator", () => {
  for (const c of cases) {
    it(c.name, async () => {
      const { fns, mod } = await buildModule(c.src);
      const fn = fns[c.fn]!;
      const r = rng(3);
      const concrete = (shape: (number | string)[]) => shape.map((d) => (typeof d === "number" ? d : c.dims[d]!));
      const inputs: Record<string, any> = {};
      const oracleInputs: Record<string, { data: Float64Array | Int32Array; shape: number[] }> = {};
      for (const i of fn.lowered.inputs) {
        const shape = concrete(i.shape);
        const n = shape.reduce((a, b) => a * b, 1);
        if (i.dtype === "i32") {
          const data = Int32Array.from({ length: n }, () => Math.floor(r() * 2));
          inputs[i.name] = tensor(data, shape);
          oracleInputs[i.name] = { data, shape };
        } else {
          const data = roundF32(Float64Array.from({ length: n }, () => r() * 4 - 2));
          inputs[i.name] = tensor(Float32Array.from(data), shape);
          oracleInputs[i.name] = { data, shape };
        }
      }
      const scalars = { ...Object.fromEntries(fn.lowered.scalars.map((s) => [s.name, s.default])), ...c.scalars };
      const env = { inputs: oracleInputs, scalars, dims: c.dims, seed: 11 };
      const expected = evaluate(fn.lowered.outputs, env);
      const out = await mod[c.fn].forward(inputs, { ...c.scalars, seed: 11 });
      const outs = Array.isArray(out) ? out : [out];
      for (let k = 0; k < outs.length; k++) {
        const got = await outs[k].data();
        expect(Array.from(outs[k].shape)).toEqual(expected[k]!.shape);
        got.forEach((v: number, j: number) => expect(v).toBeCloseTo(expected[k]!.data[j]!, 4));
      }
      if (Object.keys(fn.grads).length === 0) return;
      const cts = expected.map((e) => roundF32(Float64Array.from({ length: e.data.length }, () => r() * 2 - 1)));
      const ctTensors = cts.map((ct, k) => tensor(Float32Array.from(ct), expected[k]!.shape));
      const grads = await mod[c.fn].vjp(inputs, fn.lowered.tuple ? ctTensors : ctTensors[0], { ...c.scalars, seed: 11 });
      const withCts = { ...oracleInputs };
      cts.forEach((ct, k) => (withCts[`$ct${k}`] = { data: ct, shape: expected[k]!.shape }));
      for (const name of Object.keys(fn.grads)) {
        const [want] = evaluate([fn.grads[name]!], { ...env, inputs: withCts });
        const got = await grads[name].data();
        got.forEach((v: number, j: number) => expect(v).toBeCloseTo(want!.data[j]!, 4));
      }
    });
  }
});
