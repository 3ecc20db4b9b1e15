/**
 * What an executor needs to know about a plan's buffers before it runs anything:
 * concrete shapes, which buffer each alias step shares, and after which step each buffer is dead.
 * Shared by the CPU (runtime/execute.ts) and WebGPU executors, so both free buffers at the same steps.
 */
import type { BufferSpec, Dim, EntryPlan, FunctionSpec, Step } from "./plan.js";

/** A buffer's concrete shape: symbols looked up in `dims` by their place in `spec.dims`. */
export function resolveShape(spec: FunctionSpec, buffer: BufferSpec, dims: Int32Array): number[] {
  return buffer.shape.map((d: Dim) => {
    if (typeof d === "number") return d;
    const at = spec.dims.indexOf(d);
    if (at < 0 || at >= dims.length) {
      internal(spec, `shape symbol '${d}' is not among the dims [${spec.dims.join(", ")}]`);
    }
    return dims[at]!;
  });
}

/** For each buffer, the buffer whose storage it uses: itself, or an alias step's `x` root. */
export function aliasRoots(spec: FunctionSpec, plan: EntryPlan, sizes: readonly number[]): number[] {
  const root = plan.buffers.map((_, b) => b);
  for (const step of plan.steps) {
    if (step.op !== "alias") continue;
    const [x, out] = [plan.buffers[step.x]!, plan.buffers[step.out]!];
    if (x.dtype !== out.dtype || sizes[step.x] !== sizes[step.out] || Boolean(x.packed) !== Boolean(out.packed)) {
      internal(spec, `alias of a ${x.dtype} buffer of ${sizes[step.x]} elements as ${out.dtype} of ${sizes[step.out]}`);
    }
    root[step.out] = root[step.x]!;
  }
  return root;
}

/** Step index → the roots whose last reader or writer that step is. */
export function lastUses(plan: EntryPlan, root: readonly number[]): Map<number, number[]> {
  const last = new Map<number, number>();
  plan.steps.forEach((step, s) => {
    for (const b of stepBuffers(step)) last.set(root[b]!, s);
  });
  const byStep = new Map<number, number[]>();
  for (const [r, s] of last) byStep.set(s, [...(byStep.get(s) ?? []), r]);
  return byStep;
}

/** Every buffer a step reads or writes. */
export function stepBuffers(step: Step): number[] {
  switch (step.op) {
    case "kernel":
      return step.args;
    case "matmul":
      return [step.a, step.b, step.out];
    case "transpose":
    case "alias":
      return [step.x, step.out];
    case "gather":
      return [step.x, step.idx, step.out];
    case "gather_grad":
      return [step.ct, step.idx, step.out];
    case "nm_mask":
      return [step.w, step.out];
    case "conv2d":
      return [step.a, step.b, step.out];
    case "pool2d":
      return step.b === undefined ? [step.a, step.out] : [step.a, step.b, step.out];
  }
}

/** A plan that contradicts itself or its spec: a bug in estc's code generation. */
/**
 * Whether output `i` of `plan` is a bool result of the fn (bit-packed in the plan, handed to the
 * caller as a bool tensor). Plans list the fn's results first and residuals after them; the
 * gradient and value plans have no bool outputs.
 */
export function isBoolResult(spec: FunctionSpec, plan: EntryPlan, i: number): boolean {
  const buffer = plan.buffers[plan.outputs[i]!]!;
  return buffer.packed === true && buffer.dtype === "bool" && i < spec.outputs.length;
}

/** Unpacks bit-packed bools (32 per word, element e at bit e & 31 of word e >>> 5) into 0/1 bytes. */
export function unpackBits(words: ArrayLike<number>, out: Uint8Array): Uint8Array {
  for (let e = 0; e < out.length; e++) out[e] = (words[e >>> 5]! >>> (e & 31)) & 1;
  return out;
}

/** Packs bool bytes (nonzero: true) into bit-packed bools (the layout `unpackBits` reads). */
export function packBits(bytes: ArrayLike<number>): Int32Array {
  const words = new Int32Array(Math.ceil(bytes.length / 32));
  for (let e = 0; e < bytes.length; e++) if (bytes[e]) words[e >>> 5]! |= 1 << (e & 31);
  return words;
}

export function internal(spec: FunctionSpec, message: string): never {
  throw new Error(`estc internal error in ${spec.name} (${spec.source}): ${message}`);
}
