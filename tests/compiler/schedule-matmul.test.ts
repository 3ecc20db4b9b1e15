/**
 * The structure of fused matrix products (compiler/schedule-matmul.ts through schedule.ts): which
 * transposes are read through, which elementwise chains become prologues or epilogues, where an
 * epilogue is cut (bool stores, storage-buffer limit), and that every schedule reads a buffer only
 * after some kernel wrote it. The numbers these kernels compute are in tests/webgpu/matmul-fusion.test.ts.
 */
import { describe, expect, it } from "vitest";
import { matmulKernelWgsl } from "../../compiler/codegen/wgsl/matmul.js";
import type { DifferentiatedFn } from "../../compiler/differentiate.js";
import { Op, type Node } from "../../compiler/ir.js";
import { optimize } from "../../compiler/optimize.js";
import { kernelReads, kernelWrites, schedule, type MatMulKernel, type Schedule } from "../../compiler/schedule.js";
import { compileFn } from "../helpers/compile.js";
import { rng } from "../helpers/gradcheck.js";

type Entry = "forward" | "vjp" | "both";

/** Schedules fn `name` of `text`: its outputs, its vjp's gradients, or both (as `estc explain` does). */
function scheduled(text: string, name: string, entry: Entry, maxBuffers = 7): { fn: DifferentiatedFn; sched: Schedule } {
  const fn = compileFn(text, name);
  const grads = Object.values(fn.grads);
  const raw = entry === "forward" ? fn.lowered.outputs : entry === "vjp" ? grads : [...fn.lowered.outputs, ...grads];
  const sched = schedule(optimize(fn.lowered.graph, raw), maxBuffers);
  expectDependencyOrder(sched);
  return { fn, sched };
}

/** Every buffer a kernel reads is an entry input or was written by an earlier kernel. */
function expectDependencyOrder(s: Schedule): void {
  const written = new Set<number>();
  s.kernels.forEach((k, i) => {
    for (const r of kernelReads(k)) {
      expect(r.op === Op.Input || written.has(r.id), `kernel ${i} (${k.kind}) reads ${r.op} #${r.id} before any kernel writes it`).toBe(true);
      expect(s.materialized.has(r.id), `kernel ${i} reads ${r.op} #${r.id}, which has no buffer`).toBe(true);
    }
    for (const w of kernelWrites(k)) written.add(w.id);
  });
  for (const r of s.roots) expect(r.op === Op.Input || written.has(r.id), `root ${r.op} #${r.id} is never written`).toBe(true);
}

function matmuls(s: Schedule): MatMulKernel[] {
  return s.kernels.filter((k): k is MatMulKernel => k.kind === "matmul");
}

/** The product kernel whose output has shape `shape` (symbols as written in the fn); exactly one. */
function product(s: Schedule, shape: string): MatMulKernel {
  const ks = matmuls(s).filter((k) => k.node.shape.join(",") === shape);
  expect(ks.length, `products of shape [${shape}]`).toBe(1);
  return ks[0]!;
}

function inputName(n: Node): string | undefined {
  return n.op === Op.Input ? (n.attrs["name"] as string) : undefined;
}

/** Ops computed by elementwise (fused) or reduction kernels, i.e. outside every product kernel. */
function opsOutsideProducts(s: Schedule): Op[] {
  return s.kernels.flatMap((k) => (k.kind === "fused" ? k.nodes.map((n) => n.op) : k.kind === "reduce" ? k.prologue.map((n) => n.op) : []));
}

/** The WGSL of a product kernel, generated as the module's codegen would. */
function wgslOf(fn: DifferentiatedFn, k: MatMulKernel): string {
  const dims = [...fn.lowered.dims.keys()];
  const scalars = fn.lowered.scalars.map((s) => s.name);
  const ctx = { dimIndex: (d: string) => dims.indexOf(d), scalarIndex: (s: string) => scalars.indexOf(s), dimCount: dims.length, scalarCount: scalars.length };
  return matmulKernelWgsl("probe", k, kernelReads(k), ctx).code;
}

function storageBindings(wgsl: string): number {
  return wgsl.match(/var<storage/g)?.length ?? 0;
}

describe("transposes", () => {
  const LIN = "fn lin(x: f32[B, I], w: f32[I, H]) -> f32[B, H] { return x @ w }";

  it("the vjp's ct @ wᵀ and xᵀ @ ct read w and x through the transpose: no transpose step", () => {
    const { sched } = scheduled(LIN, "lin", "vjp");
    expect(sched.kernels.filter((k) => k.kind === "structural")).toEqual([]);
    const dx = product(sched, "B,I");
    expect([inputName(dx.a.value), dx.a.transposed]).toEqual(["$ct0", false]);
    expect([inputName(dx.b.value), dx.b.transposed]).toEqual(["w", true]);
    const dw = product(sched, "I,H");
    expect([inputName(dw.a.value), dw.a.transposed]).toEqual(["x", true]);
    expect([inputName(dw.b.value), dw.b.transposed]).toEqual(["$ct0", false]);
    for (const k of matmuls(sched)) expect(kernelReads(k).every((r) => r.op === Op.Input)).toBe(true);
  });

  it("a batched transpose of the last two axes is read through as well", () => {
    const src = "fn bat(a: f32[G, M, K], b: f32[K, N]) -> f32[G, M, N] { return a @ b }";
    const { sched } = scheduled(src, "bat", "vjp");
    expect(sched.kernels.filter((k) => k.kind === "structural")).toEqual([]);
    const da = product(sched, "G,M,K");
    expect([inputName(da.b.value), da.b.transposed]).toEqual(["b", true]);
  });

  it("a transpose something else also reads stays a step, and the product reads its buffer after it", () => {
    // schedule-matmul.ts absorbs a transpose only when products are its only users; otherwise the
    // product reads the step's output (plain, not transposed again).
    const src = `fn both(x: f32[B, I], u: f32[H, I]) -> (f32[B, H], f32[I, H]) {
      let t = transpose(u)
      return (x @ t, t * 2)
    }`;
    const { sched } = scheduled(src, "both", "forward");
    const steps = sched.kernels.filter((k) => k.kind === "structural");
    expect(steps.map((k) => k.node.op)).toEqual([Op.Transpose]);
    const t = steps[0]!.node;
    const mm = product(sched, "B,H");
    expect(mm.b.value).toBe(t);
    expect(mm.b.transposed).toBe(false);
    expect(sched.materialized.has(t.id)).toBe(true);
    expect(sched.kernels.indexOf(steps[0]!)).toBeLessThan(sched.kernels.indexOf(mm));
  });
});

describe("prologues", () => {
  const SGN = "fn sgn(x: f32[B, I], w: f32[I, H]) -> f32[B, H] { return x @ sign(w) }";

  it("x @ sign(w): sign is a 1-op prologue on b, computed in no kernel of its own and never stored", () => {
    for (const entry of ["forward", "both"] as const) {
      const { sched } = scheduled(SGN, "sgn", entry);
      const mm = product(sched, "B,H");
      expect(mm.a.prologue).toEqual([]);
      expect(mm.b.prologue.map((n) => n.op)).toEqual([Op.Sign]);
      expect(mm.b.value.op).toBe(Op.Sign);
      expect(kernelReads(mm).map(inputName).sort()).toEqual(["w", "x"]);
      expect(sched.materialized.has(mm.b.value.id)).toBe(false);
      expect(opsOutsideProducts(sched)).not.toContain(Op.Sign);
    }
  });

  it("the vjp's ct @ sign(w)ᵀ recomputes sign through the transpose", () => {
    const { sched } = scheduled(SGN, "sgn", "vjp");
    const dx = product(sched, "B,I");
    expect(dx.b.transposed).toBe(true);
    expect(dx.b.prologue.map((n) => n.op)).toEqual([Op.Sign]);
    expect(opsOutsideProducts(sched)).not.toContain(Op.Sign);
  });

  it("tanh(x) @ transpose(tanh(x)): both operands one prologue value, the second read through the transpose", () => {
    const src = "fn gram(x: f32[B, I]) -> f32[B, B] { return tanh(x) @ transpose(tanh(x)) }";
    const { sched } = scheduled(src, "gram", "forward");
    const mm = product(sched, "B,B");
    expect(mm.a.value).toBe(mm.b.value);
    expect([mm.a.transposed, mm.b.transposed]).toEqual([false, true]);
    expect([mm.a.prologue.map((n) => n.op), mm.b.prologue.map((n) => n.op)]).toEqual([[Op.Tanh], [Op.Tanh]]);
    expect(sched.kernels).toEqual([mm]);
  });

  it("a random draw is never a prologue: it is drawn once into a buffer the product reads", () => {
    const src = `
      fn uni(x: f32[B, I], w: f32[I, H]) -> f32[B, H] { return x @ (w + uniform([I, H])) }
      fn nrm(x: f32[B, I], w: f32[I, H]) -> f32[B, H] { return x @ normal(w, 0.1) }
      fn draw(x: f32[B, I], w: f32[I, H]) -> f32[B, H] { return x @ uniform([I, H]) }
      fn drawa(x: f32[B, I], w: f32[I, H]) -> f32[B, H] { return uniform([B, I]) @ w }`;
    for (const name of ["uni", "nrm", "draw", "drawa"]) {
      for (const entry of ["forward", "both"] as const) {
        const { sched } = scheduled(src, name, entry);
        const mm = product(sched, "B,H");
        const draws = [...mm.a.prologue, ...mm.b.prologue].filter((n) => n.op === Op.Random);
        expect(draws, `${name} ${entry}: draws recomputed in the product`).toEqual([]);
        expect(opsOutsideProducts(sched), `${name} ${entry}`).toContain(Op.Random);
        const read = kernelReads(mm).filter((r) => r.op === Op.Random);
        const drawnBefore = sched.kernels.slice(0, sched.kernels.indexOf(mm)).flatMap((k) => (k.kind === "fused" ? k.nodes : []));
        for (const r of read) expect(drawnBefore).toContain(r);
      }
    }
  });

  it("a prologue with a broadcast read keeps the broadcast operand a buffer of its own shape", () => {
    const src = "fn scaled(x: f32[B, I], w: f32[I, H], s: f32[H], k: f32 = 2.0) -> f32[B, H] { return x @ (w * s * k) }";
    const { sched } = scheduled(src, "scaled", "forward");
    const mm = product(sched, "B,H");
    expect(mm.b.prologue.length).toBe(2);
    expect(kernelReads(mm).map(inputName).sort()).toEqual(["s", "w", "x"]);
    expect(sched.kernels).toEqual([mm]);
  });
});

describe("epilogues", () => {
  const LAYER = "fn layer(x: f32[B, I], w: f32[I, H], b: f32[H]) -> f32[B, H] { return sign(x @ w / sqrt(I) + b) }";

  it("sign(x @ w / sqrt(I) + b) is one kernel storing only the sign; the product has no buffer", () => {
    const { sched } = scheduled(LAYER, "layer", "forward");
    const mm = product(sched, "B,H");
    expect(mm.epilogue.map((n) => n.op)).toEqual([Op.Div, Op.Add, Op.Sign]);
    expect(mm.outputs).toEqual([sched.roots[0]]);
    expect(mm.outputs[0]!.op).toBe(Op.Sign);
    expect(sched.materialized.has(mm.node.id)).toBe(false);
    // It reads the three inputs only: sqrt(I) is a scalar constant the kernel computes up front.
    const reads = kernelReads(mm);
    expect(reads.filter((r) => r.op === Op.Input).map(inputName).sort()).toEqual(["b", "w", "x"]);
    expect(reads.filter((r) => r.op !== Op.Input).map((r) => r.shape)).toEqual([]);
    expect(matmuls(sched).length).toBe(1);
    expect(opsOutsideProducts(sched).filter((op) => op === Op.Sign || op === Op.Add)).toEqual([]);
  });

  it("with ClippedSTE the forward and the backward mask share the product's epilogue", () => {
    const src = `import { ClippedSTE } from "std/binary"
      fn layer(x: f32[B, I], w: f32[I, H], b: f32[H]) -> f32[B, H] {
        return sign(x @ (sign(w) backward ClippedSTE) / sqrt(I) + b) backward ClippedSTE
      }`;
    const { sched } = scheduled(src, "layer", "both");
    const mm = product(sched, "B,H");
    expect(mm.b.prologue.map((n) => n.op)).toEqual([Op.Sign]);
    expect(mm.epilogue.map((n) => n.op)).toContain(Op.Sign);
    expect(mm.outputs.every((o) => o.dtype !== "bool")).toBe(true);
    expect(sched.materialized.has(mm.node.id)).toBe(false);
  });

  it("an epilogue stops before a value that would be stored as bool", () => {
    const src = "fn positive(x: f32[B, I], w: f32[I, H], b: f32[H]) -> bool[B, H] { return x @ w + b > 0 }";
    const { sched } = scheduled(src, "positive", "forward");
    const mm = product(sched, "B,H");
    expect(mm.epilogue.map((n) => n.op)).toEqual([Op.Add]);
    expect(mm.outputs.map((o) => o.dtype)).toEqual(["f32"]);
    const rest = sched.kernels.filter((k) => k !== mm);
    expect(rest.map((k) => k.kind)).toEqual(["fused"]);
    expect(kernelWrites(rest[0]!).map((n) => n.dtype)).toEqual(["bool"]);
  });

  it("a bool the epilogue only uses inside the kernel is not cut", () => {
    const src = "fn pick(x: f32[B, I], w: f32[I, H]) -> f32[B, H] { return select(x @ w > 0, 1.0, 2.0) }";
    const { sched } = scheduled(src, "pick", "forward");
    const mm = product(sched, "B,H");
    expect(mm.epilogue.map((n) => n.op)).toContain(Op.Select);
    expect(sched.kernels).toEqual([mm]);
  });

  it("an epilogue reading many buffers is cut until the kernel binds at most 7", () => {
    const src = `fn many(x: f32[B, I], w: f32[I, H], a: f32[B, H], b: f32[B, H], c: f32[B, H], d: f32[B, H], e: f32[B, H], f: f32[B, H]) -> f32[B, H] {
      return ((((x @ w) * a + b) * c + d) * e + f)
    }`;
    const wide = scheduled(src, "many", "forward", 100);
    const uncut = product(wide.sched, "B,H");
    // Unlimited, the whole chain fuses: 8 inputs + 1 output = 9 buffers (the test's premise).
    expect(storageBindings(wgslOf(wide.fn, uncut))).toBe(9);
    const { fn, sched } = scheduled(src, "many", "forward");
    const mm = product(sched, "B,H");
    expect(mm.epilogue.length).toBeGreaterThan(0);
    expect(mm.epilogue.length).toBeLessThan(uncut.epilogue.length);
    expect(kernelReads(mm).length + mm.outputs.length).toBeLessThanOrEqual(7);
    const bindings = storageBindings(wgslOf(fn, mm));
    expect(bindings).toBe(kernelReads(mm).length + mm.outputs.length);
    expect(bindings).toBeLessThanOrEqual(7);
    // The cut-off rest of the chain is computed elsewhere, from the stored epilogue value.
    expect(opsOutsideProducts(sched)).toContain(Op.Add);
  });

  it("a cut epilogue in a vjp still fits and still orders", () => {
    const src = `fn many(x: f32[B, I], w: f32[I, H], a: f32[B, H], b: f32[B, H], c: f32[B, H], d: f32[B, H], e: f32[B, H], f: f32[B, H]) -> f32[B, H] {
      return tanh(((((x @ w) * a + b) * c + d) * e + f))
    }`;
    const { fn, sched } = scheduled(src, "many", "both");
    for (const k of matmuls(sched)) expect(storageBindings(wgslOf(fn, k))).toBeLessThanOrEqual(7);
  });
});

describe("a prologue reading many buffers", () => {
  const SRC = `fn wide(x: f32[B, I], a: f32[B, I], b: f32[B, I], c: f32[B, I], d: f32[B, I], e: f32[B, I], w: f32[I, H]) -> f32[B, H] {
    return (x * a * b * c * d * e) @ w
  }`;

  it("bare products keep every kernel of it within 7 buffers (the chain alone reads 6 and writes 1)", () => {
    const fn = compileFn(SRC, "wide");
    const sched = schedule(optimize(fn.lowered.graph, fn.lowered.outputs), 7, false);
    for (const k of sched.kernels) expect(kernelReads(k).length + kernelWrites(k).length).toBeLessThanOrEqual(7);
  });

  // Uncut, the prologue alone would bind 6 reads + w + the output = 8 storage buffers: the
  // schedule gives that prologue back to a fused kernel.
  it("fused, the product kernel fits 7 buffers too", () => {
    const { fn, sched } = scheduled(SRC, "wide", "forward");
    const mm = product(sched, "B,H");
    expect(kernelReads(mm).length + mm.outputs.length).toBeLessThanOrEqual(7);
    expect(storageBindings(wgslOf(fn, mm))).toBeLessThanOrEqual(7);
  });
});

describe("two products whose epilogues read each other's results", () => {
  const CROSS = `fn cross(x: f32[B, I], w: f32[I, B], y: f32[B, I], v: f32[I, B], z: f32[B, B]) -> (f32[B, B], f32[B, B]) {
    let m1 = x @ w
    let m2 = y @ v
    let s = z * z
    return (m1 + tanh(m2) * s, m2 + exp(m1) * s)
  }`;

  for (const entry of ["forward", "vjp", "both"] as const) {
    it(`schedule in dependency order (${entry})`, () => {
      const { sched } = scheduled(CROSS, "cross", entry);
      const products = matmuls(sched);
      expect(products.length).toBe(entry === "forward" ? 2 : 6);
    });
  }

  it("fuse: the later product's epilogue reads the earlier one's stored result (no fallback to bare products)", () => {
    const { sched } = scheduled(CROSS, "cross", "forward");
    const [first, second] = matmuls(sched);
    expect(first!.epilogue.length).toBeGreaterThan(0);
    expect(second!.epilogue.length).toBeGreaterThan(0);
    const firstWrites = new Set(kernelWrites(first!).map((n) => n.id));
    expect(kernelReads(second!).some((r) => firstWrites.has(r.id))).toBe(true);
    // And the earlier one cannot have taken in anything computed from the later product.
    const secondWrites = new Set(kernelWrites(second!).map((n) => n.id));
    expect(kernelReads(first!).some((r) => secondWrites.has(r.id))).toBe(false);
  });

  it("a chain of products, each epilogue reading the previous products, orders too", () => {
    const src = `fn chain(x: f32[B, B], w: f32[B, B]) -> f32[B, B] {
      let m1 = x @ w
      let m2 = x @ sign(w)
      let m3 = (m1 * m2) @ w
      return m3 + m1 * tanh(m2) + (x @ m3) * exp(m1)
    }`;
    for (const entry of ["forward", "vjp", "both"] as const) scheduled(src, "chain", entry);
  });
});

describe("the programs of tests/webgpu/matmul-fusion.test.ts fuse as that file assumes", () => {
  it("prologues on both operands with broadcast reads", () => {
    const src = "fn pro(x: f32[B, I], c: f32[B, 1], w: f32[I, H], s: f32[H], k: f32 = 2.0) -> f32[B, H] { return tanh(x * c) @ (w * s * k) }";
    const mm = product(scheduled(src, "pro", "forward").sched, "B,H");
    expect(mm.a.prologue.map((n) => n.op)).toEqual([Op.Mul, Op.Tanh]);
    expect(mm.b.prologue.length).toBe(2);
    expect(kernelReads(mm).map(inputName).sort()).toEqual(["c", "s", "w", "x"]);
  });

  it("iota in a prologue", () => {
    const src = "fn io(x: f32[B, I], w: f32[I, H]) -> f32[B, H] { return x @ (w * iota([I, H], axis = 0) + iota([I, H], axis = 1) * 0.125) }";
    const mm = product(scheduled(src, "io", "forward").sched, "B,H");
    expect(mm.b.prologue.filter((n) => n.op === Op.Iota).length).toBe(2);
  });

  it("an epilogue reading an i32 input, a packed bool buffer, a broadcast bias and row scale", () => {
    const src = `fn epi(x: f32[B, I], w: f32[I, H], b: f32[H], r: f32[B, 1], m: i32[B, H], k: f32 = 2.0) -> f32[B, H] {
      let y = x @ w / k + b
      return select(m, y * r, tanh(y)) + select(m > 1, y, 0.5)
    }`;
    const { sched } = scheduled(src, "epi", "forward");
    const mm = product(sched, "B,H");
    expect(mm.outputs).toEqual(sched.roots);
    expect(mm.epilogue.filter((n) => n.op === Op.Select).length).toBe(2);
    const reads = kernelReads(mm);
    expect(reads.filter((r) => r.op === Op.Input).map(inputName).sort()).toEqual(["b", "m", "r", "w", "x"]);
    // m > 1 depends on no product: one fused kernel stores it (bit-packed), the epilogue reads it.
    expect(reads.filter((r) => r.op !== Op.Input).map((r) => [r.op, r.dtype])).toEqual([[Op.Gt, "bool"]]);
    expect(sched.kernels.map((k) => k.kind)).toEqual(["fused", "matmul"]);
  });

  it("a batched product with a prologue and an epilogue", () => {
    const src = "fn batf(a: f32[G, M, K], r: f32[G, 1, K], b: f32[K, N], s: f32[G, 1, N]) -> f32[G, M, N] { return tanh((a * r) @ (b * 0.5)) * s }";
    const { sched } = scheduled(src, "batf", "forward");
    const mm = product(sched, "G,M,N");
    expect(sched.kernels).toEqual([mm]);
    expect([mm.a.prologue.length, mm.b.prologue.length, mm.epilogue.length]).toEqual([1, 1, 2]);
  });

  it("ClippedSTE through a product: the vjp's ct @ sign(w)ᵀ and xᵀ @ ct both fuse", () => {
    const src = `import { ClippedSTE } from "std/binary"
      fn layer(x: f32[B, I], w: f32[I, H], b: f32[H]) -> f32[B, H] {
        return sign(x @ (sign(w) backward ClippedSTE) / sqrt(I) + b) backward ClippedSTE
      }`;
    const { sched } = scheduled(src, "layer", "vjp");
    const dx = product(sched, "B,I");
    expect([dx.b.transposed, dx.b.prologue.map((n) => n.op)]).toEqual([true, [Op.Sign]]);
    expect(product(sched, "I,H").a.transposed).toBe(true);
  });
});

/** A seeded random program of products, transposes, elementwise ops and row sums over [N, N]. */
function randomProgram(seed: number): string {
  const random = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const values = ["a", "b", "c", "d"];
  const lines: string[] = [];
  for (let i = 0; i < 7; i++) {
    const [x, y] = [pick(values), pick(values)];
    const forms = [
      `${x} @ ${y}`, `sign(${x}) @ ${y}`, `transpose(${x}) @ ${y}`, `${x} @ transpose(${y})`, `tanh(${x} @ ${y}) + ${x}`,
      `${x} + ${y}`, `${x} * tanh(${y})`, `transpose(${x}) + ${y}`, `${x} + sum(${y}, axis = 1, keepdims = true)`,
      `${x} @ (${y} + uniform([N, N]))`, `select(${x} > ${y}, ${x}, 0.5)`,
    ];
    lines.push(`let v${i} = ${pick(forms)}`);
    values.push(`v${i}`);
  }
  return `fn f(a: f32[N, N], b: f32[N, N], c: f32[N, N], d: f32[N, N]) -> (f32[N, N], f32[N, N]) {
    ${lines.join("\n    ")}
    return (v6, v5 + v3)
  }`;
}

describe("random programs (seeded)", () => {
  it("schedule in dependency order with every product kernel's rules kept", () => {
    let fusedSomething = 0;
    for (let seed = 1; seed <= 120; seed++) {
      const text = randomProgram(seed);
      for (const entry of ["forward", "both"] as const) {
        for (const maxBuffers of [7, 4]) {
          const { sched } = scheduled(text, "f", entry, maxBuffers);
          for (const k of matmuls(sched)) {
            const what = `seed ${seed} ${entry} max ${maxBuffers}:\n${text}`;
            expect([...k.a.prologue, ...k.b.prologue].filter((n) => n.op === Op.Random), what).toEqual([]);
            expect(k.outputs.filter((o) => o.dtype === "bool"), what).toEqual([]);
            if (k.epilogue.length > 0) expect(kernelReads(k).length + k.outputs.length, what).toBeLessThanOrEqual(maxBuffers);
            if (k.epilogue.length > 0 || k.a.prologue.length > 0 || k.b.transposed) fusedSomething++;
          }
        }
      }
    }
    // The programs do exercise fusion (not only bare products).
    expect(fusedSomething).toBeGreaterThan(200);
  });
});
