/**
 * WebGPU lifetimes (issue 17, item 9): a device opened and destroyed with nothing run on it exits
 * cleanly; an input disposed while its call is in flight is never overwritten by another call.
 * The exit checks run in child processes (tests/webgpu/children/), since what fails is the
 * process itself (an abort, a SIGSEGV, a hang).
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const children = path.join(import.meta.dirname, "children");

/** Runs `script` in a fresh node (with `args`), at most `timeoutMs`; its status, signal and output. */
export function runChild(script: string, args: string[] = [], timeoutMs = 60_000, nodeArgs: string[] = []) {
  const r = spawnSync(process.execPath, [...nodeArgs, path.join(children, script), ...args], {
    encoding: "utf8",
    timeout: timeoutMs,
    env: { ...process.env, EGL_PLATFORM: process.env["EGL_PLATFORM"] ?? "surfaceless" },
  });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

describe("a WebGPU device opened and destroyed without a call", () => {
  it("exits 0 promptly, every time (it aborted, crashed or hung in about one run in four)", () => {
    // Before the fix 3 of 10 runs died (SIGABRT in dawn::native::InstanceBase::ProcessEvents,
    // SIGSEGV, or a hang); ten clean runs in a row would happen by chance with p ≈ 0.75^10 ≈ 6%.
    for (let run = 0; run < 10; run++) {
      const started = Date.now();
      const r = runChild("open-destroy.mjs", [], 30_000);
      expect({ run, status: r.status, signal: r.signal, stdout: r.stdout.trim() }).toEqual({ run, status: 0, signal: null, stdout: "destroyed" });
      expect(Date.now() - started).toBeLessThan(30_000);
    }
  });
});
