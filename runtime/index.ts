/** The estc runtime: what generated modules import. */

/** The runtime's version, which generated modules check against the one they were built for. */
export const runtimeVersion = "0.1.0";

export {
  EstcRuntimeError,
  RuntimeErrorCode,
  formatInputMismatch,
  formatTensorType,
  type ExpectedDim,
  type RuntimeErrorCodeValue,
} from "./errors.js";
export { MemoryStats } from "./memory.js";
export { bytesPerElement, cpu, createCpuDevice, type CpuArray, type CpuDevice, type CpuOptions } from "./cpu.js";
export {
  Tensor,
  scalar,
  tensor,
  zeros,
  type CpuStorage,
  type DType,
  type DeviceStorage,
  type TensorStorage,
} from "./tensor.js";
export {
  PHILOX_M0,
  PHILOX_M1,
  PHILOX_MAX_ELEMENTS,
  PHILOX_ROUNDS,
  PHILOX_W0,
  PHILOX_W1,
  fillBernoulli,
  fillGumbel,
  fillNormal,
  fillUniform,
  fillUniformOpen01,
  fillWords,
  mulhi32,
  philox4x32,
  philox4x32Into,
  philoxKey,
  philoxWordAt,
  sampleCategorical,
  uniform01,
  uniformOpen01,
} from "./philox.js";
export type { BufferSpec, CpuKernel, Dim, EntryPlan, FunctionSpec, Step, WgslKernel } from "./plan.js";
/** The dispatch conventions of generated WGSL kernels (see `WgslKernel`), for code that dispatches its own. */
export { GENERATED_WORKGROUP, linearWorkgroupGrid, vec4Coverage, withoutBoundsGuard } from "./plan.js";
export { KernelErrorCode, gather, gatherGrad, nmMask, transpose } from "./kernels.js";
export { gemm, matmul, matmulShape } from "./matmul.js";
export { conv2dEpilogue, type ConvEpilogue } from "./conv.js";
export { runPlan } from "./execute.js";
export { prunedPlan } from "./prune.js";
export {
  CallErrorCode,
  defineFunction,
  type CallOptions,
  type DeviceLike,
  type EstFunction,
  type Gradients,
  type NonScalarEstFunction,
  type Pullback,
  type VjpResult,
} from "./define.js";
export { randomGumbel, randomNormal, randomUniform, rint } from "./helpers.js";
export {
  explainAttempts,
  findAdapter,
  requestedLimits,
  webgpu,
  type AdapterAttempt,
  type AdapterPath,
  type AdapterReport,
  type AdapterSearch,
  type TransferStats,
  type WebGpuDevice,
  type WebGpuOptions,
} from "./webgpu/device.js";
export { WebGpuErrorCode, type WebGpuErrorCodeValue } from "./webgpu/errors.js";
export { runPlanWebGpu } from "./webgpu/execute.js";
export { BufferPool, PipelineCache, paddedBytes, type PoolStats } from "./webgpu/pool.js";
export { toDevice, type GpuTensorHandle } from "./webgpu/transfer.js";
export { minVarianceBaseline, movingAverageBaseline, type MinVarianceBaseline, type MovingAverageBaseline } from "./baselines.js";
export {
  LOG_LINEAR_T_PRESETS,
  gumbelTemperature,
  logLinearT,
  resteO,
  type GumbelTemperatureOptions,
  type LogLinearT,
} from "./schedules.js";
export { estimatingError, flipRatio, gradientStability, sad, type Layers } from "./indicators.js";
