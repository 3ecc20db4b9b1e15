/**
 * The Wasm code of a batched 2-D transpose of 4-byte elements, for ./structural.ts, which
 * reduces a plan's transpose step to this form where it can (merging axes that stay adjacent):
 *
 *     out[b][c][r][0..w) = x[b][r][c][0..w)   for b < batches, r < rows, c < cols
 *
 * With w = 1 (the last axis moves) the rows are walked four at a time and each 4×4 block is
 * loaded as four f32x4, transposed in registers by eight shuffles and stored as four f32x4; the
 * ragged right and bottom strips go element by element. With w > 1 (the last axis stays last)
 * each w-element run is copied, by `memory.copy` when long. A transpose only moves bits, so the
 * result is the TS routine's exactly.
 */
import { FunctionBuilder, I32, V128 } from "./encoder.js";

/** Runs of at least this many elements are copied with `memory.copy` (a call's overhead below). */
const COPY_MIN = 16;

const shl = (f: FunctionBuilder) => f.op(0x74);
const i32Load = (f: FunctionBuilder) => f.op(0x28, 2, 0);
const i32Store = (f: FunctionBuilder) => f.op(0x36, 2, 0);
const shuffle32 = (f: FunctionBuilder, lanes: readonly number[]) => f.simd(0x0d, ...lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]));

/** `for (i = from; i < end; i += step)` around `body` (from, end locals or undefined for 0). */
function forRange(f: FunctionBuilder, i: number, from: number | undefined, end: number, step: number, body: () => void): void {
  if (from === undefined) f.i32(0);
  else f.get(from);
  f.set(i);
  f.block(() =>
    f.loop(() => {
      f.get(i).get(end).op(0x4f /* i32.ge_u */).brIf(1);
      body();
      f.bump(i, step).op(0x0c, 0);
    }),
  );
}

/** `transpose2d(x, out, batches, rows, cols, w)`: byte addresses, then counts (each at least 1). */
export function transposeFunction(): FunctionBuilder {
  const f = new FunctionBuilder([I32, I32, I32, I32, I32, I32]);
  const [X, OUT, BATCHES, ROWS, COLS, W] = [0, 1, 2, 3, 4, 5];
  const [b, r, c, k, xb, ob, rows4, cols4, at, to, run] = Array.from({ length: 11 }, () => f.local(I32));
  const v = [f.local(V128), f.local(V128), f.local(V128), f.local(V128)];
  const t = [f.local(V128), f.local(V128), f.local(V128), f.local(V128)];
  f.get(ROWS).i32(-4).op(0x71 /* and */).set(rows4);
  f.get(COLS).i32(-4).op(0x71).set(cols4);
  f.get(W).i32(2);
  shl(f).set(run);
  // One element: x at (r, c) to out at (c, r), `run` bytes each, batch bases xb and ob.
  const element = () => {
    f.get(xb).get(r).get(COLS).mul().get(c).add().get(run).mul().add().set(at);
    f.get(ob).get(c).get(ROWS).mul().get(r).add().get(run).mul().add().set(to);
    f.get(W).i32(COPY_MIN).ltU();
    f.op(0x04, 0x40);
    forRange(f, k, undefined, run, 4, () => {
      f.get(to).get(k).add().get(at).get(k).add();
      i32Load(f);
      i32Store(f);
    });
    f.op(0x05);
    f.get(to).get(at).get(run).op(0xfc, 10, 0, 0);
    f.op(0x0b);
  };
  forRange(f, b, undefined, BATCHES, 1, () => {
    f.get(X).get(b).get(ROWS).mul().get(COLS).mul().get(run).mul().add().set(xb);
    f.get(OUT).get(b).get(ROWS).mul().get(COLS).mul().get(run).mul().add().set(ob);
    f.get(W).i32(1).op(0x46 /* eq */);
    f.op(0x04, 0x40);
    // 4×4 blocks over rows4 × cols4.
    forRange(f, r, undefined, rows4, 4, () => {
      forRange(f, c, undefined, cols4, 4, () => {
        for (let i = 0; i < 4; i++) f.get(xb).get(r).i32(i).add().get(COLS).mul().get(c).add().i32(2).op(0x74).add().v128Load().set(v[i]!);
        f.get(v[0]!).get(v[1]!);
        shuffle32(f, [0, 4, 1, 5]).set(t[0]!);
        f.get(v[0]!).get(v[1]!);
        shuffle32(f, [2, 6, 3, 7]).set(t[1]!);
        f.get(v[2]!).get(v[3]!);
        shuffle32(f, [0, 4, 1, 5]).set(t[2]!);
        f.get(v[2]!).get(v[3]!);
        shuffle32(f, [2, 6, 3, 7]).set(t[3]!);
        const column = (j: number, a: number, bb: number, lanes: number[]) => {
          f.get(ob).get(c).i32(j).add().get(ROWS).mul().get(r).add().i32(2).op(0x74).add();
          f.get(t[a]!).get(t[bb]!);
          shuffle32(f, lanes);
          f.v128Store();
        };
        column(0, 0, 2, [0, 1, 4, 5]);
        column(1, 0, 2, [2, 3, 6, 7]);
        column(2, 1, 3, [0, 1, 4, 5]);
        column(3, 1, 3, [2, 3, 6, 7]);
      });
      // The right strip of these four rows.
      forRange(f, c, cols4, COLS, 1, () => {
        const r0 = f.local(I32);
        f.get(r).set(r0);
        for (let i = 0; i < 4; i++) {
          element();
          f.bump(r, 1);
        }
        f.get(r0).set(r);
      });
    });
    // The bottom strip.
    forRange(f, r, rows4, ROWS, 1, () => forRange(f, c, undefined, COLS, 1, element));
    f.op(0x05);
    forRange(f, r, undefined, ROWS, 1, () => forRange(f, c, undefined, COLS, 1, element));
    f.op(0x0b);
  });
  return f;
}
