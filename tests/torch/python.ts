/**
 * Test helper for tests/torch: finds a Python that can import torch and runs tests/torch/driver.py
 * on a batch of jobs (JSON in, JSON out), one process per test file.
 *
 * The interpreter is $ESTC_TORCH_PYTHON, else /usr/bin/python3 (Debian's python3-torch is built
 * for it; a different python3 earlier on PATH cannot import it), else python3 on PATH.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";

const driver = path.resolve(import.meta.dirname, "driver.py");

/** The interpreter that imports torch, or why none does (the tests skip with that reason). */
export function torchPython(): { python: string } | { missing: string } {
  const candidates = [process.env["ESTC_TORCH_PYTHON"], "/usr/bin/python3", "python3"].filter((p): p is string => p !== undefined && p !== "");
  for (const python of candidates) {
    const r = spawnSync(python, ["-c", "import torch"], { encoding: "utf8", timeout: 60_000 });
    if (r.status === 0) return { python };
  }
  return { missing: `no Python here can import torch (tried ${candidates.join(", ")}); install Debian's python3-torch (.ci/run does) or set ESTC_TORCH_PYTHON` };
}

/** One tensor as the driver reads it: row-major data (NaN as null), shape and dtype. */
export interface JobTensor {
  data: (number | null)[];
  shape: number[];
  dtype?: "f32" | "i32" | "bool";
}

/** Runs `jobs` against the torch modules in `dir`; throws with Python's stderr if the process fails. */
export function runTorchJobs<R = any>(python: string, dir: string, jobs: unknown[]): { torch: string; results: R[] } {
  const r = spawnSync(python, [driver], { input: JSON.stringify({ dir, jobs }), encoding: "utf8", timeout: 300_000, maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`tests/torch/driver.py failed (${r.status ?? r.signal}):\n${r.stderr}`);
  return JSON.parse(r.stdout) as { torch: string; results: R[] };
}

/** NaN-safe JSON data of a typed array (JSON has no NaN: the driver reads null as NaN). */
export function jsonData(a: ArrayLike<number>): (number | null)[] {
  return Array.from(a, (v) => (Number.isNaN(v) ? null : v));
}
