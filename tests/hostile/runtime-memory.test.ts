/**
 * Memory over time (issue 17, item 11): a training loop that disposes what it gets back must not
 * grow. 300 steps (forward, vjp, valueAndGrad with a readback) after a 100-step warm-up, in a
 * child process with forced collections, on each back end: the runtime's own counters (bytes
 * allocated and saved, GPU buffers and bytes created, pipelines compiled) must not move at all,
 * the JS heap must stay within 2 MiB and the RSS within 32 MiB — a per-step leak of a GPU buffer,
 * a pipeline, a closure held per call or an unreleased staging buffer fails one of these.
 *
 * Measured by hand over 10,000 steps (docs/language.md §10): cpu RSS 58 MB at step 1,000, 68 MB
 * from step 4,000 to 9,000, 79 MB at 10,000 (runtime counters flat); webgpu 160 MB at 1,000,
 * 186–188 MB from 6,000 to 10,000 without forced collections, 166–168 MB from 2,000 to 4,000 with
 * a collection every 500 steps (pool: 18 buffers, 16 pipelines, throughout). The growth the issue
 * saw over the first 1,000 steps is the allocators warming up (Dawn, Mesa, V8), not a leak.
 */
import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { buildModule } from "../helpers/build.js";
import { runChild } from "../helpers/child.js";

const quickstart = path.resolve(import.meta.dirname, "..", "..", "examples", "quickstart", "binary.est");

describe("memory over 300 training steps after a warm-up", () => {
  for (const backend of ["cpu", "webgpu"]) {
    it(`${backend}: the runtime's counters do not move; heap and RSS stay within a fixed bound`, { timeout: 300_000 }, async () => {
      const { file } = await buildModule(fs.readFileSync(quickstart, "utf8"));
      const r = runChild("steps.mjs", [file, backend, "100", "300"], 280_000, ["--expose-gc"]);
      expect(r.status, r.stderr.slice(-2000)).toBe(0);
      const { warm, end } = JSON.parse(r.stdout) as Record<"warm" | "end", Record<string, number>>;
      const { rss: rss0, heapUsed: heap0, ...counters0 } = warm;
      const { rss: rss1, heapUsed: heap1, ...counters1 } = end;
      expect(counters1).toEqual(counters0);
      // x, w, labels and the cotangent stay alive: 12,288 bytes on the cpu, nothing on the GPU.
      expect(end["allocated"]).toBe(backend === "cpu" ? 12288 : 0);
      expect(heap1! - heap0!).toBeLessThan(2 * 2 ** 20);
      expect(rss1! - rss0!).toBeLessThan(32 * 2 ** 20);
    });
  }
});
