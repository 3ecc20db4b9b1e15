// Runs test cases on generated modules and reports every result as plain data (f32 values as their
// bit patterns, so NaN, -0 and exact bits survive the trip). The same file runs in the page (served
// as an ES module, `estc/runtime` from an import map) and in Node (`estc/runtime` by the package's
// self-reference), so both sides call the modules through identical code. Plain JavaScript because
// the browser loads it as it is. See ./types.ts for the shapes of cases and results.
import { cpu, tensor, webgpu } from "estc/runtime";

let gpuDevice;

/** The page's (or process's) one WebGPU device, opened on first use. */
export function sharedGpu() {
  gpuDevice ??= webgpu();
  return gpuDevice;
}

/** A tensor from its wire form. */
function fromWire(w) {
  const data = w.dtype === "i32" ? Int32Array.from(w.data) : w.dtype === "bool" ? Uint8Array.from(w.data) : Float32Array.from(w.data);
  return tensor(data, w.shape);
}

/** A tensor's wire form: f32 as bit patterns, i32 and bool as numbers. */
async function toWire(t) {
  const a = await t.data();
  const data = a instanceof Float32Array ? Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length)) : Array.from(a, Number);
  const wire = { dtype: t.dtype, shape: Array.from(t.shape), device: t.device, data };
  t.dispose?.();
  return wire;
}

async function wireMap(record) {
  const out = {};
  for (const name of Object.keys(record).sort()) out[name] = await toWire(record[name]);
  return out;
}

const list = (o) => (Array.isArray(o) ? o : [o]);

/** Runs one case's calls on its device; an error is reported (code and message), never thrown. */
async function runCase(c, load) {
  const started = performance.now();
  try {
    const mod = await load(c.module);
    const f = mod[c.fn];
    if (f === undefined) throw new Error(`no fn ${c.fn} in ${c.module}`);
    const device = c.device === "webgpu" ? await sharedGpu() : cpu(c.cpuOptions);
    const inputs = Object.fromEntries(Object.entries(c.inputs).map(([k, v]) => [k, fromWire(v)]));
    const opts = { ...c.scalars, ...(c.seed === undefined ? {} : { seed: c.seed }), device };
    const result = { id: c.id };
    const mark = (what) => globalThis.estcVerbose && console.log(`  ${what} ${(performance.now() - started).toFixed(0)} ms`);
    if (c.calls.includes("forward")) result.forward = await Promise.all(list(await f.forward(inputs, opts)).map(toWire));
    mark("forward");
    if (c.calls.includes("vjp")) {
      const cts = c.cotangents.map(fromWire);
      result.vjp = await wireMap(await f.vjp(inputs, f.spec.tuple ? cts : cts[0], opts));
    }
    mark("vjp");
    if (c.calls.includes("valueAndGrad")) {
      const r = await f.valueAndGrad(inputs, opts);
      result.valueAndGrad = { value: await toWire(r.value), grads: await wireMap(r.grads) };
    }
    if (c.calls.includes("vjpFn")) {
      const r = await f.vjpFn(inputs, opts);
      const cts = c.cotangents.map(fromWire);
      const out = list(r.out);
      result.vjpFn = { out: await Promise.all(out.map(toWire)), pullback: await wireMap(await r.pullback(f.spec.tuple ? cts : cts[0])) };
    }
    result.ms = performance.now() - started;
    return result;
  } catch (e) {
    return { id: c.id, error: { code: e?.code, message: String(e?.message ?? e) }, ms: performance.now() - started };
  }
}

/** A case that runs longer than this is reported as failed, so a stuck kernel cannot hang the suite. */
const CASE_TIMEOUT_MS = 60_000;

/**
 * Runs `cases` one after another; `load(moduleUrl)` imports a generated module (the page's
 * `import()`, or Node's with the URL mapped to a file).
 */
export async function runCases(cases, load = (url) => import(url)) {
  const results = [];
  for (const c of cases) {
    let timer;
    const late = new Promise((settle) => {
      timer = setTimeout(() => settle({ id: c.id, error: { message: `did not finish in ${CASE_TIMEOUT_MS / 1000} s` }, ms: CASE_TIMEOUT_MS }), CASE_TIMEOUT_MS);
    });
    results.push(await Promise.race([runCase(c, load), late]));
    clearTimeout(timer);
    if (globalThis.estcVerbose) console.log(`${c.device} ${c.id}: ${results.at(-1).ms.toFixed(0)} ms${results.at(-1).error ? ` ${results.at(-1).error.message}` : ""}`);
  }
  return results;
}

/** What the page's runtime found: the adapter (path, fallback, limits) and the device's limits. */
export async function describeGpu(names) {
  const d = await sharedGpu();
  const pick = (limits) => Object.fromEntries(names.map((n) => [n, limits[n]]));
  return {
    path: d.adapter.path,
    isFallbackAdapter: d.adapter.isFallbackAdapter,
    serialReductions: d.serialReductions,
    adapterLimits: pick(d.adapter.limits),
    deviceLimits: pick(d.limits),
    attempts: d.adapter.attempts,
  };
}
