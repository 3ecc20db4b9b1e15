/** Types of ./run-cases.js (plain JavaScript, since the page loads it as it is). */
import type { Case } from "../cases.js";
import type { CaseResult } from "../compare.js";

/** The page's (or process's) one WebGPU device, opened on first use. */
export function sharedGpu(): Promise<import("estc/runtime").WebGpuDevice>;
/** Runs `cases` one after another; `load(moduleUrl)` imports a generated module. */
export function runCases(cases: (Case & { cpuOptions?: Record<string, unknown> })[], load?: (url: string) => Promise<Record<string, any>>): Promise<CaseResult[]>;
/** What the runtime found: the adapter (path, fallback, limits) and the device's limits. */
export function describeGpu(names: readonly string[]): Promise<{
  path: string;
  isFallbackAdapter: boolean;
  serialReductions: boolean;
  adapterLimits: Record<string, number>;
  deviceLimits: Record<string, number>;
  attempts: { path: string; what: string; ok: boolean; reason?: string }[];
}>;
