import { it } from "vitest";
import { run } from "../helpers/backends.js";

const SRC = `
fn logistic(x: f32[N]) -> f32[N] { return exp(x) / (1 + exp(x)) }
fn divide(x: f32[N], y: f32[N]) -> f32[N] { return x / y }
fn divlit(x: f32[N]) -> f32[N] { return x / 0.0 }
fn sgn(x: f32[N]) -> f32[N] { return sign(x) }
fn stp(x: f32[N]) -> f32[N] { return step(x) }
fn mx(x: f32[N]) -> f32[N] { return max(x, 0.0) + relu(x) * 0 }
fn mx2(x: f32[N]) -> f32[N] { return min(x, 1.0) }
fn big(x: i32[N]) -> i32[N] { return x + 1 }
fn io(x: f32[N]) -> i32[N] { return iota([N]) * 300 }
fn nrm(x: f32[N]) -> f32[N] { return normal(x * 0, 1.0 + x * 0) }
`;
it("probe", async () => {
  const x = { data: [100, -100, 0, NaN, Infinity, -Infinity, 1, -0], shape: [8] };
  const y = { data: [0, 0, 0, 0, 0, -0, 0, 0], shape: [8] };
  for (const b of ["cpu", "webgpu"] as const) {
    for (const f of ["logistic", "divlit", "sgn", "stp", "mx", "mx2"]) console.log(b, f, ((await run(b, SRC, f, { x })).outputs[0]).map(String).join(" "));
    console.log(b, "divide", ((await run(b, SRC, "divide", { x, y })).outputs[0]).map(String).join(" "));
    console.log(b, "big", ((await run(b, SRC, "big", { x: { data: [16777217, 2147483647, 33554433], shape: [3], dtype: "i32" } })).outputs[0]).map(String).join(" "));
    console.log(b, "nrm", ((await run(b, SRC, "nrm", { x: { data: [0,0,0,0], shape: [4] } }, { seed: 1 })).outputs[0]).map(String).join(" "));
  }
});
