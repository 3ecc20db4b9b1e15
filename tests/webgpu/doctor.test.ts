/** `estc doctor` on this machine: it must find an adapter (the Mesa path at least) and run its self test. */
import { describe, expect, it } from "vitest";
import { runCliAsync } from "../../cli/estc.js";
import { explainAttempts } from "../../runtime/webgpu/device.js";

describe("estc doctor", () => {
  it("reports the adapter, its limits and a passing self test, exit 0", async () => {
    const out = await runCliAsync(["doctor"]);
    // Without an adapter this fails and prints the doctor's explanation of every attempt.
    expect(out.stderr).toBe("");
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^WebGPU adapter: found via /);
    expect(out.stdout).toMatch(/featureLevel: +(core|compatibility)/);
    expect(out.stdout).toMatch(/maxStorageBuffersPerShaderStage +\d+/);
    expect(out.stdout).toMatch(/maxComputeWorkgroupsPerDimension +\d+/);
    expect(out.stdout).toContain("self test: ok");
  });

  it("rejects arguments", async () => {
    expect(await runCliAsync(["doctor", "extra"])).toMatchObject({ code: 1, stderr: expect.stringContaining("takes no arguments, got 'extra'") });
    // Options go through the CLI's one option parser, which names the unknown one and shows the command's usage.
    expect(await runCliAsync(["doctor", "--json"])).toMatchObject({ code: 1, stderr: expect.stringMatching(/unknown option '--json'[\s\S]*usage: estc doctor/) });
  });

  it("explains each failed attempt on its own line", () => {
    const text = explainAttempts([
      { path: "hardware", what: "Dawn default backend (vulkan)", ok: false, reason: "requestAdapter() returned null" },
      { path: "mesa", what: "Dawn backend=opengles", ok: true },
    ]);
    expect(text).toBe("  failed Dawn default backend (vulkan): requestAdapter() returned null\n  ok     Dawn backend=opengles");
  });
});
