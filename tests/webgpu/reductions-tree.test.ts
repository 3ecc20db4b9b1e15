/**
 * The workgroup-tree reductions, run for real on Mesa's llvmpipe. The runtime gives software
 * adapters the serial form of each reduction (runtime/webgpu/device.ts, serialReductions),
 * because llvmpipe (Mesa 22.3) has aborted now and then in glibc's mutex code
 * (`__pthread_tpp_change_priority: Assertion ... failed`) while running the trees' barriers. So
 * that the tree kernels GPUs run are still executed and checked here, this test runs the
 * reduction and parity suites again in a child vitest with ESTC_WEBGPU_REDUCE=tree. A child that
 * *aborts* with that known llvmpipe failure is retried (up to 4 runs); a child whose tests fail
 * fails this test at once, with its output.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "..", "..");
const vitest = path.join(root, "node_modules", "vitest", "vitest.mjs");
const suites = ["tests/webgpu/reductions.test.ts", "tests/webgpu/parity.test.ts"];

/** llvmpipe's abort: the worker dies without a test failure being reported. */
function isLlvmpipeAbort(out: string): boolean {
  return /__pthread_tpp_change_priority|Worker exited unexpectedly/.test(out) && !/AssertionError/.test(out);
}

describe("workgroup-tree reductions on llvmpipe (ESTC_WEBGPU_REDUCE=tree)", () => {
  it("the reduction and parity suites pass with the tree kernels", () => {
    const log: string[] = [];
    for (let attempt = 1; attempt <= 4; attempt++) {
      const r = spawnSync(process.execPath, [vitest, "run", ...suites], {
        cwd: root,
        env: { ...process.env, ESTC_WEBGPU_REDUCE: "tree", NO_COLOR: "1", FORCE_COLOR: "0" },
        encoding: "utf8",
        timeout: 240_000,
      });
      const out = `${r.stdout ?? ""}${r.stderr ?? ""}`;
      if (r.status === 0) {
        expect(out).toMatch(/Tests\s+\d+ passed/);
        return;
      }
      log.push(`attempt ${attempt}: exit ${r.status ?? r.signal}`);
      if (!isLlvmpipeAbort(out)) expect.fail(`the tree-reduction suites failed (${log.join("; ")}):\n${out.slice(-4000)}`);
    }
    expect.fail(`llvmpipe aborted on every attempt (${log.join("; ")})`);
  }, 1_000_000);
});
