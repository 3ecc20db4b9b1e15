/**
 * `checkNumerics` on WebGPU (runtime/numerics.ts has the CPU side and the rules): the f32
 * buffers of each kernel and matrix product are copied, right after its pass and in the same
 * command buffer, into readback buffers of their own, so a buffer the call reuses later still
 * shows what that step left in it. After the submit the copies are scanned in step order and the
 * first NaN or Infinity is an E6030 naming the step. Nothing here runs when the option is off.
 */
import type { CpuArray } from "../cpu.js";
import { firstNonFinite, nonFiniteAfterStep, nonFiniteInput, stepBuffers } from "../numerics.js";
import type { EntryPlan, FunctionSpec } from "../plan.js";
import type { WebGpuDevice } from "./device.js";
import { BufferUsage } from "./pool.js";

/** One copy to scan: the plan step it follows (-1 for an input) and the buffer it shows. */
interface Snapshot {
  step: number;
  buffer: number;
  name?: string;
  elements: number;
  copy: GPUBuffer;
}

/** The copies of one call, taken while it is encoded and scanned after its submit. */
export class NumericsCheck {
  private readonly snapshots: Snapshot[] = [];

  constructor(
    private readonly spec: FunctionSpec,
    private readonly plan: EntryPlan,
    private readonly device: WebGpuDevice,
    private readonly elements: readonly number[],
  ) {}

  /** Scans the caller's host f32 inputs now (device inputs are copied by {@link input}). */
  hostInputs(host: ReadonlyMap<number, CpuArray>): void {
    for (const { name, buffer } of this.plan.inputs) {
      const a = host.get(buffer);
      const i = a instanceof Float32Array ? firstNonFinite(a) : -1;
      if (i >= 0) throw nonFiniteInput(this.spec, name, i, a![i]!);
    }
  }

  /** Copies a device input buffer before the first step. */
  input(encoder: GPUCommandEncoder, buffer: number, source: GPUBuffer): void {
    const name = this.plan.inputs.find((i) => i.buffer === buffer)?.name;
    if (this.isF32(buffer)) this.take(encoder, -1, buffer, source, name);
  }

  /** Copies the f32 buffers step `s` may have written, `storage(b)` giving each one's GPU buffer. */
  afterStep(encoder: GPUCommandEncoder, s: number, storage: (b: number) => GPUBuffer): void {
    for (const b of stepBuffers(this.plan.steps[s]!)) if (this.isF32(b)) this.take(encoder, s, b, storage(b));
  }

  /** Maps the copies in order and throws E6030 at the first non-finite value; frees them all. */
  async scan(): Promise<void> {
    let error: Error | undefined;
    for (const snap of this.snapshots) {
      if (error === undefined) {
        try {
          await snap.copy.mapAsync(1 /* GPUMapMode.READ */, 0, snap.elements * 4);
          const values = new Float32Array(snap.copy.getMappedRange(0, snap.elements * 4).slice(0));
          snap.copy.unmap();
          const i = firstNonFinite(values);
          if (i >= 0) {
            error =
              snap.step < 0
                ? nonFiniteInput(this.spec, snap.name ?? `#${snap.buffer}`, i, values[i]!)
                : nonFiniteAfterStep(this.spec, this.plan, this.plan.steps[snap.step]!, snap.buffer, i, values[i]!);
          }
        } catch (e) {
          error = e as Error;
        }
      }
      this.device.pool.release(snap.copy);
    }
    this.snapshots.length = 0;
    if (error !== undefined) throw error;
  }

  /** Frees the copies without scanning them (the call failed before its submit). */
  release(): void {
    for (const snap of this.snapshots) this.device.pool.release(snap.copy);
    this.snapshots.length = 0;
  }

  private isF32(b: number): boolean {
    const spec = this.plan.buffers[b]!;
    return spec.dtype === "f32" && spec.packed !== true && this.elements[b]! > 0;
  }

  private take(encoder: GPUCommandEncoder, step: number, buffer: number, source: GPUBuffer, name?: string): void {
    const elements = this.elements[buffer]!;
    const bytes = Math.ceil((elements * 4) / 16) * 16;
    const copy = this.device.pool.acquire(bytes, BufferUsage.MAP_READ | BufferUsage.COPY_DST, "checkNumerics readback").buffer;
    encoder.copyBufferToBuffer(source, 0, copy, 0, Math.min(bytes, source.size));
    this.snapshots.push({ step, buffer, name, elements, copy });
  }
}
