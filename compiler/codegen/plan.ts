/**
 * From a schedule to an EntryPlan: buffers for materialized values, one step per kernel, and
 * the kernel sources (deduplicated across the entry points of a function).
 */
import type { EntryPlan, Step, WgslKernel } from "../../runtime/plan.js";
import { Op, type Node } from "../ir.js";
import { kernelReads, kernelWrites, schedule, type ScheduledKernel } from "../schedule.js";
import type { KernelSource } from "./ts/kernels.js";
import { fusedKernelTs, matmulKernelTs, reduceKernelTs } from "./ts/kernels.js";
import { matmulKernelWgsl } from "./wgsl/matmul.js";
import { fusedKernelWgsl, type WgslContext } from "./wgsl/kernels.js";
import { reduceKernelWgsl } from "./wgsl/reduce.js";
import { convKernelWgsl } from "./wgsl/conv.js";
import { convKernelTs } from "./ts/conv.js";
import type { Span } from "../diagnostics.js";
import { kernelName } from "./names.js";
import { convStep } from "./conv-step.js";
import { fusedKernelWasm } from "./wasm/fused.js";
import { reduceKernelWasm } from "./wasm/reduce.js";
import type { SimdBuilder } from "./wasm/simd.js";
import type { Dim } from "../../runtime/plan.js";

/** A kernel's Wasm function, its loop shape and how many of its buffers it reads; a reduction's reduced axes. */
export interface WasmKernel {
  fn: SimdBuilder;
  shape: Dim[];
  reads: number;
  reduce?: number[];
}

/** A generated kernel, in TypeScript and WGSL, with the source span it came from (for the comment above it). */
export interface EmittedKernel {
  name: string;
  source: KernelSource;
  wgsl: WgslKernel;
  /** The Wasm SIMD form (./wasm/), where the kernel has one. */
  wasm?: WasmKernel;
  span?: Span;
}

/** Collects kernels across entry points, sharing identical ones; each in both back ends' source. */
export class KernelTable {
  readonly kernels: EmittedKernel[] = [];
  private readonly byBody = new Map<string, number>();

  constructor(
    readonly fnName: string,
    readonly ctx: WgslContext,
    readonly provenance: ReadonlyMap<number, Span>,
  ) {}

  add(k: ScheduledKernel, reads: Node[]): number {
    if (k.kind === "structural") throw new Error(`codegen: ${k.node.op} is a runtime step, not a kernel`);
    const source =
      k.kind === "fused" ? fusedKernelTs(k, reads, this.ctx)
      : k.kind === "matmul" ? matmulKernelTs(k, reads, this.ctx)
      : k.kind === "conv" ? convKernelTs(k, reads, this.ctx)
      : reduceKernelTs(k, reads, this.ctx);
    const key = `${source.params.map((p) => p.type).join(",")}|${source.body}`;
    const known = this.byBody.get(key);
    if (known !== undefined) return known;
    const nodes = k.kind === "fused" ? k.outputs : k.kind === "matmul" || k.kind === "conv" ? [k.node, ...k.epilogue] : [k.node];
    const span = nodes.map((n) => this.provenance.get(n.id)).find((s) => s !== undefined);
    const index = this.kernels.length;
    const name = kernelName(this.fnName, index);
    const wgsl =
      k.kind === "fused" ? fusedKernelWgsl(name, k, reads, this.ctx)
      : k.kind === "matmul" ? matmulKernelWgsl(name, k, reads, this.ctx)
      : k.kind === "conv" ? convKernelWgsl(name, k, reads, this.ctx)
      : reduceKernelWgsl(name, k, reads, this.ctx);
    const fused = k.kind === "fused" ? fusedKernelWasm(k, reads, this.ctx) : undefined;
    const wasm: WasmKernel | undefined =
      k.kind === "fused" ? (fused === undefined ? undefined : { fn: fused, shape: [...k.shape] as Dim[], reads: reads.length })
      : k.kind === "reduce" ? reduceKernelWasm(k, reads, this.ctx)
      : undefined;
    const wasmKernel = wasm === undefined ? {} : { wasm };
    this.kernels.push({ name, source, wgsl, ...wasmKernel, ...(span !== undefined ? { span } : {}) });
    this.byBody.set(key, index);
    return index;
  }
}

/** Builds the plan computing `roots` from the named Input nodes. */
export function buildEntryPlan(roots: Node[], table: KernelTable, fuseMatMuls = true): EntryPlan {
  const sched = schedule(roots, undefined, fuseMatMuls);
  const buffers: EntryPlan["buffers"] = [];
  const bufferOf = new Map<number, number>();
  const inputs: EntryPlan["inputs"] = [];
  const buffer = (n: Node): number => {
    let b = bufferOf.get(n.id);
    if (b === undefined) {
      b = buffers.length;
      buffers.push(n.dtype === "bool" ? { dtype: n.dtype, shape: [...n.shape], packed: true } : { dtype: n.dtype, shape: [...n.shape] });
      bufferOf.set(n.id, b);
      if (n.op === Op.Input) inputs.push({ name: n.attrs["name"] as string, buffer: b });
    }
    return b;
  };
  const steps: Step[] = [];
  for (const k of sched.kernels) {
    const reads = kernelReads(k);
    if (k.kind !== "structural") {
      const writes = kernelWrites(k);
      const index = table.add(k, reads);
      steps.push({ op: "kernel", kernel: index, args: [...reads.map(buffer), ...writes.map(buffer)] });
      continue;
    }
    if (k.node.op !== Op.Reshape && [k.node, ...k.node.inputs].some((n) => n.dtype === "bool")) throw new Error(`schedule: ${k.node.op} on a bool buffer`);
    steps.push(structuralStep(k.node, buffer));
  }
  return { buffers, inputs, outputs: roots.map(buffer), steps };
}

function structuralStep(n: Node, buffer: (n: Node) => number): Step {
  const [a, b] = n.inputs;
  switch (n.op) {
    case Op.Transpose:
      return { op: "transpose", x: buffer(a!), out: buffer(n), perm: [...(n.attrs["perm"] as number[])] };
    case Op.Gather:
      return { op: "gather", x: buffer(a!), idx: buffer(b!), out: buffer(n), axis: n.attrs["axis"] as number };
    case Op.GatherGrad:
      return { op: "gather_grad", ct: buffer(a!), idx: buffer(b!), out: buffer(n), axis: n.attrs["axis"] as number };
    case Op.NmMask:
      return { op: "nm_mask", w: buffer(a!), out: buffer(n), n: n.attrs["n"] as number, m: n.attrs["m"] as number };
    case Op.Reshape:
      return { op: "alias", x: buffer(a!), out: buffer(n) };
    case Op.Conv2d:
    case Op.Conv2dInputGrad:
    case Op.Conv2dWeightGrad:
    case Op.MaxPool2d:
    case Op.MaxPool2dGrad:
    case Op.AvgPool2d:
    case Op.AvgPool2dGrad:
      return convStep(n, buffer);
    default:
      throw new Error(`schedule: no runtime step for op ${n.op}`);
  }
}
