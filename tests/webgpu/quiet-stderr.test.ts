/**
 * Dawn's start-up warnings stay off stderr unless ESTC_DEBUG is set (runtime/webgpu/quiet-stderr.ts):
 * a Node process opens a device with its stderr a pipe (as in `node train.js 2>&1 | tee log`), and
 * what it wrote to stderr before and after still arrives, in order.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "..", "..");
const exec = promisify(execFile);
let dir: string;
let script: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "estc-quiet-"));
  script = path.join(dir, "open.mjs");
  fs.writeFileSync(
    script,
    `import { webgpu } from ${JSON.stringify(path.join(root, "dist/runtime/index.js"))};
console.error("before");
const device = await webgpu();
console.error("after " + device.adapter.path);
device.destroy();
process.exit(0); // Dawn may keep the loop alive for a moment after destroy()
`,
  );
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Runs the script with stderr into a pipe (`2>&1 | cat`) and returns what came through it. */
async function throughPipe(env: NodeJS.ProcessEnv): Promise<string> {
  const { ESTC_DEBUG: _, ...rest } = process.env;
  const { stdout } = await exec("sh", ["-c", `node ${JSON.stringify(script)} 2>&1 | cat`], { env: { ...rest, ...env }, encoding: "utf8" });
  return stdout;
}

describe("Dawn's stderr", () => {
  it("has no Warning: lines by default, and stderr works before and after the device opens", async () => {
    const out = await throughPipe({});
    expect(out.split("\n").filter((l) => l.startsWith("Warning:"))).toEqual([]);
    expect(out).toMatch(/^before\nafter (hardware|mesa)\n$/);
  });

  it("shows Dawn's warnings with ESTC_DEBUG=1 (on Mesa, which reports limits Dawn clamps)", async () => {
    const out = await throughPipe({ ESTC_DEBUG: "1" });
    expect(out).toMatch(/^before\n/);
    expect(out).toMatch(/after (hardware|mesa)\n$/);
    // Mesa's GLES driver reports dynamic-buffer limits above Dawn's 16, and Dawn says so.
    if (out.includes("after mesa")) expect(out).toMatch(/^Warning: maxDynamic\w+ artificially reduced/m);
  });

  it("leaves a stderr redirected to a file as it is (a reopened fd would not share its offset)", async () => {
    const log = path.join(dir, "err.log");
    await exec("sh", ["-c", `node ${JSON.stringify(script)} 2> ${JSON.stringify(log)}`], { encoding: "utf8" });
    const text = fs.readFileSync(log, "utf8");
    expect(text.startsWith("before\n")).toBe(true);
    expect(text).toMatch(/after (hardware|mesa)\n$/);
  });
});
