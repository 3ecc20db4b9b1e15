/**
 * The Wasm code of the plan's structural steps (./structural.ts runs it): the N:M sparsity mask,
 * gather and gather's scatter-add gradient, over buffers in the kernel arena (./arena.ts). Like
 * the gemm (./gemm-kernel.ts) the code does not depend on the program, so it is encoded once, on
 * first use. Semantics are runtime/kernels.ts's, bit for bit; the checks (shapes, indices, m)
 * stay there and in ./structural.ts.
 *
 * - `nm4(w, out, groups, n)`: m = 4, one group per f32x4. Lane i is outranked by lane j when
 *   |w_j| > |w_i|, or they are equal and j < i (NaN ranks as 0); the three other lanes are the
 *   vector rotated by 1, 2 and 3 lanes, and "j < i" is a constant lane mask per rotation.
 * - `nmWide(w, out, groups, m, n)`: m a multiple of 4: each element of the group splatted and
 *   compared with every vector of it (m²/4 compares per group).
 * - `gather(x, idx, out, pre, count, size, post)`: rows of `post` 4-byte elements, copied with
 *   `memory.copy` when long, by an i32 loop when short.
 * - `gatherGrad(ct, idx, out, pre, count, size, post)`: out zeroed, then each cotangent row added
 *   at its index's row (f32x4 and a scalar tail), in the TS routine's order, so a row taken twice
 *   sums its contributions in the same order.
 */
import { encodeModule, FunctionBuilder, I32, V128 } from "./encoder.js";
import { transposeFunction } from "./transpose-kernel.js";

/** Rows shorter than this many elements are copied by a loop (`memory.copy` has a call's overhead). */
const COPY_MIN = 16;

/** Raw SIMD and bulk-memory instructions the structural kernels use. */
const simd = (f: FunctionBuilder, op: number, ...imm: number[]) => f.simd(op, ...imm);
const i32x4Const = (f: FunctionBuilder, lanes: readonly number[]) => f.simd(0x0c, ...new Uint8Array(Int32Array.from(lanes).buffer));
const f32x4Const = (f: FunctionBuilder, v: number) => f.simd(0x0c, ...new Uint8Array(Float32Array.from([v, v, v, v]).buffer));
const shuffle32 = (f: FunctionBuilder, lanes: readonly number[]) => f.simd(0x0d, ...lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]));
const OP = { abs: 0xe0, gt: 0x44, eq: 0x41, and: 0x4e, or: 0x50, iadd: 0xae, isub: 0xb1, ilt: 0x39, isplat: 0x11, fadd: 0xe4, load32Splat: 0x09 } as const;

/** |v| with NaN lanes as 0, from the f32x4 on the stack, into local `into`. */
function magnitude(f: FunctionBuilder, into: number): void {
  simd(f, OP.abs).tee(into).get(into);
  simd(f, OP.eq).get(into);
  simd(f, OP.and).set(into);
}

/** `1.0` where the outranked count in local `cnt` is below the i32 in local `n`, else `0.0`. */
function keep(f: FunctionBuilder, cnt: number, n: number): void {
  f.get(cnt).get(n);
  simd(f, OP.isplat);
  simd(f, OP.ilt);
  f32x4Const(f, 1);
  simd(f, OP.and);
}

/** A `for (i = 0; i < count; i++)` around `body` (count a local). */
function loop(f: FunctionBuilder, i: number, count: number, body: () => void): void {
  f.i32(0).set(i);
  f.block(() =>
    f.loop(() => {
      f.get(i).get(count).op(0x4f /* i32.ge_u */).brIf(1);
      body();
      f.bump(i, 1).op(0x0c, 0 /* br 0 */);
    }),
  );
}

function nm4(): FunctionBuilder {
  const f = new FunctionBuilder([I32, I32, I32, I32]);
  const [W, OUT, GROUPS, N] = [0, 1, 2, 3];
  const [g, a, cnt, b] = [f.local(I32), f.local(V128), f.local(V128), f.local(V128)];
  loop(f, g, GROUPS, () => {
    f.get(W).get(g).i32(4).op(0x74 /* shl */).add().v128Load();
    magnitude(f, a);
    i32x4Const(f, [0, 0, 0, 0]).set(cnt);
    for (let r = 1; r < 4; r++) {
      f.get(a).get(a);
      shuffle32(f, [0, 1, 2, 3].map((i) => (i + r) % 4));
      f.set(b).get(b).get(a);
      simd(f, OP.gt).get(b).get(a);
      simd(f, OP.eq);
      // Lane j = (i + r) mod 4 comes before lane i exactly when i + r >= 4.
      i32x4Const(f, [0, 1, 2, 3].map((i) => (i + r >= 4 ? -1 : 0)));
      simd(f, OP.and);
      simd(f, OP.or).set(b).get(cnt).get(b);
      simd(f, OP.isub).set(cnt);
    }
    f.get(OUT).get(g).i32(4).op(0x74).add();
    keep(f, cnt, N);
    f.v128Store();
  });
  return f;
}

function nmWide(): FunctionBuilder {
  const f = new FunctionBuilder([I32, I32, I32, I32, I32]);
  const [W, OUT, GROUPS, M, N] = [0, 1, 2, 3, 4];
  const [g, base, c, chunks, j, at, a, s, cnt, lanes] = [f.local(I32), f.local(I32), f.local(I32), f.local(I32), f.local(I32), f.local(I32), f.local(V128), f.local(V128), f.local(V128), f.local(V128)];
  f.get(M).i32(2).op(0x76 /* shr_u */).set(chunks);
  loop(f, g, GROUPS, () => {
    f.get(g).get(M).mul().i32(2).op(0x74).set(base);
    loop(f, c, chunks, () => {
      f.get(W).get(base).add().get(c).i32(4).op(0x74).add().tee(at).v128Load();
      magnitude(f, a);
      i32x4Const(f, [0, 0, 0, 0]).set(cnt);
      // Element indices i of this vector's lanes, within the group.
      f.get(c).i32(2).op(0x74);
      simd(f, OP.isplat);
      i32x4Const(f, [0, 1, 2, 3]);
      simd(f, OP.iadd).set(lanes);
      loop(f, j, M, () => {
        f.get(W).get(base).add().get(j).i32(2).op(0x74).add();
        simd(f, OP.load32Splat, 2, 0);
        magnitude(f, s);
        f.get(s).get(a);
        simd(f, OP.gt).get(s).get(a);
        simd(f, OP.eq).get(j);
        simd(f, OP.isplat).get(lanes);
        simd(f, OP.ilt);
        simd(f, OP.and);
        simd(f, OP.or).set(s).get(cnt).get(s);
        simd(f, OP.isub).set(cnt);
      });
      f.get(OUT).get(at).get(W).sub().add();
      keep(f, cnt, N);
      f.v128Store();
    });
  });
  return f;
}

function gather(): FunctionBuilder {
  const f = new FunctionBuilder([I32, I32, I32, I32, I32, I32, I32]);
  const [X, IDX, OUT, PRE, COUNT, SIZE, POST] = [0, 1, 2, 3, 4, 5, 6];
  const [p, j, q, block, from, to, row] = [f.local(I32), f.local(I32), f.local(I32), f.local(I32), f.local(I32), f.local(I32), f.local(I32)];
  f.get(POST).i32(2).op(0x74).set(row);
  f.get(OUT).set(to);
  loop(f, p, PRE, () => {
    f.get(X).get(p).get(SIZE).mul().get(row).mul().add().set(block);
    loop(f, j, COUNT, () => {
      f.get(block).get(IDX).get(j).i32(2).op(0x74).add().op(0x28, 2, 0).get(row).mul().add().set(from);
      f.get(POST).i32(COPY_MIN).ltU();
      f.op(0x04, 0x40); // if: a short row element by element
      loop(f, q, POST, () => {
        f.get(to).get(q).i32(2).op(0x74).add();
        f.get(from).get(q).i32(2).op(0x74).add().op(0x28, 2, 0);
        f.op(0x36, 2, 0); // i32.store
      });
      f.op(0x05); // else: memory.copy(to, from, row)
      f.get(to).get(from).get(row).op(0xfc, 10, 0, 0);
      f.op(0x0b);
      f.bumpBy(to, row);
    });
  });
  return f;
}

function gatherGrad(): FunctionBuilder {
  const f = new FunctionBuilder([I32, I32, I32, I32, I32, I32, I32]);
  const [CT, IDX, OUT, PRE, COUNT, SIZE, POST] = [0, 1, 2, 3, 4, 5, 6];
  const [p, j, q, block, from, to, row, vecBytes] = Array.from({ length: 8 }, () => f.local(I32));
  f.get(POST).i32(2).op(0x74).set(row);
  // out = 0
  f.get(OUT).i32(0).get(PRE).get(SIZE).mul().get(row).mul().op(0xfc, 11, 0);
  f.get(CT).set(from);
  f.get(row).i32(-16).op(0x71 /* i32.and */).set(vecBytes);
  loop(f, p, PRE, () => {
    f.get(OUT).get(p).get(SIZE).mul().get(row).mul().add().set(block);
    loop(f, j, COUNT, () => {
      f.get(block).get(IDX).get(j).i32(2).op(0x74).add().op(0x28, 2, 0).get(row).mul().add().set(to);
      f.i32(0).set(q);
      // out[to + q..] += ct[from + q..], four at a time, then one at a time (q in bytes).
      const step = (bytes: number, end: number, add: () => void) =>
        f.block(() =>
          f.loop(() => {
            f.get(q).get(end).op(0x4f).brIf(1);
            add();
            f.bump(q, bytes).op(0x0c, 0);
          }),
        );
      step(16, vecBytes, () => {
        f.get(to).get(q).add();
        f.get(to).get(q).add().v128Load().get(from).get(q).add().v128Load();
        simd(f, OP.fadd);
        f.v128Store();
      });
      step(4, row, () => {
        f.get(to).get(q).add();
        f.get(to).get(q).add().op(0x2a, 2, 0).get(from).get(q).add().op(0x2a, 2, 0).op(0x92 /* f32.add */);
        f.op(0x38, 2, 0); // f32.store
      });
      f.bumpBy(from, row);
    });
  });
  return f;
}

/** The structural kernels' module over a memory of up to `maxPages` pages, shared when `shared`. */
export function structuralModuleBytes(shared: boolean, maxPages: number): Uint8Array {
  return encodeModule(
    [
      { name: "nm4", fn: nm4() },
      { name: "nmWide", fn: nmWide() },
      { name: "gather", fn: gather() },
      { name: "gatherGrad", fn: gatherGrad() },
      { name: "transpose2d", fn: transposeFunction() },
    ],
    { minPages: 1, maxPages, shared },
  );
}
