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
/** Steps of the inner index per loop iteration: unrolling 2 or 4 measured slower (V8 spills the 8 accumulators). */
const UNROLL = 1;

/**
 * The exported function's parameters, all i32 (byte addresses into memory, counts):
 * `gemm(a, b, c, rb0, rb1, panels, k, ldc, kc, nc)`.
 *
 * - `a`: packed `a`, row blocks of MR rows, each `[k][MR]` (the MR values of one inner index
 *   together); `b`: packed `b`, panels of NR columns, each `[k][NR]`; both zero-padded.
 * - `c`: the product, `ldc` bytes per row, padded to whole tiles; it is accumulated into (the
 *   caller zeroes it), so K blocks add up in place.
 * - `rb0..rb1`: the row blocks this call computes (a worker thread's share), all `panels` panels.
 * - `kc`: the K block (inner indices per pass, so a tile's operands stay in L1), `nc`: the panels
 *   per pass (so the packed `b` of one K block stays in L2 while every row block streams it).
 *
 * Every count is at least 1 (the caller handles empty products).
 */
export function gemmFunction(mr = MR, unroll = UNROLL): FunctionBuilder {
  const MR = mr;
  const UNROLL = unroll;
  const f = new FunctionBuilder([I32, I32, I32, I32, I32, I32, I32, I32, I32, I32]);
  const [a, b, c, rb0, rb1, panels, k, ldc, kc, nc] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const pc = f.local(I32);
  const kk = f.local(I32);
  const jc0 = f.local(I32);
  const jc1 = f.local(I32);
  const ib = f.local(I32);
  const jb = f.local(I32);
  const aRow = f.local(I32);
  const aP = f.local(I32);
  const bP = f.local(I32);
  const cP = f.local(I32);
  const cR = f.local(I32);
  const steps = f.local(I32);
  const acc: number[][] = [];
  for (let r = 0; r < MR; r++) acc.push([f.local(V128), f.local(V128)]);
  const b0 = f.local(V128);
  const b1 = f.local(V128);
  const va = f.local(V128);

  // One step of the inner index at `u` steps past aP/bP: two vectors of b, MR splats of a.
  const step = (u: number) => {
    f.get(bP).v128Load(u * NR * 4).set(b0);
    f.get(bP).v128Load(u * NR * 4 + 16).set(b1);
    for (let r = 0; r < MR; r++) {
      f.get(aP).load32Splat((u * MR + r) * 4).set(va);
      f.get(acc[r]![0]!).get(va).get(b0).f32x4Mul().f32x4Add().set(acc[r]![0]!);
      f.get(acc[r]![1]!).get(va).get(b1).f32x4Mul().f32x4Add().set(acc[r]![1]!);
    }
  };
  // The tile of c, row by row (ldc is a run-time stride, so each row moves a pointer).
  const tile = (load: boolean) => {
    f.get(cP).set(cR);
    for (let r = 0; r < MR; r++) {
      for (let h = 0; h < 2; h++) {
        if (load) f.get(cR).v128Load(16 * h).set(acc[r]![h]!);
        else f.get(cR).get(acc[r]![h]!).v128Store(16 * h);
      }
      if (r < MR - 1) f.bumpBy(cR, ldc);
    }
  };
  const micro = () => {
    tile(true);
    // kk = UNROLL * q + rest: q unrolled steps, then the rest one at a time.
    f.get(kk).i32(Math.log2(UNROLL)).op(0x76 /* i32.shr_u */).set(steps);
    f.block(() => {
      f.get(steps).op(0x45 /* i32.eqz */).brIf(0);
      f.loop(() => {
        for (let u = 0; u < UNROLL; u++) step(u);
        f.bump(aP, UNROLL * MR * 4).bump(bP, UNROLL * NR * 4);
        f.get(steps).i32(1).sub().tee(steps).brIf(0);
      });
    });
    f.get(kk).i32(UNROLL - 1).op(0x71 /* i32.and */).set(steps);
    f.block(() => {
      f.get(steps).op(0x45).brIf(0);
      f.loop(() => {
        step(0);
        f.bump(aP, MR * 4).bump(bP, NR * 4);
        f.get(steps).i32(1).sub().tee(steps).brIf(0);
      });
    });
    tile(false);
  };

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
        // aRow = a + (ib * k + pc) * MR * 4
        f.get(a).get(ib).get(k).mul().get(pc).add().i32(MR * 4).mul().add().set(aRow);
        f.get(jc0).set(jb);
        f.loop(() => {
          f.get(aRow).set(aP);
          f.get(b).get(jb).get(k).mul().get(pc).add().i32(NR * 4).mul().add().set(bP);
          f.get(c).get(ib).i32(MR).mul().get(ldc).mul().add().get(jb).i32(NR * 4).mul().add().set(cP);
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
export function gemmModuleBytes(shared: boolean, maxPages: number, mr = MR, unroll = UNROLL): Uint8Array {
  return encodeModule([{ name: "gemm", fn: gemmFunction(mr, unroll) }], { minPages: 1, maxPages, shared });
}
