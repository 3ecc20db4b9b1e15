/**
 * The Wasm SIMD matrix product (runtime/wasm/): the encoder's integer encodings, the module
 * validating, the product against an f64 triple loop under the f32 summation bound for every
 * layout and edge size (tiles, K blocks), threads agreeing bit for bit with one thread, workers
 * never keeping a process alive, and `cpu()`'s options.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { cpu, createCpuDevice, gemm } from "../../runtime/index.js";
import { useGemmKernels } from "../../runtime/matmul.js";
import { sleb, uleb } from "../../runtime/wasm/encoder.js";
import { MR, NR } from "../../runtime/wasm/gemm-kernel.js";
import { wasmGemmMatrix, wasmSimdAvailable } from "../../runtime/wasm/gemm.js";
import { readyWorkers } from "../../runtime/wasm/pool.js";
import { mulberry32 } from "../helpers/random.js";

const withCode = (code: string) => expect.objectContaining({ code });

function randomArray(size: number, seed: number): Float32Array {
  const next = mulberry32(seed);
  return Float32Array.from({ length: size }, () => next() * 2 - 1);
}

/** out = a @ b in f64, and Σ|a||b| per output (the scale of the f32 summation bound). */
function reference(a: Float32Array, b: Float32Array, m: number, k: number, n: number) {
  const value = new Float64Array(m * n);
  const scale = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      let t = 0;
      for (let p = 0; p < k; p++) {
        s += a[i * k + p]! * b[p * n + j]!;
        t += Math.abs(a[i * k + p]! * b[p * n + j]!);
      }
      value[i * n + j] = s;
      scale[i * n + j] = t;
    }
  }
  return { value, scale };
}

/** The stored transpose of a row-major [rows, cols] matrix. */
function transposed(x: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(x.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = x[r * cols + c]!;
  return t;
}

describe("wasm encoder", () => {
  it("writes LEB128 as the binary format spec's examples", () => {
    expect(uleb(0)).toEqual([0]);
    expect(uleb(127)).toEqual([0x7f]);
    expect(uleb(128)).toEqual([0x80, 0x01]);
    expect(uleb(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(sleb(-1)).toEqual([0x7f]);
    expect(sleb(63)).toEqual([0x3f]);
    expect(sleb(64)).toEqual([0xc0, 0x00]);
    expect(sleb(-123456)).toEqual([0xc0, 0xbb, 0x78]);
  });

  it("emits a gemm module this engine validates (Node 20 has Wasm SIMD)", () => {
    expect(wasmSimdAvailable).toBe(true);
  });
});

describe("wasm gemm", () => {
  // Around the 4 x 8 tile and the 256-deep K block: 1, tile - 1, tile + 1, several K blocks.
  const shapes: [number, number, number][] = [
    [1, 1, 1],
    [MR - 1, 3, NR - 1],
    [MR + 1, 7, NR + 1],
    [MR, 256, NR],
    [9, 257, 17],
    [37, 600, 29],
    [2, 1, 70],
  ];
  for (const [m, k, n] of shapes) {
    it(`[${m}, ${k}] @ [${k}, ${n}] in every layout is within the f32 summation bound of the f64 product, the same bits in each`, () => {
      const a = randomArray(m * k, m + 7 * k);
      const b = randomArray(k * n, n + 3 * k);
      const { value, scale } = reference(a, b, m, k, n);
      const aT = transposed(a, m, k);
      const bT = transposed(b, k, n);
      const layouts: Float32Array[] = [];
      for (const [transA, transB] of [[false, false], [true, false], [false, true], [true, true]] as const) {
        const out = new Float32Array(m * n).fill(NaN);
        layouts.push(out);
        // Operands at an offset, as a batch's later matrices are.
        const at = 5;
        const aBuf = new Float32Array(at + m * k);
        aBuf.set(transA ? aT : a, at);
        const bBuf = new Float32Array(at + k * n);
        bBuf.set(transB ? bT : b, at);
        wasmGemmMatrix(aBuf, at, transA ? 1 : k, transA ? m : 1, bBuf, at, transB ? 1 : n, transB ? k : 1, out, 0, m, k, n, 1);
        // Recursive f32 summation of k products: |error| <= k * 2^-24 * Σ|a_p b_p| (plus rounding each product).
        for (let i = 0; i < m * n; i++) {
          const bound = (k + 1) * 2 ** -24 * scale[i]! + 1e-30;
          expect(Math.abs(out[i]! - value[i]!), `trans ${transA}/${transB} element ${i}`).toBeLessThanOrEqual(bound);
        }
      }
      // Transposed layouts may run as outᵀ = bᵀaᵀ; each output's sum runs in the same order, so the bits agree.
      for (const out of layouts) expect(Buffer.from(out.buffer).equals(Buffer.from(layouts[0]!.buffer))).toBe(true);
    });
  }

  it("an empty inner dimension gives zeros, empty outputs write nothing", () => {
    const out = Float32Array.of(NaN, NaN, NaN, NaN, NaN, NaN);
    wasmGemmMatrix(new Float32Array(0), 0, 0, 1, new Float32Array(0), 0, 3, 1, out, 0, 2, 0, 3, 1);
    expect([...out]).toEqual([0, 0, 0, 0, 0, 0]);
    const untouched = Float32Array.of(7);
    wasmGemmMatrix(new Float32Array(0), 0, 4, 1, new Float32Array(4), 0, 0, 1, untouched, 0, 0, 4, 0, 1);
    expect([...untouched]).toEqual([7]);
  });

  it("propagates NaN and infinities as the sum does", () => {
    const a = Float32Array.of(1, NaN, 2, 3, Infinity, 0);
    const b = Float32Array.of(1, 1, 1);
    const out = new Float32Array(2);
    wasmGemmMatrix(a, 0, 3, 1, b, 0, 1, 1, out, 0, 2, 3, 1, 1);
    expect(out[0]).toBeNaN();
    expect(out[1]).toBe(Infinity);
  });

  it("splitting rows over worker threads gives the one-thread result bit for bit", async () => {
    const [m, k, n] = [200, 300, 96];
    const a = randomArray(m * k, 11);
    const b = randomArray(k * n, 12);
    const one = new Float32Array(m * n);
    wasmGemmMatrix(a, 0, k, 1, b, 0, n, 1, one, 0, m, k, n, 1);
    // Workers join once started: keep multiplying until one has (or a few seconds pass).
    for (let t = 0; t < 200 && readyWorkers() < 2; t++) {
      wasmGemmMatrix(a, 0, k, 1, b, 0, n, 1, new Float32Array(m * n), 0, m, k, n, 3);
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(readyWorkers()).toBe(2);
    const three = new Float32Array(m * n);
    wasmGemmMatrix(a, 0, k, 1, b, 0, n, 1, three, 0, m, k, n, 3);
    expect(Buffer.from(three.buffer).equals(Buffer.from(one.buffer))).toBe(true);
  });

  it("a process that used worker threads exits by itself", () => {
    const runtime = path.resolve(import.meta.dirname, "..", "..", "dist", "runtime", "index.js");
    const script = `
      import { cpu, gemm, tensor } from ${JSON.stringify(runtime)};
      const dev = cpu({ threads: 2 });
      const a = new Float32Array(256 * 256).fill(1);
      const out = new Float32Array(256 * 256);
      for (let i = 0; i < 20; i++) { gemm(a, [256, 256], false, a, [256, 256], false, out); await new Promise((r) => setTimeout(r, 10)); }
      console.log(dev.threads, out[0]);
    `;
    const start = Date.now();
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", timeout: 30_000 });
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("2 256");
    expect(r.signal).toBeNull();
    expect(Date.now() - start).toBeLessThan(30_000);
  });
});

describe("cpu() kernel options", () => {
  it("defaults to the wasm kernels on one thread and shares the default device's counters", () => {
    const dev = cpu();
    expect(dev.kernels).toBe("wasm");
    expect(dev.threads).toBe(1);
    expect(cpu({})).toBe(dev);
    const ts = cpu({ kernels: "ts" });
    expect(ts.kernels).toBe("ts");
    expect(cpu({ kernels: "ts" })).toBe(ts);
    expect(ts.memory).toBe(dev.memory);
    const before = dev.memory.bytesAllocated;
    const x = ts.alloc("f32", 16);
    expect(dev.memory.bytesAllocated - before).toBe(64);
    ts.free(x);
    expect(createCpuDevice(undefined, { kernels: "ts", threads: 2 })).toMatchObject({ kernels: "ts", threads: 2 });
  });

  it("rejects bad options with E6012", () => {
    expect(() => cpu({ kernels: "gpu" as "ts" })).toThrow(withCode("E6012"));
    expect(() => cpu({ kernels: "gpu" as "ts" })).toThrow(`option 'kernels' must be "ts" or "wasm", got "gpu"`);
    expect(() => cpu({ threads: 0 })).toThrow(withCode("E6012"));
    expect(() => cpu({ threads: 1.5 })).toThrow("option 'threads' must be an integer from 1 to 64, got 1.5");
    expect(() => cpu({ thread: 2 } as never)).toThrow("unknown option 'thread'");
  });

  it("the kernels a device names are the ones its products run on", () => {
    // An f64-exact TS result and an f32 Wasm one differ on this product; each device reproduces its own.
    const [m, k, n] = [8, 500, 8];
    const a = randomArray(m * k, 21);
    const b = randomArray(k * n, 22);
    const ts = new Float32Array(m * n);
    const wasm = new Float32Array(m * n);
    for (const [kernels, out] of [["ts", ts], ["wasm", wasm]] as const) {
      const restore = useGemmKernels(cpu({ kernels }));
      try {
        gemm(a, [m, k], false, b, [k, n], false, out);
      } finally {
        restore();
      }
    }
    const { value } = reference(a, b, m, k, n);
    ts.forEach((v, i) => expect(v).toBe(Math.fround(value[i]!)));
    expect([...wasm].some((v, i) => v !== ts[i])).toBe(true);
  });
});
