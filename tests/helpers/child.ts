/**
 * Test helper: runs a script of tests/webgpu/children/ in a fresh node, for checks where what
 * fails is the process itself (an abort, a SIGSEGV in a shader compiler, a hang, memory growth).
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";

const children = path.resolve(import.meta.dirname, "..", "webgpu", "children");

/** Runs `script` with `args` (and `nodeArgs` before it) for at most `timeoutMs`: status, signal, output. */
export function runChild(script: string, args: string[] = [], timeoutMs = 60_000, nodeArgs: string[] = []) {
  const r = spawnSync(process.execPath, [...nodeArgs, path.join(children, script), ...args], {
    encoding: "utf8",
    timeout: timeoutMs,
    env: { ...process.env, EGL_PLATFORM: process.env["EGL_PLATFORM"] ?? "surfaceless" },
  });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}
