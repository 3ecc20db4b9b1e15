/**
 * Tensors on a WebGPU device: their storage (a pooled GPUBuffer, returned to the pool by
 * `free()`), uploads from the JS heap and `read()` by mapAsync readback. Bool elements live on
 * the device as packed bits (32 per u32 word), the layout WGSL kernels read (runtime/plan.ts).
 */
/// <reference types="@webgpu/types" preserve="true" />
import type { CpuArray } from "../cpu.js";
import { EstcRuntimeError } from "../errors.js";
import { packBits, unpackBits } from "../plan-buffers.js";
import { Tensor, type DType, type DeviceStorage } from "../tensor.js";
import type { WebGpuDevice } from "./device.js";
import { WebGpuErrorCode, webGpuError } from "./errors.js";
import { BufferUsage } from "./pool.js";

/** Usage of every storage buffer: kernels bind it, copies and uploads fill it, readback copies it out. */
export const STORAGE_USAGE = BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST;

/** What a device tensor's `storage.handle` is. */
export interface GpuTensorHandle {
  readonly device: WebGpuDevice;
  readonly buffer: GPUBuffer;
}

/** Bytes a tensor of `size` elements needs on the device: bool as bits in whole u32 words. */
export function deviceBytes(dtype: DType, size: number): number {
  return dtype === "bool" ? Math.ceil(size / 32) * 4 : size * 4;
}

/**
 * Takes a storage buffer from the pool, counted in the device's memory stats; it is padded to the
 * vec4 coverage of its words (pool.ts `storageBytes`), so guard-free vec4 kernels may bind it.
 */
export function acquireStorage(device: WebGpuDevice, bytes: number, label: string): { buffer: GPUBuffer; fresh: boolean } {
  const got = device.pool.acquire(bytes, STORAGE_USAGE, label, "vec4");
  device.memory.track(got.buffer.size);
  return got;
}

/** The byte size of the buffer {@link acquireStorage} gives for `bytes`, known before it is taken. */
export function storageSize(device: WebGpuDevice, bytes: number): number {
  return device.pool.sizeFor(bytes, "vec4");
}

/** Gives a storage buffer from {@link acquireStorage} back to the pool. */
export function releaseStorage(device: WebGpuDevice, buffer: GPUBuffer): void {
  device.memory.release(buffer.size);
  device.pool.release(buffer);
}

/** A tensor whose elements are in `buffer` on `device`; disposing it returns the buffer to the pool. */
export function deviceTensor(device: WebGpuDevice, buffer: GPUBuffer, shape: readonly number[], dtype: DType): Tensor {
  const size = shape.reduce((n, d) => n * d, 1);
  const handle: GpuTensorHandle = { device, buffer };
  const storage: DeviceStorage = {
    kind: "device",
    device: "webgpu",
    handle,
    read: async () => fromWords(await readBuffer(device, buffer, deviceBytes(dtype, size)), dtype, size),
    free: () => releaseStorage(device, buffer),
  };
  return new Tensor(shape, dtype, storage);
}

/** The handle of a tensor on `device`, or undefined for a cpu tensor; E6019 for another device's. */
export function handleOn(device: WebGpuDevice, t: Tensor, what: string): GpuTensorHandle | undefined {
  const storage = t.storage;
  if (storage.kind === "cpu") return undefined;
  const handle = storage.handle as Partial<GpuTensorHandle> | undefined;
  if (storage.device !== "webgpu" || handle?.device !== device) {
    throw webGpuError(
      WebGpuErrorCode.foreignTensor,
      `${what} lives on another ${storage.device} device; read it with 'await t.data()' and pass a cpu tensor, or run on the device that holds it`,
    );
  }
  return handle as GpuTensorHandle;
}

/** The words to upload for a cpu array: bool bytes packed into bits, other types as they are. */
export function hostWords(array: CpuArray, dtype: DType): Uint32Array | Int32Array | Float32Array {
  return dtype === "bool" ? packBits(array) : (array as Int32Array | Float32Array);
}

/** Writes `data` to the start of `buffer` (through the queue, so after earlier submitted work). */
export function upload(device: WebGpuDevice, buffer: GPUBuffer, data: Uint32Array | Int32Array | Float32Array): void {
  if (data.byteLength === 0) return;
  // A CPU tensor in the Wasm kernels' arena views a SharedArrayBuffer, which writeBuffer refuses.
  if (!(data.buffer instanceof ArrayBuffer)) data = data.slice();
  device.gpu.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
  device.transfers.uploads++;
  device.transfers.bytesUploaded += data.byteLength;
}

/** A copy of a cpu tensor on `device` (a device tensor of this device is returned as it is). */
export function toDevice(t: Tensor, device: WebGpuDevice): Tensor {
  if (handleOn(device, t, "the tensor") !== undefined) return t;
  const array = (t.storage as { array: CpuArray }).array;
  const { buffer } = acquireStorage(device, deviceBytes(t.dtype, t.size), "upload");
  upload(device, buffer, hostWords(array, t.dtype));
  return deviceTensor(device, buffer, t.shape, t.dtype);
}

/** `bytes` bytes of `buffer`, copied through a pooled staging buffer; E6018 if the device is lost. */
export async function readBuffer(device: WebGpuDevice, buffer: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
  const gone = device.failure;
  if (gone !== undefined) throw webGpuError(WebGpuErrorCode.deviceFailure, `cannot read a tensor back: ${gone}`);
  const size = Math.max(4, Math.ceil(bytes / 4) * 4);
  const { buffer: staging } = device.pool.acquire(size, BufferUsage.MAP_READ | BufferUsage.COPY_DST, "readback");
  const encoder = device.gpu.createCommandEncoder({ label: "estc readback" });
  encoder.copyBufferToBuffer(buffer, 0, staging, 0, size);
  device.gpu.queue.submit([encoder.finish()]);
  try {
    await whileAlive(device, staging.mapAsync(1 /* GPUMapMode.READ */, 0, size), "reading a tensor back");
  } catch (e) {
    device.pool.discard(staging);
    throw e;
  }
  const copy = staging.getMappedRange(0, size).slice(0, bytes);
  staging.unmap();
  device.pool.release(staging);
  device.transfers.readbacks++;
  device.transfers.bytesRead += bytes;
  return copy;
}

/** `work`, or E6018 as soon as the device is lost, so nothing waits on a dead device. */
export async function whileAlive<T>(device: WebGpuDevice, work: Promise<T>, what: string): Promise<T> {
  let unwatch = (): void => undefined;
  const lost = new Promise<never>((_, reject) => {
    unwatch = device.watchLoss((why) => reject(webGpuError(WebGpuErrorCode.deviceFailure, `${what}: ${why}`)));
  });
  try {
    return await Promise.race([work, lost]);
  } catch (e) {
    if (e instanceof EstcRuntimeError) throw e;
    throw webGpuError(WebGpuErrorCode.deviceFailure, `${what}: ${device.failure ?? (e as Error).message}`);
  } finally {
    unwatch();
  }
}

/** Typed elements from device bytes: bits unpacked to 0/1 bytes for bool. */
function fromWords(bytes: ArrayBuffer, dtype: DType, size: number): CpuArray {
  if (dtype === "f32") return new Float32Array(bytes, 0, size);
  if (dtype === "i32") return new Int32Array(bytes, 0, size);
  return unpackBits(new Uint32Array(bytes), new Uint8Array(size));
}
