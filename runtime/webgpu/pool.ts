/**
 * The WebGPU back end's caches (STYLE.md §5): a buffer pool keyed by (size, usage) that hands
 * released buffers out again instead of creating new ones, with byte counters a user can read,
 * and a pipeline cache keyed by WGSL source, so a kernel compiles once per device.
 */
/// <reference types="@webgpu/types" preserve="true" />
import { vec4Coverage } from "../plan.js";
import { WebGpuErrorCode, webGpuError } from "./errors.js";

/** GPUBufferUsage flags as numbers, so nothing depends on Dawn's globals being installed. */
export const BufferUsage = { MAP_READ: 1, COPY_SRC: 4, COPY_DST: 8, UNIFORM: 64, STORAGE: 128 } as const;

/** Counters of one device's buffer pool. */
export interface PoolStats {
  /** GPU buffers created so far. */
  buffersCreated: number;
  /** Acquisitions served by a released buffer instead of a new one. */
  buffersReused: number;
  /** Bytes of every GPU buffer that exists (in use plus pooled). */
  bytesCreated: number;
  /** Bytes of buffers handed out and not yet released. */
  bytesInUse: number;
  /** Bytes of released buffers waiting in the pool. */
  bytesPooled: number;
}

/** A buffer's byte size as the pool allocates it: a multiple of 16, at least 16. */
export function paddedBytes(bytes: number): number {
  return Math.max(16, Math.ceil(bytes / 16) * 16);
}

/**
 * A storage buffer's byte size for `bytes` of 32-bit words (f32, i32, or packed bool words, which
 * travel as i32): the vec4 coverage of its words (runtime/plan.ts), so a guard-free vec4 kernel of
 * that element count stays inside it. That is under 1 KiB more than {@link paddedBytes} up to
 * 256·65535 words, under y KiB on a grid of y rows beyond. When the coverage would pass `limit`
 * (the largest buffer the device binds) it is {@link paddedBytes}, and kernels on it keep the guard.
 */
export function storageBytes(bytes: number, limit = Infinity): number {
  const covered = 4 * vec4Coverage(Math.ceil(bytes / 4));
  return covered > limit ? paddedBytes(bytes) : Math.max(paddedBytes(bytes), covered);
}

/** How the pool sizes a request: {@link paddedBytes}, or {@link storageBytes} for buffers kernels bind as tensors. */
export type Padding = "bytes" | "vec4";

/** Buffers by (size, usage); `acquire` prefers a released buffer of the same key. */
export class BufferPool {
  readonly stats: PoolStats = {
    buffersCreated: 0,
    buffersReused: 0,
    bytesCreated: 0,
    bytesInUse: 0,
    bytesPooled: 0,
  };
  readonly #free = new Map<string, GPUBuffer[]>();
  readonly #inUse = new Set<GPUBuffer>();

  constructor(private readonly device: GPUDevice) {}

  /** The byte size `acquire` gives a request of `bytes` with `padding`. */
  sizeFor(bytes: number, padding: Padding = "bytes"): number {
    if (padding === "bytes") return paddedBytes(bytes);
    const { maxStorageBufferBindingSize, maxBufferSize } = this.device.limits;
    return storageBytes(bytes, Math.min(maxStorageBufferBindingSize, maxBufferSize));
  }

  /**
   * A buffer of `sizeFor(bytes, padding)` bytes with `usage`. `fresh` is true for a new buffer,
   * which WebGPU zero-fills; a reused one holds whatever its last user left.
   */
  acquire(bytes: number, usage: number, label = "estc", padding: Padding = "bytes"): { buffer: GPUBuffer; fresh: boolean } {
    const size = this.sizeFor(bytes, padding);
    const free = this.#free.get(key(size, usage));
    const reused = free?.pop();
    if (reused !== undefined) {
      this.stats.buffersReused++;
      this.stats.bytesPooled -= size;
      this.stats.bytesInUse += size;
      this.#inUse.add(reused);
      reused.label = label;
      return { buffer: reused, fresh: false };
    }
    const buffer = this.device.createBuffer({ size, usage, label });
    this.stats.buffersCreated++;
    this.stats.bytesCreated += size;
    this.stats.bytesInUse += size;
    this.#inUse.add(buffer);
    return { buffer, fresh: true };
  }

  /** Puts `buffer` back for reuse. Releasing a buffer twice is a runtime bug and throws. */
  release(buffer: GPUBuffer): void {
    if (!this.#inUse.delete(buffer)) {
      throw new Error("estc internal error: a GPU buffer was released twice or was not from this pool");
    }
    const size = buffer.size;
    this.stats.bytesInUse -= size;
    this.stats.bytesPooled += size;
    const k = key(size, buffer.usage);
    const free = this.#free.get(k);
    if (free === undefined) this.#free.set(k, [buffer]);
    else free.push(buffer);
  }

  /** Forgets a buffer that can no longer be used (its mapping failed), destroying it. */
  discard(buffer: GPUBuffer): void {
    if (!this.#inUse.delete(buffer)) return;
    this.stats.bytesInUse -= buffer.size;
    this.stats.bytesCreated -= buffer.size;
    buffer.destroy();
  }

  /** Destroys every pooled buffer (not those in use), giving their memory back to the GPU. */
  trim(): void {
    for (const list of this.#free.values()) {
      for (const buffer of list) {
        this.stats.bytesCreated -= buffer.size;
        this.stats.bytesPooled -= buffer.size;
        buffer.destroy();
      }
    }
    this.#free.clear();
  }
}

function key(size: number, usage: number): string {
  return `${size}:${usage}`;
}

/** A compiled kernel: its pipeline and the bind group layout its bindings follow. */
export interface CachedPipeline {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  /** The `@binding` numbers the shader declares, in order (binding 0 is the uniforms). */
  bindings: number[];
}

/** Pipelines by WGSL source; a failed compile is not cached, so a fixed kernel can retry. */
export class PipelineCache {
  /** Pipelines compiled so far, and lookups served from the cache. */
  readonly stats = { compiled: 0, hits: 0 };
  readonly #pipelines = new Map<string, Promise<CachedPipeline>>();

  constructor(
    private readonly device: GPUDevice,
    private readonly maxStorageBuffers: number,
  ) {}

  /** The pipeline for `code` (entry point `main`); `label` names the kernel in GPU messages. */
  get(code: string, label: string): Promise<CachedPipeline> {
    const known = this.#pipelines.get(code);
    if (known !== undefined) {
      this.stats.hits++;
      return known;
    }
    const compiling = this.#compile(code, label);
    this.#pipelines.set(code, compiling);
    compiling.catch(() => this.#pipelines.delete(code));
    return compiling;
  }

  async #compile(code: string, label: string): Promise<CachedPipeline> {
    const declared = declaredBindings(code);
    const storage = declared.filter((d) => d.type !== "uniform").length;
    if (storage > this.maxStorageBuffers) {
      throw webGpuError(
        WebGpuErrorCode.limitExceeded,
        `kernel ${label} binds ${storage} storage buffers; this adapter allows ${this.maxStorageBuffers} per shader stage (maxStorageBuffersPerShaderStage)`,
      );
    }
    // Everything between push and pop is synchronous, so no other call's commands land in this scope.
    this.device.pushErrorScope("validation");
    const layout = this.device.createBindGroupLayout({
      label,
      entries: declared.map((d) => ({
        binding: d.binding,
        visibility: 4, // GPUShaderStage.COMPUTE; the globals may be absent in Node
        buffer: { type: d.type },
      })),
    });
    const module = this.device.createShaderModule({ code, label });
    const pipeline = this.device
      .createComputePipelineAsync({
        label,
        layout: this.device.createPipelineLayout({ label, bindGroupLayouts: [layout] }),
        compute: { module, entryPoint: "main" },
      })
      .then(
        (p) => ({ p, e: undefined }),
        (e: unknown) => ({ p: undefined, e }),
      );
    const scope = this.device.popErrorScope().catch(() => null);
    const [made, scopeError] = await Promise.all([pipeline, scope]);
    if (made.p !== undefined && scopeError === null) {
      this.stats.compiled++;
      return { pipeline: made.p, layout, bindings: declared.map((d) => d.binding) };
    }
    const info = await module.getCompilationInfo().catch(() => undefined);
    const messages = (info?.messages ?? [])
      .filter((m) => m.type === "error")
      .map((m) => `  ${m.lineNum}:${m.linePos}: ${m.message}`);
    const fallback = scopeError?.message ?? (made.e as Error | undefined)?.message ?? "unknown error";
    const why = messages.length > 0 ? messages.join("\n") : `  ${fallback}`;
    throw webGpuError(WebGpuErrorCode.deviceFailure, `kernel ${label} failed to compile:\n${why}`);
  }
}

/** `@group(0) @binding(N) var<uniform | storage, read | storage, read_write>` declarations. */
function declaredBindings(code: string): { binding: number; type: GPUBufferBindingType }[] {
  const found: { binding: number; type: GPUBufferBindingType }[] = [];
  const pattern = /@binding\(\s*(\d+)\s*\)\s*var\s*<\s*(uniform|storage)\s*(?:,\s*(read_write|read)\s*)?>/g;
  for (const m of code.matchAll(pattern)) {
    const type: GPUBufferBindingType =
      m[2] === "uniform" ? "uniform" : m[3] === "read_write" ? "storage" : "read-only-storage";
    found.push({ binding: Number(m[1]), type });
  }
  return found.sort((a, b) => a.binding - b.binding);
}
