/**
 * The Wasm code of the CPU convolution (./conv-gemm.ts): `im2col`, which unfolds a chunk of
 * columns of an NCHW input straight into the row-major column matrix the gemm kernel reads in
 * place, and `col2im`, its adjoint, which adds a column matrix back onto an input gradient. Both
 * work on the gemm arena's memory (the same imported memory as ./gemm-kernel.ts's `gemm`), so a
 * convolution never copies its column matrix between JavaScript and Wasm.
 *
 * Columns run over (b, ho, wo) and rows over (c, i, j), as in runtime/conv.ts. Both functions
 * walk one output row at a time (a run of columns with the same b and ho) and, per row (c, i, j)
 * of the column matrix, move the run's elements with one scalar loop whose bounds test is a
 * branch-free `select` (a padded tap reads a neighbouring element and discards it), so the
 * caller leaves 4·pw + 64 bytes of slack on both sides of the input. A row of taps that falls in
 * the vertical padding is filled with `memory.fill` (im2col) or skipped (col2im).
 */
import { encodeModule, FunctionBuilder, I32 } from "./encoder.js";
import { gemmFunction, NR } from "./gemm-kernel.js";

/** The opcodes these kernels need beyond ./encoder.ts's (core spec §5.4, bulk memory). */
class ConvBuilder extends FunctionBuilder {
  divU(): this {
    return this.op(0x6e);
  }
  f32Load(offset = 0): this {
    return this.op(0x2a, 2, offset);
  }
  f32Store(offset = 0): this {
    return this.op(0x38, 2, offset);
  }
  f32Add(): this {
    return this.op(0x92);
  }
  eq(): this {
    return this.op(0x46);
  }
  f32Zero(): this {
    return this.op(0x43, 0, 0, 0, 0);
  }
  /** `if` (no result) around `then`. */
  ifThen(then: (f: this) => void, otherwise?: (f: this) => void): this {
    this.op(0x04, 0x40);
    then(this);
    if (otherwise !== undefined) {
      this.op(0x05);
      otherwise(this);
    }
    return this.op(0x0b);
  }
  i32x4Splat(): this {
    return this.simd(0x11);
  }
  i32x4Add(): this {
    return this.simd(0xae);
  }
  i32x4LtU(): this {
    return this.simd(0x3a);
  }
  v128And(): this {
    return this.simd(0x4e);
  }
  /** `v128.const` of four i32 lanes. */
  i32x4Const(lanes: readonly number[]): this {
    const bytes = new Uint8Array(Int32Array.from(lanes).buffer);
    return this.simd(0x0c, ...bytes);
  }
  /** `memory.fill(dst, value, bytes)` of the three values on the stack. */
  memoryFill(): this {
    return this.op(0xfc, 11, 0);
  }
}

/**
 * The parameters of both functions, all i32 (byte addresses and counts):
 * `(x, image, cg, H, W, KH, KW, sh, sw, ph, pw, dh, dw, Wo, P, n0, n, m, ldm)`.
 * `x`: the input (im2col) or its gradient (col2im) of the group's first channel in image 0;
 * `image`: bytes per image; `cg`: channels per group; `P` = Ho·Wo; columns n0..n0+n−1;
 * `m`: the column matrix, ldm bytes per row.
 */
const PARAMS = ["x", "image", "cg", "H", "W", "KH", "KW", "sh", "sw", "ph", "pw", "dh", "dw", "Wo", "P", "n0", "n", "m", "ldm"] as const;

/** Builds im2col (`add` false) or col2im (`add` true). */
function convFunction(add: boolean): ConvBuilder {
  const f = new ConvBuilder(PARAMS.map(() => I32));
  const p = Object.fromEntries(PARAMS.map((name, i) => [name, i])) as Record<(typeof PARAMS)[number], number>;
  const [at, col, b, pos, ho, wo0, len, xImg, rowAt, c, i, j, hi, src, wi, d, t, valid, addr] = Array.from({ length: 19 }, () => f.local(I32));

  // A lane mask: lanes l with value + l < bound, from the i32s `value` and `bound`.
  const below = (value: () => void, bound: () => void) => {
    value();
    f.i32x4Splat().i32x4Const([0, 1, 2, 3]).i32x4Add();
    bound();
    f.i32x4Splat().i32x4LtU();
  };
  // Stride 1: the run's taps are contiguous in x, four per step; lanes outside the row are
  // masked to 0 (im2col: the stores past the run land in the next run's columns, written later,
  // or in the row's spare columns) or add 0 (col2im, which also masks lanes past the run).
  const vectorTaps = () => {
    f.get(wo0).get(p.pw).sub().get(j).get(p.dw).mul().add().set(wi);
    f.get(rowAt).set(d);
    f.i32(0).set(t);
    f.loop(() => {
      f.get(src).get(wi).i32(4).mul().add().set(addr);
      if (!add) {
        f.get(d).get(addr).v128Load(0);
        below(() => f.get(wi), () => f.get(p.W));
        f.v128And().v128Store(0);
      } else {
        f.get(addr).get(addr).v128Load(0).get(d).v128Load(0);
        below(() => f.get(wi), () => f.get(p.W));
        f.v128And();
        below(() => f.get(t), () => f.get(len));
        f.v128And().f32x4Add().v128Store(0);
      }
      f.bump(d, 16).bump(wi, 4);
      f.get(t).i32(4).add().tee(t).get(len).ltU().brIf(0);
    });
  };
  // One row (c, i, j) of the run: `len` elements between x's row `src` and the matrix at `rowAt`.
  const taps = () => {
    f.get(wo0).get(p.sw).mul().get(p.pw).sub().get(j).get(p.dw).mul().add().set(wi);
    f.get(rowAt).set(d);
    f.get(len).set(t);
    f.loop(() => {
      if (!add) {
        // m[d] = wi in [0, W) ? x[src + wi] : 0
        f.get(d);
        f.get(src).get(wi).i32(4).mul().add().f32Load();
        f.f32Zero();
        f.get(wi).get(p.W).ltU();
        f.select();
        f.f32Store();
      } else {
        f.get(wi).get(p.W).ltU();
        f.ifThen(() => {
          f.get(src).get(wi).i32(4).mul().add().set(addr);
          f.get(addr).get(addr).f32Load().get(d).f32Load().f32Add().f32Store();
        });
      }
      f.bump(d, 4).bumpBy(wi, p.sw);
      f.get(t).i32(1).sub().tee(t).brIf(0);
    });
  };

  f.i32(0).set(at);
  f.get(p.n0).set(col);
  f.loop(() => {
    // The run: image b, output row ho, columns wo0 .. wo0 + len − 1.
    f.get(col).get(p.P).divU().set(b);
    f.get(col).get(b).get(p.P).mul().sub().set(pos);
    f.get(pos).get(p.Wo).divU().set(ho);
    f.get(pos).get(ho).get(p.Wo).mul().sub().set(wo0);
    // len = min(Wo − wo0, n − at)
    f.get(p.Wo).get(wo0).sub().get(p.n).get(at).sub().get(p.Wo).get(wo0).sub().get(p.n).get(at).sub().ltU().select().set(len);
    f.get(p.x).get(b).get(p.image).mul().add().set(xImg);
    f.get(p.m).get(at).i32(4).mul().add().set(rowAt);
    f.i32(0).set(c);
    f.loop(() => {
      f.i32(0).set(i);
      f.loop(() => {
        // hi = ho·sh − ph + i·dh; src = the row's first element (meaningless when hi is outside)
        f.get(ho).get(p.sh).mul().get(p.ph).sub().get(i).get(p.dh).mul().add().set(hi);
        f.get(hi).get(p.H).ltU().set(valid);
        f.get(xImg).get(c).get(p.H).mul().get(hi).add().get(p.W).mul().i32(4).mul().add().set(src);
        f.i32(0).set(j);
        f.loop(() => {
          const row = () => f.get(p.sw).i32(1).eq().ifThen(vectorTaps, taps);
          if (add) f.get(valid).ifThen(row);
          else f.get(valid).ifThen(row, () => f.get(rowAt).i32(0).get(len).i32(4).mul().memoryFill());
          f.bumpBy(rowAt, p.ldm);
          f.get(j).i32(1).add().tee(j).get(p.KW).ltU().brIf(0);
        });
        f.get(i).i32(1).add().tee(i).get(p.KH).ltU().brIf(0);
      });
      f.get(c).i32(1).add().tee(c).get(p.cg).ltU().brIf(0);
    });
    f.get(at).get(len).add().set(at);
    f.get(col).get(len).add().set(col);
    f.get(at).get(p.n).ltU().brIf(0);
  });
  return f;
}

/**
 * `panels(src, ld, rows, n, dst)`: the transpose of a row-major [rows, n] matrix (ld bytes per
 * row) as the gemm's packed B panels, [⌈rows / NR⌉][n][NR] with zeros past the last row: the
 * weight gradient's ctᵀ operand.
 */
function panelsFunction(): ConvBuilder {
  const f = new ConvBuilder([I32, I32, I32, I32, I32]);
  const [src, ld, rows, n, dst] = [0, 1, 2, 3, 4];
  const [o, rowsPad, s, d, t] = Array.from({ length: 5 }, () => f.local(I32));
  // rowsPad = ⌈rows / NR⌉ · NR
  f.get(rows).i32(NR - 1).add().i32(NR).divU().i32(NR).mul().set(rowsPad);
  f.i32(0).set(o);
  f.loop(() => {
    // d = dst + ((o / NR) · n · NR + o % NR) · 4
    f.get(dst).get(o).i32(NR).divU().get(n).mul().i32(NR).mul().get(o).get(o).i32(NR).divU().i32(NR).mul().sub().add().i32(4).mul().add().set(d);
    f.get(src).get(o).get(ld).mul().add().set(s);
    f.get(n).set(t);
    f.get(o).get(rows).ltU();
    f.ifThen(
      () => f.loop(() => {
        f.get(d).get(s).f32Load().f32Store();
        f.bump(d, NR * 4).bump(s, 4);
        f.get(t).i32(1).sub().tee(t).brIf(0);
      }),
      () => f.loop(() => {
        f.get(d).f32Zero().f32Store();
        f.bump(d, NR * 4);
        f.get(t).i32(1).sub().tee(t).brIf(0);
      }),
    );
    f.get(o).i32(1).add().tee(o).get(rowsPad).ltU().brIf(0);
  });
  return f;
}

/**
 * The module's bytes: `im2col`, `col2im` and ./gemm-kernel.ts's `gemm` over an imported memory
 * (shared when `shared`), so one instance serves a whole convolution.
 */
export function convModuleBytes(shared: boolean, maxPages: number): Uint8Array {
  return encodeModule(
    [
      { name: "im2col", fn: convFunction(false) },
      { name: "col2im", fn: convFunction(true) },
      { name: "panels", fn: panelsFunction() },
      { name: "gemm", fn: gemmFunction() },
    ],
    { minPages: 1, maxPages, shared },
  );
}
