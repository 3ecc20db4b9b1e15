/**
 * Philox-4x32-10 draws inside the Wasm kernels: the words, uniforms, normal and Gumbel draws of
 * runtime/philox.ts's mapping (element i of site s, stream t is word i mod 4 of
 * philox((i/4, s, t, 0), key)), bit for bit, for the four elements of one vector, whose block
 * index i/4 is the vector's index in the kernel's loop.
 *
 * Two Philox blocks run side by side in two v128s: E holds words 0 and 2 of both blocks, O
 * words 1 and 3. A round's two 32x32 → 64-bit products are `i64x2.extmul_low/high_i32x4_u` of E
 * by (M0, M1): the high and low words come out whole, with no 16-bit halves and no i64x2.mul.
 * Measured here (scripts not kept), 2^20 words under load: the TS loop 98 ms; one block per
 * v128 with i64x2.mul 8.4 ms, with a shuffle and extmul 4.8 ms, with 16-bit-half products
 * (the TS/WGSL formula) 13.8 ms; two blocks in E/O form 3.0 ms.
 *
 * A uniform or Gumbel site needs one block per vector: the even/odd pair of blocks (2k, 2k+1)
 * is computed once and the odd vector reuses it. A normal draw needs the stream-0 and stream-1
 * blocks of the same index, one pair per vector. The key (seed mod 2^32, floor(seed / 2^32))
 * sits after the runtime scalars in the kernel's uniform block (runtime/wasm/kernels.ts).
 */
import { I32, V128 } from "../../../runtime/wasm/encoder.js";
import { PHILOX_M0, PHILOX_M1, PHILOX_ROUNDS, PHILOX_W0, PHILOX_W1 } from "../../../runtime/philox.js";
import { Op, type Node } from "../../ir.js";
import { emitGumbel, emitNormal } from "./normal.js";
import { SimdBuilder } from "./simd.js";

const MULTIPLIERS = [PHILOX_M0 | 0, PHILOX_M1 | 0, PHILOX_M0 | 0, PHILOX_M1 | 0] as const;
const KEY_STEP = [PHILOX_W0 | 0, PHILOX_W1 | 0, PHILOX_W0 | 0, PHILOX_W1 | 0] as const;

/** The draws of one kernel: the key, loaded once, and each uniform site's cached block pair. */
export class KernelDraws {
  private readonly key: number;
  private readonly pairs = new Map<number, { base: number; x: number; y: number }>();
  private readonly e: number;
  private readonly o: number;
  private readonly lo: number;
  private readonly hi: number;
  private readonly round: number;

  /**
   * Emits the prologue (before the kernel's loop): the key from the 8 bytes at `keyOffset` past
   * the address in local `uniforms`, and an empty cache for each of `nodes`' single-stream sites.
   */
  constructor(private readonly b: SimdBuilder, uniforms: number, keyOffset: number, nodes: readonly Node[]) {
    this.key = b.local(V128);
    [this.e, this.o, this.lo, this.hi, this.round] = [b.local(V128), b.local(V128), b.local(V128), b.local(V128), b.local(V128)];
    // [k0, k1, k0, k1]: the key words E's lanes are xored with.
    b.get(uniforms).load64Splat(keyOffset).set(this.key);
    for (const n of nodes) {
      if (n.op !== Op.Random || n.attrs["normal"] === true) continue;
      const base = b.local(I32);
      // An odd base is never a pair's (even) base: the first vector computes its pair.
      b.i32(1).set(base);
      this.pairs.set(n.id, { base, x: b.local(V128), y: b.local(V128) });
    }
  }

  /** Pushes the f32x4 draw of Random node `n` for the vector whose block index is in i32 local `block`. */
  emit(n: Node, block: number): void {
    const b = this.b;
    const site = n.attrs["site"] as number;
    if (n.attrs["normal"] === true) {
      // Stream 0 (radius) and stream 1 (angle) of the same block: E = [j, 0, j, 1].
      this.pair(site, () => b.get(block).v("i32x4.splat").i32x4Lanes([-1, 0, -1, 0]).v("v128.and").i32x4Lanes([0, 0, 0, 1]).v("v128.or"));
      const [w1, w2] = [b.local(V128), b.local(V128)];
      this.words(w1, w2);
      emitNormal(b, w1, w2);
      return;
    }
    const stream = n.attrs["stream"] as number;
    const cache = this.pairs.get(n.id)!;
    // base = block & ~1; when it is not the cached pair's, draw blocks (base, base + 1).
    b.get(block).i32(-2).and().get(cache.base).ne().ifThen(() => {
      b.get(block).i32(-2).and().set(cache.base);
      this.pair(site, this.consecutive(cache.base, stream));
      this.words(cache.x, cache.y);
    });
    const w = b.local(V128);
    b.get(cache.y).get(cache.x).get(block).i32(1).and().select().set(w);
    this.transform(n, w);
  }

  /**
   * Pushes the f32x4 draw of Random node `n` for the four consecutive elements from the flat
   * index in i32 local `flat`, at any alignment (a loop whose vectors need not start on a
   * multiple of 4, such as a reduction's rows): blocks flat/4 and flat/4 + 1 are drawn and the
   * four words taken from offset flat mod 4 of their eight.
   */
  emitAt(n: Node, flat: number): void {
    const b = this.b;
    const site = n.attrs["site"] as number;
    const block = b.local(I32);
    b.get(flat).i32(2).shrU().set(block);
    const wordsOf = (stream: number): number => {
      const [x, y, w] = [b.local(V128), b.local(V128), b.local(V128)];
      this.pair(site, this.consecutive(block, stream));
      this.words(x, y);
      b.get(x).set(w);
      for (let o = 1; o < 4; o++) {
        b.get(x).get(y).shuffle32([o, o + 1, o + 2, o + 3]).get(w).get(flat).i32(3).and().i32(o).op(0x46 /* i32.eq */).select().set(w);
      }
      return w;
    };
    if (n.attrs["normal"] === true) {
      const w1 = wordsOf(0);
      emitNormal(b, w1, wordsOf(1));
      return;
    }
    this.transform(n, wordsOf(n.attrs["stream"] as number));
  }

  /** Pushes a uniform or Gumbel node's values of the words in local `w`. */
  private transform(n: Node, w: number): void {
    if (n.attrs["gumbel"] === true) emitGumbel(this.b, w);
    else emitUniform(this.b, w, n.attrs["open"] === true);
  }

  /** Pushes E's start for blocks (j, j + 1) of `stream`, j in i32 local `block`: [j, stream, j + 1, stream]. */
  private consecutive(block: number, stream: number): () => void {
    const b = this.b;
    return () => b.get(block).v("i32x4.splat").i32x4Lanes([-1, 0, -1, 0]).v("v128.and").i32x4Lanes([0, stream, 1, stream]).v("i32x4.add");
  }

  /** Pushes the raw words (i32x4) of block `block` (i32 local) of (site, stream), for tests and tools. */
  emitWords(site: number, stream: number, block: number): void {
    const b = this.b;
    const [x, y] = [b.local(V128), b.local(V128)];
    this.pair(site, this.consecutive(block, stream));
    this.words(x, y);
    b.get(x);
  }

  /**
   * Philox-4x32-10 of two counters (c0, site, c2, 0) at once: `counters` pushes E's start,
   * [c0, c2, c0', c2'], and O starts at [site, 0, site, 0]. Random123's rounds: the key bumped
   * by the Weyl constants before every round but the first, then
   * (c0, c1, c2, c3) ← (hi(M1·c2) ^ c1 ^ k0, lo(M1·c2), hi(M0·c0) ^ c3 ^ k1, lo(M0·c0)).
   */
  private pair(site: number, counters: () => void): void {
    const { b, e, o, lo, hi, round } = this;
    counters();
    b.set(e);
    b.i32x4Lanes([site, 0, site, 0]).set(o);
    b.get(this.key).set(round);
    for (let r = 0; r < PHILOX_ROUNDS; r++) {
      if (r > 0) b.get(round).i32x4Lanes(KEY_STEP).v("i32x4.add").set(round);
      // lo = [M0·c0, M1·c2] and hi = the same of the second block, as u64 lanes (lo word first).
      b.get(e).i32x4Lanes(MULTIPLIERS).v("i64x2.extmul_low_i32x4_u").set(lo);
      b.get(e).i32x4Lanes(MULTIPLIERS).v("i64x2.extmul_high_i32x4_u").set(hi);
      b.get(lo).get(hi).shuffle32([3, 1, 7, 5]).get(o).v("v128.xor").get(round).v("v128.xor").set(e);
      b.get(lo).get(hi).shuffle32([2, 0, 6, 4]).set(o);
    }
  }

  /** The two blocks' words in element order, from E and O, into locals `x` and `y`. */
  private words(x: number, y: number): void {
    const { b, e, o } = this;
    b.get(e).get(o).shuffle32([0, 4, 1, 5]).set(x);
    b.get(e).get(o).shuffle32([2, 6, 3, 7]).set(y);
  }
}

/**
 * Pushes the uniforms of the words in local `w`: [0, 1) is (w >>> 8)·2^-24, (0, 1) is
 * ((w >>> 9) + 0.5)·2^-23; each is exact in f32, as runtime/philox.ts's uniform01/uniformOpen01.
 */
export function emitUniform(b: SimdBuilder, w: number, open: boolean): void {
  b.get(w).i32(open ? 9 : 8).v("i32x4.shr_u").v("f32x4.convert_i32x4_s");
  if (open) b.f32x4Const(0.5).v("f32x4.add");
  b.f32x4Const(open ? 2 ** -23 : 2 ** -24).v("f32x4.mul");
}

/** What a {@link drawFunction} computes per element. */
export type DrawKind = "words" | "uniform" | "open" | "normal" | "gumbel";

/**
 * A standalone `(out, blocks, first, k0, k1) -> ()` function for tests and tools: the draws of
 * `kind` at sampling site `site` (stream `stream` for words and uniforms) for the 4·blocks
 * elements from element 4·first (first a u32, so element indices up to 2^34), written as u32 or
 * f32 from byte address `out`, through the same code the kernels run. `unaligned`: `first` is
 * the first element's index itself (any u32) and the draws go through {@link KernelDraws.emitAt}.
 */
export function drawFunction(kind: DrawKind, site: number, stream = 0, unaligned = false): SimdBuilder {
  const b = new SimdBuilder([I32, I32, I32, I32, I32]);
  const [OUT, BLOCKS, FIRST, K0, K1] = [0, 1, 2, 3, 4];
  const [i, block, keyAt] = [b.local(I32), b.local(I32), b.local(I32)];
  // The key goes to the 8 bytes past the output, where KernelDraws loads it from.
  b.get(OUT).get(BLOCKS).i32(4).shl().add().tee(keyAt).get(K0).i32Store();
  b.get(keyAt).get(K1).i32Store(4);
  const node = { op: Op.Random, id: 0, attrs: { site, stream, open: kind === "open", normal: kind === "normal", gumbel: kind === "gumbel" } } as unknown as Node;
  const draws = new KernelDraws(b, keyAt, 0, kind === "words" ? [] : [node]);
  b.block(() => {
    b.loop(() => {
      b.get(i).get(BLOCKS).geU().brIf(1);
      b.get(FIRST).get(i).i32(unaligned ? 2 : 0).shl().add().set(block);
      b.get(OUT).get(i).i32(4).shl().add();
      if (kind === "words") {
        // One block per vector (the pair's second block unused): words as u32.
        draws.emitWords(site, stream, block);
      } else if (unaligned) {
        draws.emitAt(node, block);
      } else {
        draws.emit(node, block);
      }
      b.v128Store();
      b.bump(i, 1).br(0);
    });
  });
  return b;
}
