/**
 * Programs whose convolutions take an epilogue (compiler/schedule-conv.ts), the generated module
 * built with and without the fusion, and an f64 reference written here from the formulas: the
 * naive convolution of ./conv-naive.ts, each fn's elementwise tail, and its vjp by hand (the
 * cotangent of the convolution's output dv, scattered back onto x and w by plain loops).
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { cpu, tensor, type Tensor, type WebGpuDevice } from "estc/runtime";
import { generateModule } from "../../compiler/codegen/ts/module.js";
import { differentiate, type DifferentiatedFn } from "../../compiler/differentiate.js";
import { checkFiles } from "../../compiler/pipeline.js";
import { renderDiagnostics } from "../../compiler/render.js";
import { evaluateDim } from "../../compiler/dims.js";
import { tmpRoot } from "./build.js";
import { memoryHost } from "./compile.js";
import { naiveConv2d, type Geometry } from "./conv-naive.js";
import { rng } from "./gradcheck.js";
import type { Input } from "./backends.js";

/** The programs; symbolic B, H, W so the kernels read sizes from the dims. */
export const CONV_EPI = `import { STE, ClippedSTE } from "std/binary"
import { batch_norm2d_eval } from "std/nn"

fn bias_sign(x: f32[B, 2, H, W], w: f32[4, 2, 3, 3], b: f32[4]) -> f32[B, 4, H, W] {
  return sign(conv2d(x, w, padding = 1) + reshape(b, [4, 1, 1])) backward STE
}

fn bias_clipped(x: f32[B, 2, H, W], w: f32[4, 2, 3, 3], b: f32[4]) -> f32[B, 4, H, W] {
  return sign(conv2d(x, w, padding = 1) + reshape(b, [4, 1, 1])) backward ClippedSTE
}

fn bn_eval_relu(x: f32[B, 2, H, W], w: f32[4, 2, 3, 3], gamma: f32[4], beta: f32[4], rm: f32[4], rv: f32[4]) -> f32[B, 4, H, W] {
  return relu(batch_norm2d_eval(conv2d(x, w, padding = 1), gamma, beta, rm, rv))
}

fn bn_train_sign(x: f32[B, 2, H, W], w: f32[4, 2, 3, 3]) -> f32[B, 4, H, W] {
  let c = conv2d(x, w, padding = 1)
  let mu = mean(c, axis = [0, 2, 3], keepdims = true)
  let v = mean((c - mu) * (c - mu), axis = [0, 2, 3], keepdims = true)
  return sign((c - mu) * rsqrt(v + 1e-5)) backward STE
}

fn row_operand(x: f32[B, 2, H, 9], w: f32[4, 2, 3, 3], r: f32[9]) -> f32[B, 4, H, 9] {
  return tanh(conv2d(x, w, padding = 1) * r)
}

fn point_operand(x: f32[B, 2, H, W], w: f32[4, 2, 3, 3], s: f32[B, 4, 1, 1]) -> f32[B, 4, H, W] {
  return tanh(conv2d(x, w, padding = 1) * s)
}

fn grouped(x: f32[B, 4, H, W], w: f32[6, 2, 3, 3], b: f32[6]) -> f32[B, 6, (H - 1) / 2 + 1, (W - 1) / 2 + 1] {
  return clamp(conv2d(x, w, stride = 2, padding = 1, groups = 2) + reshape(b, [6, 1, 1]), -0.5, 0.5)
}

fn shared(x: f32[B, 2, H, W], w: f32[4, 2, 3, 3], b: f32[4]) -> f32[B, 4, H, W] {
  let c = conv2d(x, w, padding = 1)
  let y = sign(c + reshape(b, [4, 1, 1])) backward STE
  return y + mean(c)
}
`;

/** Each fn's geometry (padding 1 unless said). */
const GEOMETRY: Record<string, Geometry> = { grouped: { stride: [2, 2], padding: [1, 1], groups: 2 } };
/** Spatial sizes: 40 x 40 over B = 3 makes 4,800 output columns, more than one im2col chunk, with an image split between two. */
const SPATIAL: Record<string, [number, number]> = { row_operand: [7, 9], grouped: [11, 13] };

/** The fns of CONV_EPI whose numbers the CPU and WebGPU tests check, with the batch size each runs at. */
export const EPILOGUE_CASES = [
  { fn: "bias_sign", dims: { B: 3 } },
  { fn: "bias_clipped", dims: { B: 3 } },
  { fn: "bn_eval_relu", dims: { B: 2 } },
  { fn: "point_operand", dims: { B: 2 } },
  { fn: "grouped", dims: { B: 3 } },
  { fn: "shared", dims: { B: 2 } },
];

/** Random inputs of fn's types at `dims` (H and W from SPATIAL, 40 x 40 by default). */
export function randomInputs(fn: DifferentiatedFn, dims: Record<string, number>, seed: number): Record<string, Input> {
  const [h, w] = SPATIAL[fn.lowered.name] ?? [40, 40];
  const all = { H: h, W: w, ...dims };
  const r = rng(seed);
  const out: Record<string, Input> = {};
  for (const i of fn.lowered.inputs) {
    const shape = i.shape.map((d) => evaluateDim(d, (k) => all[k as keyof typeof all])!);
    const n = shape.reduce((a, b) => a * b, 1);
    // rv is a variance: positive. Everything else in [-1, 1].
    const draw = i.name === "rv" ? () => 0.5 + r() : () => r() * 2 - 1;
    out[i.name] = { data: Array.from({ length: n }, () => Math.fround(draw())), shape };
  }
  return out;
}

/** The module of CONV_EPI built with the conv epilogues fused, and without (`--fuse-matmul off`). */
export async function buildVariants(text: string): Promise<{ fused: Record<string, any>; unfused: Record<string, any> }> {
  const result = checkFiles(["main.est"], memoryHost({ "main.est": text }));
  if (result.diagnostics.length > 0) throw new Error(renderDiagnostics(result.diagnostics, result.sources));
  const checked = result.programs[0]!;
  const fns: DifferentiatedFn[] = [];
  for (const item of checked.program.entry.ast.items) {
    if (item.kind !== "Fn") continue;
    const d = differentiate(checked, checked.program.entry, item);
    if (d.fn === undefined) throw new Error(renderDiagnostics(d.diagnostics, result.sources));
    fns.push(d.fn);
  }
  const load = async (fuse: boolean) => {
    const generated = await generateModule("main.est", fns, result.sources, true, fuse);
    const dir = path.join(tmpRoot, `conv-epi-${crypto.createHash("sha1").update(text).digest("hex").slice(0, 10)}-${fuse ? "fused" : "unfused"}`);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "main.js"), generated.js!);
    fs.writeFileSync(path.join(dir, "main.wgsl.js"), generated.wgslJs!);
    const mod = (await import(pathToFileURL(path.join(dir, "main.js")).href)) as Record<string, any>;
    // The WGSL sibling loaded up front, as a fn's first WebGPU call would, for tests that read spec.wgsl.
    for (const f of Object.values(mod)) f.spec.wgsl ??= await f.spec.loadWgsl();
    return mod;
  };
  return { fused: await load(true), unfused: await load(false) };
}

/**
 * Runs fn `name` of a built module on the CPU's `kernels` or a WebGPU device: its forward, the vjp
 * of `ct`, and vjpFn's pullback of `ct` (the forward with residuals, then the pullback) with the
 * bytes it saved for the backward in between.
 */
export async function runModule(
  mod: Record<string, any>, name: string, inputs: Record<string, Input>, ct: number[], on: "wasm" | "ts" | WebGpuDevice,
): Promise<{ outputs: number[][]; grads: Record<string, number[]>; pulled: Record<string, number[]>; savedBytes: number }> {
  const device = on === "wasm" || on === "ts" ? cpu({ kernels: on }) : on;
  const ins: Record<string, Tensor> = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, tensor(Float32Array.from(v.data), v.shape)]));
  const out: Tensor = await mod[name].forward(ins, { device });
  const cotangent = tensor(Float32Array.from(ct), Array.from(out.shape));
  const read = async (g: Record<string, Tensor>) => Object.fromEntries(await Promise.all(Object.entries(g).map(async ([k, t]) => [k, Array.from(await t.data(), Number)] as const)));
  const grads = await read(await mod[name].vjp(ins, cotangent, { device }));
  const before = device.memory.bytesSavedForBackward;
  const { pullback } = await mod[name].vjpFn(ins, { device });
  const savedBytes = device.memory.bytesSavedForBackward - before;
  const pulled = await read(await pullback(cotangent));
  return { outputs: [Array.from(await out.data(), Number)], grads, pulled, savedBytes };
}

/**
 * fn `name`'s output, a random cotangent, and the gradients by hand for x, w and the fn's
 * per-channel operand (b; for bn_eval_relu beta): dv (the cotangent at the convolution's output)
 * from the fn's tail, then dx, dw by scattering dv back through the convolution's sum.
 */
export function naiveEpilogue(name: string, inputs: Record<string, Input>): { outputs: number[][]; ct: number[]; grads: Record<string, number[]> } {
  const x = inputs["x"]!;
  const w = inputs["w"]!;
  const g = GEOMETRY[name] ?? { padding: [1, 1] };
  const conv = naiveConv2d(x.data, x.shape, w.data, w.shape, g);
  const [, O, Ho, Wo] = conv.shape as [number, number, number, number];
  const plane = Ho * Wo;
  const ch = (e: number) => Math.floor(e / plane) % O;
  const vec = (k: string) => Array.from(inputs[k]!.data);
  const r = rng(99);
  const ct = conv.data.map(() => Math.fround(r() * 2 - 1));
  const sum = (a: number[]) => a.reduce((s, v) => s + v, 0);
  let out: number[];
  let dv: number[];
  const extra: Record<string, number[]> = {};
  const perChannel = (d: number[]) => Array.from({ length: O }, (_, o) => sum(d.filter((_, e) => ch(e) === o)));
  switch (name) {
    case "bias_sign":
    case "bias_clipped":
    case "shared": {
      const b = vec("b");
      const v = conv.data.map((c, e) => c + b[ch(e)]!);
      const m = name === "shared" ? sum(conv.data) / conv.data.length : 0;
      out = v.map((y) => Math.sign(y) + m);
      dv = name === "bias_clipped" ? ct.map((c, e) => (Math.abs(v[e]!) <= 1 ? c : 0)) : ct.slice();
      extra["b"] = perChannel(dv);
      if (name === "shared") dv = dv.map((d) => d + sum(ct) / conv.data.length);
      break;
    }
    case "bn_eval_relu": {
      const [gamma, beta, rm, rv] = ["gamma", "beta", "rm", "rv"].map(vec) as [number[], number[], number[], number[]];
      const scale = rv.map((s, o) => gamma[o]! / Math.sqrt(s + 1e-5));
      const pre = conv.data.map((c, e) => c * scale[ch(e)]! + beta[ch(e)]! - rm[ch(e)]! * scale[ch(e)]!);
      out = pre.map((p) => Math.max(p, 0));
      const live = ct.map((c, e) => (pre[e]! > 0 ? c : 0));
      extra["beta"] = perChannel(live);
      dv = live.map((d, e) => d * scale[ch(e)]!);
      break;
    }
    case "point_operand": {
      const s = vec("s");
      const at = (e: number) => Math.floor(e / plane);
      out = conv.data.map((c, e) => Math.tanh(c * s[at(e)]!));
      dv = ct.map((c, e) => c * (1 - out[e]! ** 2) * s[at(e)]!);
      break;
    }
    case "grouped": {
      const b = vec("b");
      const v = conv.data.map((c, e) => c + b[ch(e)]!);
      out = v.map((y) => Math.min(Math.max(y, -0.5), 0.5));
      dv = ct.map((c, e) => (v[e]! >= -0.5 && v[e]! <= 0.5 ? c : 0));
      extra["b"] = perChannel(dv);
      break;
    }
    default:
      throw new Error(`no reference for ${name}`);
  }
  return { outputs: [out], ct, grads: { ...convVjp(x, w, g, dv), ...extra } };
}

/** dx and dw of Σ dv · conv2d(x, w): each output element's window, scattered. */
function convVjp(x: Input, w: Input, g: Geometry, dv: number[]): Record<string, number[]> {
  const [B, C, H, W] = x.shape as [number, number, number, number];
  const [O, Cg, KH, KW] = w.shape as [number, number, number, number];
  const [sh, sw] = g.stride ?? [1, 1];
  const [ph, pw] = g.padding ?? [0, 0];
  const groups = g.groups ?? 1;
  const Ho = Math.floor((H + 2 * ph - KH) / sh) + 1;
  const Wo = Math.floor((W + 2 * pw - KW) / sw) + 1;
  const dx = new Array<number>(x.data.length).fill(0);
  const dw = new Array<number>(w.data.length).fill(0);
  for (let b = 0; b < B; b++)
    for (let o = 0; o < O; o++) {
      const grp = Math.floor(o / (O / groups));
      for (let i = 0; i < Ho; i++)
        for (let j = 0; j < Wo; j++) {
          const d = dv[((b * O + o) * Ho + i) * Wo + j]!;
          for (let c = 0; c < Cg; c++)
            for (let u = 0; u < KH; u++)
              for (let v = 0; v < KW; v++) {
                const h = i * sh - ph + u;
                const q = j * sw - pw + v;
                if (h < 0 || h >= H || q < 0 || q >= W) continue;
                const xi = ((b * C + grp * Cg + c) * H + h) * W + q;
                const wi = ((o * Cg + c) * KH + u) * KW + v;
                dx[xi]! += d * w.data[wi]!;
                dw[wi]! += d * x.data[xi]!;
              }
        }
    }
  return { x: dx, w: dw };
}
