import { describe, expect, it } from "vitest";
import { gather, gatherGrad, gemm, matmul, matmulShape, nmMask, transpose } from "../../runtime/index.js";
import { useGemmKernels } from "../../runtime/matmul.js";
import { mulberry32 } from "../helpers/random.js";

const withCode = (code: string) => expect.objectContaining({ code });

/** A deterministic generator, so a failure reproduces. */
const random = mulberry32;

function randomArray(size: number, seed: number): Float32Array {
  const next = random(seed);
  return Float32Array.from({ length: size }, () => next() * 2 - 1);
}

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** The textbook triple loop in f64, with NumPy batch broadcasting by explicit index arithmetic. */
function naiveMatmul(
  a: Float32Array,
  aShape: number[],
  b: Float32Array,
  bShape: number[],
): Float64Array {
  const [m, k] = aShape.slice(-2) as [number, number];
  const n = bShape[bShape.length - 1]!;
  const outShape = matmulShape(aShape, bShape);
  const batch = outShape.slice(0, -2);
  const out = new Float64Array(numel(outShape));
  const offsetOf = (own: number[], index: number[]) => {
    let offset = 0;
    own.forEach((size, d) => {
      offset = offset * size + (size === 1 ? 0 : index[d + index.length - own.length]!);
    });
    return offset;
  };
  for (let t = 0; t < numel(batch); t++) {
    const index = batch.map((_, d) => Math.floor(t / numel(batch.slice(d + 1))) % batch[d]!);
    const ao = offsetOf(aShape.slice(0, -2), index) * m * k;
    const bo = offsetOf(bShape.slice(0, -2), index) * k * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let p = 0; p < k; p++) sum += a[ao + i * k + p]! * b[bo + p * n + j]!;
        out[t * m * n + i * n + j] = sum;
      }
    }
  }
  return out;
}

describe("matmul", () => {
  const cases: [string, number[], number[], number[]][] = [
    ["a plain product", [5, 7], [7, 3], [5, 3]],
    ["row counts that are not a multiple of the row block", [9, 13], [13, 6], [9, 6]],
    ["a single row and column", [1, 4], [4, 1], [1, 1]],
    ["equal batch dims", [3, 6, 5], [3, 5, 4], [3, 6, 4]],
    ["a batch broadcast from rank 2", [2, 3, 6, 5], [5, 4], [2, 3, 6, 4]],
    ["batch dims of size 1 on both sides", [2, 1, 5, 3], [1, 4, 3, 2], [2, 4, 5, 2]],
    ["an empty inner dim", [3, 0], [0, 2], [3, 2]],
  ];
  for (const [name, aShape, bShape, outShape] of cases) {
    it(`agrees with a naive triple loop: ${name}`, () => {
      expect(matmulShape(aShape, bShape)).toEqual(outShape);
      const a = randomArray(numel(aShape), 1);
      const b = randomArray(numel(bShape), 2);
      const out = new Float32Array(numel(outShape)).fill(NaN);
      matmul(a, aShape, b, bShape, out);
      const want = naiveMatmul(a, aShape, b, bShape);
      want.forEach((v, i) => expect(out[i]).toBeCloseTo(v, 5));
    });
  }

  it("agrees with the naive loop at the benchmark's size class", () => {
    const [aShape, bShape] = [
      [33, 200],
      [200, 70],
    ];
    const a = randomArray(numel(aShape), 3);
    const b = randomArray(numel(bShape), 4);
    const out = new Float32Array(33 * 70);
    const restore = useGemmKernels({ kernels: "ts" });
    try {
      matmul(a, aShape, b, bShape, out);
    } finally {
      restore();
    }
    const want = naiveMatmul(a, aShape, b, bShape);
    // The TS kernel sums in f64 and rounds once, so the result is the f64 one rounded to f32
    // (the Wasm kernel's f32 sums are checked against a bound in wasm-gemm.test.ts).
    want.forEach((v, i) => expect(out[i]).toBe(Math.fround(v)));
  });

  it("gemm reads transposed operands in place: each of the four layouts is the product of the explicit transposes", () => {
    // [2, 5, 7] @ [7, 3] with a batch, odd and even sizes around the 4 x 2 register block.
    const [B, M, K, N] = [2, 5, 7, 3];
    const a = randomArray(B * M * K, 5);
    const b = randomArray(K * N, 6);
    const want = naiveMatmul(a, [B, M, K], b, [K, N]);
    const swap = (x: Float32Array, shape: number[]) => {
      const out = new Float32Array(x.length);
      transpose(x, shape, shape.length === 3 ? [0, 2, 1] : [1, 0], out);
      return out;
    };
    for (const [transA, transB] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      const [aStored, aShape] = transA ? [swap(a, [B, M, K]), [B, K, M]] : [a, [B, M, K]];
      const [bStored, bShape] = transB ? [swap(b, [K, N]), [N, K]] : [b, [K, N]];
      for (const kernels of ["ts", "wasm"] as const) {
        const out = new Float32Array(B * M * N).fill(NaN);
        const restore = useGemmKernels({ kernels });
        try {
          gemm(aStored, aShape, transA, bStored, bShape, transB, out);
        } finally {
          restore();
        }
        // TS: the f64 sum rounded once, exactly; Wasm: f32 sums of 7 terms of magnitude < 1.
        const where = (i: number) => `${kernels}: transA ${transA}, transB ${transB}, element ${i}`;
        if (kernels === "ts") want.forEach((v, i) => expect(out[i], where(i)).toBe(Math.fround(v)));
        else want.forEach((v, i) => expect(Math.abs(out[i]! - v), where(i)).toBeLessThan(K * 2 ** -23));
      }
    }
  });

  it("rejects operands that cannot be multiplied with E6007", () => {
    expect(() => matmulShape([2, 3], [4, 5])).toThrow(withCode("E6007"));
    expect(() => matmulShape([2, 3], [4, 5])).toThrow("inner sizes 3 and 4 differ");
    expect(() => matmulShape([3], [3, 2])).toThrow("rank 2 or more");
    expect(() => matmulShape([2, 1, 3], [3, 3, 1])).toThrow("batch dims do not broadcast");
  });
});

describe("transpose", () => {
  it("swaps the axes of a matrix", () => {
    const out = new Float32Array(6);
    transpose(Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3], [1, 0], out);
    expect([...out]).toEqual([1, 4, 2, 5, 3, 6]);
  });

  it("permutes rank 3 by index arithmetic, for any dtype", () => {
    const shape = [2, 3, 4];
    const x = Int32Array.from({ length: 24 }, (_, i) => i);
    const perm = [2, 0, 1];
    const out = new Int32Array(24);
    transpose(x, shape, perm, out);
    // out[c, a, b] = x[a, b, c]
    for (let c = 0; c < 4; c++) {
      for (let a = 0; a < 2; a++) {
        for (let b = 0; b < 3; b++) expect(out[(c * 2 + a) * 3 + b]).toBe(x[(a * 3 + b) * 4 + c]);
      }
    }
  });

  it("copies under the identity permutation and for a scalar", () => {
    const out = new Uint8Array(3);
    transpose(Uint8Array.of(1, 0, 1), [3], [0], out);
    expect([...out]).toEqual([1, 0, 1]);
    const scalarOut = new Float32Array(1);
    transpose(Float32Array.of(7), [], [], scalarOut);
    expect(scalarOut[0]).toBe(7);
  });

  it("treats a perm that is not a permutation as an internal error", () => {
    expect(() => transpose(new Float32Array(6), [2, 3], [0, 0], new Float32Array(6))).toThrow(
      "estc internal error",
    );
  });
});

describe("gather", () => {
  it("takes rows on axis 0, repeating and reordering them", () => {
    const x = Float32Array.of(1, 2, 3, 4, 5, 6); // [3, 2]
    const out = new Float32Array(8);
    gather(x, [3, 2], Int32Array.of(2, 0, 2, 1), 0, out);
    expect([...out]).toEqual([5, 6, 1, 2, 5, 6, 3, 4]);
  });

  it("takes columns on axis 1, the indices' shape taking the axis's place", () => {
    const x = Int32Array.of(1, 2, 3, 4, 5, 6); // [2, 3]
    const out = new Int32Array(4); // [2, 2]
    gather(x, [2, 3], Int32Array.of(2, 0), 1, out);
    expect([...out]).toEqual([3, 1, 6, 4]);
  });

  it("rejects an index out of range with E6008 before writing anything", () => {
    const out = new Float32Array(4).fill(9);
    const call = () => gather(new Float32Array(10), [5, 2], Int32Array.of(1, 7), 0, out);
    expect(call).toThrow(withCode("E6008"));
    expect(call).toThrow("gather index 7 is out of range for axis 0 of size 5");
    expect([...out]).toEqual([9, 9, 9, 9]);
    expect(() =>
      gather(new Float32Array(10), [5, 2], Int32Array.of(-1), 0, new Float32Array(2)),
    ).toThrow("gather index -1 is out of range for axis 0 of size 5");
  });
});

describe("gatherGrad", () => {
  it("scatter-adds the cotangent, summing repeated indices, into zeros", () => {
    const ct = Float32Array.of(1, 2, 10, 20, 100, 200); // gathered [3, 2] from x: [3, 2]
    const out = new Float32Array(6).fill(5); // stale contents must not leak in
    gatherGrad(ct, Int32Array.of(2, 0, 2), 0, out, [3, 2]);
    expect([...out]).toEqual([10, 20, 0, 0, 101, 202]);
  });

  it("works on an inner axis", () => {
    const ct = Float32Array.of(1, 2, 3, 4); // [2, 2] gathered from [2, 3] on axis 1
    const out = new Float32Array(6);
    gatherGrad(ct, Int32Array.of(1, 1), 1, out, [2, 3]);
    expect([...out]).toEqual([0, 3, 0, 0, 7, 0]);
  });

  it("rejects an index out of range with E6008", () => {
    const call = () =>
      gatherGrad(new Float32Array(2), Int32Array.of(3), 1, new Float32Array(6), [2, 3]);
    expect(call).toThrow(withCode("E6008"));
    expect(call).toThrow("gather index 3 is out of range for axis 1 of size 3");
  });
});

describe("nmMask", () => {
  it("keeps the n largest magnitudes of each group of m on the last axis", () => {
    const w = Float32Array.of(0.1, -0.9, 0.5, 0.2, /**/ 3, -1, 0, -4);
    const out = new Float32Array(8);
    nmMask(w, [2, 4], 2, 4, out);
    expect([...out]).toEqual([0, 1, 1, 0, 1, 0, 0, 1]);
  });

  it("breaks ties toward the lower index and ranks NaN as zero", () => {
    const out = new Uint8Array(8);
    nmMask(Float32Array.of(1, -1, 1, 1, /**/ 0, NaN, 0.5, 0), [8], 2, 4, out);
    expect([...out]).toEqual([1, 1, 0, 0, 1, 0, 1, 0]);
    const allEqual = new Float32Array(6);
    nmMask(new Float32Array(6).fill(2), [2, 3], 1, 3, allEqual);
    expect([...allEqual]).toEqual([1, 0, 0, 1, 0, 0]);
  });

  it("keeps everything when n >= m and nothing when n = 0", () => {
    const out = new Float32Array(4);
    nmMask(Float32Array.of(1, 2, 3, 4), [4], 4, 2, out);
    expect([...out]).toEqual([1, 1, 1, 1]);
    nmMask(Float32Array.of(1, 2, 3, 4), [4], 0, 2, out);
    expect([...out]).toEqual([0, 0, 0, 0]);
  });

  it("rejects a last axis that is not a multiple of m with E6016", () => {
    const call = () => nmMask(new Float32Array(6), [6], 2, 4, new Float32Array(6));
    expect(call).toThrow(withCode("E6016"));
    expect(call).toThrow("has size 6, which is not a multiple of m = 4");
  });
});
