/**
 * The Wasm matrix product's code: one exported function, `gemm`, that multiplies packed
 * operands already in linear memory with an f32x4 register-tiled microkernel. Packing (and so
 * every transpose and stride) is the caller's (./gemm.ts); this is only the arithmetic.
 *
 * The code is fixed (it does not depend on the program), so it is encoded once, when the runtime
 * first multiplies on the Wasm path, rather than at package build time: encoding takes
 * microseconds and compiling under a millisecond, no binary blob has to be kept in step with its
 * generator, and the bytes depend on a choice made at run time (a shared memory for worker
 * threads, or a plain one where shared memory is unavailable).
 */
import { encodeModule, FunctionBuilder, I32, V128 } from "./encoder.js";

/** Rows of the register tile: MR rows of `a` times NR columns of `b` live in 2*MR f32x4 locals. */
export const MR = 4;
/** Columns of the register tile: two f32x4 per row. */
export const NR = 8;
/**
 * The exported function's parameters, all i32 (byte addresses, byte strides, counts):
 * `gemm(a, aBlock, aRow, aStep, b, bPanel, bStep, c, ldc, rb0, rb1, panels, k, kc, nc)`.
 *
 * - Element (i, p) of `a`, for row block ib = i / MR and r = i % MR, is the f32 at
 *   `a + ib·aBlock + r·aRow + p·aStep`: packed row blocks (`[k][MR]` each: aBlock = k·MR·4,
 *   aRow = 4, aStep = MR·4) or row-major rows read in place (aBlock = MR·lda, aRow = lda, aStep = 4).
 * - Columns j0..j0+NR-1 of row p of `b`, for panel jb = j0 / NR, are the 8 f32 at
 *   `b + jb·bPanel + p·bStep`: packed panels (`[k][NR]`: bPanel = k·NR·4, bStep = NR·4) or a
 *   row-major matrix with rows padded to whole panels (bPanel = NR·4, bStep = ldb).
 * - `c`: the product, `ldc` bytes per row, padded to whole tiles; it is accumulated into (the
 *   caller zeroes it), so K blocks add up in place.
 * - `rb0..rb1`: the row blocks this call computes (a worker thread's share), all `panels` panels.
 * - `kc`: the K block (inner indices per pass, so a tile's operands stay in L1), `nc`: the panels
 *   per pass (so the `b` of one K block stays in L2 while every row block streams it).
 *
 * Every count is at least 1 (the caller handles empty products). One step of the inner index per
 * loop iteration: unrolling it 2 or 4 times measured 20-40% slower (V8 then spills accumulators).
 */
export function gemmFunction(mr = MR): FunctionBuilder {
  const f = new FunctionBuilder(Array.from({ length: 15 }, () => I32));
  const [a, aBlock, aRow, aStep, b, bPanel, bStep, c, ldc, rb0, rb1, panels, k, kc, nc] = Array.from({ length: 15 }, (_, i) => i);
  const pc = f.local(I32);
  const kk = f.local(I32);
  const jc0 = f.local(I32);
  const jc1 = f.local(I32);
  const ib = f.local(I32);
  const jb = f.local(I32);
  const aBase = f.local(I32);
  const aP = f.local(I32);
  const bP = f.local(I32);
  const cP = f.local(I32);
  const cR = f.local(I32);
  const steps = f.local(I32);
  const rowOff: number[] = [];
  for (let r = 1; r < mr; r++) rowOff.push(f.local(I32));
  const acc: number[][] = [];
  for (let r = 0; r < mr; r++) acc.push([f.local(V128), f.local(V128)]);
  const b0 = f.local(V128);
  const b1 = f.local(V128);
  const va = f.local(V128);

  // One step of the inner index: two vectors of b, mr splats of a.
  const step = () => {
    f.get(bP).v128Load(0).set(b0);
    f.get(bP).v128Load(16).set(b1);
    for (let r = 0; r < mr; r++) {
      f.get(aP);
      if (r > 0) f.get(rowOff[r - 1]!).add();
      f.load32Splat(0).set(va);
      f.get(acc[r]![0]!).get(va).get(b0).f32x4Mul().f32x4Add().set(acc[r]![0]!);
      f.get(acc[r]![1]!).get(va).get(b1).f32x4Mul().f32x4Add().set(acc[r]![1]!);
    }
  };
  // The tile of c, row by row (ldc is a run-time stride, so each row moves a pointer).
  const tile = (load: boolean) => {
    f.get(cP).set(cR);
    for (let r = 0; r < mr; r++) {
      for (let h = 0; h < 2; h++) {
        if (load) f.get(cR).v128Load(16 * h).set(acc[r]![h]!);
        else f.get(cR).get(acc[r]![h]!).v128Store(16 * h);
      }
      if (r < mr - 1) f.bumpBy(cR, ldc);
    }
  };
  const micro = () => {
    tile(true);
    f.get(kk).set(steps);
    f.loop(() => {
      step();
      f.bumpBy(aP, aStep).bumpBy(bP, bStep);
      f.get(steps).i32(1).sub().tee(steps).brIf(0);
    });
    tile(false);
  };

  for (let r = 1; r < mr; r++) f.get(aRow).i32(r).mul().set(rowOff[r - 1]!);
  f.i32(0).set(pc);
  f.loop(() => {
    // kk = min(kc, k - pc)
    f.get(k).get(pc).sub().get(kc).get(k).get(pc).sub().get(kc).ltU().select().set(kk);
    f.i32(0).set(jc0);
    f.loop(() => {
      // jc1 = min(jc0 + nc, panels)
      f.get(jc0).get(nc).add().get(panels).get(jc0).get(nc).add().get(panels).ltU().select().set(jc1);
      f.get(rb0).set(ib);
      f.loop(() => {
        // aBase = a + ib * aBlock + pc * aStep
        f.get(a).get(ib).get(aBlock).mul().add().get(pc).get(aStep).mul().add().set(aBase);
        f.get(jc0).set(jb);
        f.loop(() => {
          f.get(aBase).set(aP);
          f.get(b).get(jb).get(bPanel).mul().add().get(pc).get(bStep).mul().add().set(bP);
          f.get(c).get(ib).i32(mr).mul().get(ldc).mul().add().get(jb).i32(NR * 4).mul().add().set(cP);
          micro();
          f.get(jb).i32(1).add().tee(jb).get(jc1).ltU().brIf(0);
        });
        f.get(ib).i32(1).add().tee(ib).get(rb1).ltU().brIf(0);
      });
      f.get(jc1).tee(jc0).get(panels).ltU().brIf(0);
    });
    f.get(pc).get(kc).add().tee(pc).get(k).ltU().brIf(0);
  });
  return f;
}

/** The module's bytes: `gemm` over an imported memory (shared when `shared`). */
export function gemmModuleBytes(shared: boolean, maxPages: number, mr = MR): Uint8Array {
  return encodeModule([{ name: "gemm", fn: gemmFunction(mr) }], { minPages: 1, maxPages, shared });
}
