/**
 * estc's side of the bench: builds bench/programs/*.est with the compiler API (dist/compiler,
 * so `npm run build` must have run) into bench/.build/ and wraps the generated functions.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { tensor, type CpuDevice, type EstFunction, type Tensor } from "estc/runtime";
import { P, type Inputs, type Runner, type Workload } from "./workloads.js";
import { MLP, type MlpData, type MlpResult, type MlpRunner } from "./mlp.js";

/** The part of compiler/build.ts the bench calls (host undefined: the default node host). */
interface BuildApi {
  buildFile(entry: string, outDir: string, emit: "ts" | "js", host?: undefined, options?: { fuseMatMuls?: boolean }): Promise<{
    diagnostics: { severity: string; code: string; message: string }[];
    written: string[];
  }>;
}

/** The generated functions, one per program. */
export interface EstcPrograms {
  reste: EstFunction;
  clipped: EstFunction;
  chain: EstFunction;
  mlp: EstFunction;
  conv: EstFunction;
  /** Milliseconds each build took. */
  buildMs: Record<string, number>;
}

const programs = { reste: "sign_reste", clipped: "sign_clipped", chain: "chain", mlp: "mlp", conv: "conv" } as const;
const exported = { reste: "act", clipped: "act", chain: "chain", mlp: "loss", conv: "conv" } as const;

/** The compiler's build API, from dist/compiler/build.js. */
export const loadBuildApi = async (root: string) => (await import(pathToFileURL(path.join(root, "dist/compiler/build.js")).href)) as BuildApi;

/** Builds bench/programs/FILE.est into `outDir`, imports the module and returns its `name` export and the build time. */
export async function buildOne(api: BuildApi, root: string, file: string, name: string, outDir: string, fuseMatMuls = true): Promise<{ fn: EstFunction; ms: number }> {
  fs.mkdirSync(outDir, { recursive: true });
  const entry = path.join(root, "bench/programs", `${file}.est`);
  const t0 = performance.now();
  const r = await api.buildFile(entry, outDir, "js", undefined, { fuseMatMuls });
  const ms = performance.now() - t0;
  const errors = r.diagnostics.filter((d) => d.severity === "error");
  if (errors.length > 0 || r.written.length === 0) {
    throw new Error(`estc build ${file}.est failed:\n${errors.map((d) => `  ${d.code}: ${d.message}`).join("\n")}`);
  }
  // A query string defeats the module cache if the bench is re-run in one process.
  const url = `${pathToFileURL(path.join(outDir, `${file}.js`)).href}?t=${Date.now()}`;
  const mod = (await import(url)) as Record<string, EstFunction>;
  return { fn: mod[name]!, ms };
}

/** Builds every bench program and imports the generated modules. */
export async function buildPrograms(root: string): Promise<EstcPrograms> {
  const api = await loadBuildApi(root);
  const outDir = path.join(root, "bench/.build");
  const fns: Record<string, EstFunction> = {};
  const buildMs: Record<string, number> = {};
  for (const [key, file] of Object.entries(programs)) {
    const built = await buildOne(api, root, file, exported[key as keyof typeof exported], outDir);
    buildMs[file] = built.ms;
    fns[key] = built.fn;
  }
  return { reste: fns.reste!, clipped: fns.clipped!, chain: fns.chain!, mlp: fns.mlp!, conv: fns.conv!, buildMs };
}

/**
 * The MLP built with `fuseMatMuls: false` (bare products, transposes as their own steps) into
 * bench/.build/unfused/: the baseline that shows what fusing prologues and epilogues saves.
 */
export async function buildMlpUnfused(root: string): Promise<{ fn: EstFunction; ms: number }> {
  return buildOne(await loadBuildApi(root), root, programs.mlp, exported.mlp, path.join(root, "bench/.build/unfused"), false);
}

const fnFor = (p: EstcPrograms, w: Workload) => (w === "sign/ReSTE" ? p.reste : w === "sign/ClippedSTE" ? p.clipped : p.chain);
const optionsFor = (w: Workload) => (w === "sign/ReSTE" ? { o: P.reste.o } : w === "chain4" ? { s: P.chain.s } : {});

/**
 * How a step calls the function: `forward` then `vjp` (stateless: the vjp recomputes what it
 * needs from x); `vjpFn` then its pullback (the forward saves residuals, bit masks for
 * predicates); or one of `forward` / `vjp` alone, for the breakdown.
 */
export type EstcMode = "forward+vjp" | "vjpFn" | "forward" | "vjp";

export function estcRunner(p: EstcPrograms, w: Workload, inp: Inputs, mode: EstcMode = "forward+vjp", device?: CpuDevice): Runner {
  const f = fnFor(p, w);
  const opts = { ...optionsFor(w), ...(device === undefined ? {} : { device }) };
  const x = tensor(inp.x, [inp.n]);
  const inputs: Record<string, Tensor> = w === "chain4" ? { x, y: tensor(inp.y, [inp.n]) } : { x };
  const g = tensor(inp.g, [inp.n]);
  let out: Tensor | undefined;
  let grads: Record<string, Tensor> = {};
  const release = () => {
    out?.dispose();
    Object.values(grads).forEach((t) => t.dispose());
    out = undefined;
    grads = {};
  };
  return {
    async step() {
      release();
      if (mode === "vjpFn") {
        const r = await f.vjpFn(inputs, opts);
        out = r.out as Tensor;
        grads = await r.pullback(g);
      } else {
        if (mode !== "vjp") out = (await f.forward(inputs, opts)) as Tensor;
        if (mode !== "forward") grads = await f.vjp(inputs, g, opts);
      }
    },
    async result() {
      const names = w === "chain4" ? ["x", "y"] : ["x"];
      return {
        out: (await out!.data()) as Float32Array,
        grads: await Promise.all(names.map(async (n) => (await grads[n]!.data()) as Float32Array)),
      };
    },
    dispose() {
      release();
      Object.values(inputs).forEach((t) => t.dispose());
      g.dispose();
    },
  };
}

/** estc's `valueAndGrad` of the MLP loss, on `device` (default the shared `cpu()`). */
export function estcMlp(p: EstcPrograms, d: MlpData, device?: CpuDevice): MlpRunner {
  const inputs = {
    x: tensor(d.x, [d.batch, d.sizes[0]]),
    w1: tensor(d.w[0]!, [d.sizes[0], d.sizes[1]]),
    w2: tensor(d.w[1]!, [d.sizes[1], d.sizes[2]]),
    w3: tensor(d.w[2]!, [d.sizes[2], d.sizes[3]]),
    labels: tensor(d.labels, [d.batch]),
  };
  let last: { value: Tensor; grads: Record<string, Tensor> } | undefined;
  const release = () => {
    last?.value.dispose();
    Object.values(last?.grads ?? {}).forEach((t) => t.dispose());
  };
  return {
    async step() {
      release();
      last = await p.mlp.valueAndGrad(inputs, { o: P.reste.o, wrt: MLP.wrt, ...(device === undefined ? {} : { device }) });
    },
    async result(): Promise<MlpResult> {
      const value = (await last!.value.data())[0]!;
      const grads = await Promise.all(["w1", "w2", "w3"].map(async (n) => (await last!.grads[n]!.data()) as Float32Array));
      return { loss: value, grads };
    },
    dispose() {
      release();
      Object.values(inputs).forEach((t) => t.dispose());
    },
  };
}

/** The conv bench's data: x [64, 32, 28, 28], w [32, 32, 3, 3], a cotangent like the output. */
export interface ConvData {
  x: Float32Array;
  w: Float32Array;
  ct: Float32Array;
}

/** Shapes of the conv bench's layer. */
export const CONV = { x: [64, 32, 28, 28], w: [32, 32, 3, 3] } as const;

/** forward + vjp (dx, dw) of the conv layer on `device`; `result` is [out, dx, dw]. */
export function estcConv(p: EstcPrograms, d: ConvData, device: CpuDevice) {
  const x = tensor(d.x, [...CONV.x]);
  const w = tensor(d.w, [...CONV.w]);
  const ct = tensor(d.ct, [...CONV.x]);
  let last: Tensor[] = [];
  const release = () => last.forEach((t) => t.dispose());
  return {
    async step() {
      release();
      const out = (await p.conv.forward({ x, w }, { device })) as Tensor;
      const g = await p.conv.vjp({ x, w }, ct, { device });
      last = [out, g["x"]!, g["w"]!];
    },
    async result(): Promise<Float32Array[]> {
      return Promise.all(last.map(async (t) => (await t.data()) as Float32Array));
    },
    dispose() {
      release();
      [x, w, ct].forEach((t) => t.dispose());
    },
  };
}
