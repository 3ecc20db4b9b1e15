/**
 * Build I/O (issue 17, item 4): every file-system failure of `estc build` is an E5020 diagnostic
 * naming the path and the reason, exit 1 — never an internal error with a stack — and no path
 * makes the build spin (`/proc/sys/nope` looped forever inside Node's recursive mkdir). Root
 * ignores permissions, so the refusals come from /proc and /sys and from files in the way.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildFile } from "../../compiler/build.js";
import { makeDirs, OutputError } from "../../compiler/out-dir.js";
import { nodeHost } from "../../compiler/resolve.js";
import { ensureDist, repoRoot } from "../helpers/dist.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "estc-io-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
beforeAll(() => {
  fs.writeFileSync(path.join(dir, "m.est"), "fn f(x: f32[N]) -> f32[N] { return x * 2.0 }\n");
  fs.writeFileSync(path.join(dir, "afile"), "not a folder");
});

async function buildInto(outDir: string) {
  const r = await buildFile("m.est", outDir, "ts", nodeHost(dir));
  return { written: r.written, diagnostics: r.diagnostics.map((d) => ({ code: d.code, file: d.span.file, message: d.message })) };
}

const onLinux = fs.existsSync("/proc/sys") && fs.existsSync("/sys/kernel");

describe("--out-dir that cannot be written", () => {
  it("a file in the way", async () => {
    expect(await buildInto("afile")).toEqual({ written: [], diagnostics: [{ code: "E5020", file: "afile", message: "cannot create folder afile: a file is in the way (not a folder)" }] });
  });

  it("a folder under a file (ENOTDIR)", async () => {
    const r = await buildInto("afile/out/x");
    expect(r.diagnostics).toEqual([{ code: "E5020", file: "afile/out/x", message: `cannot create folder afile/out/x: ${path.join(dir, "afile")} is a file, not a folder` }]);
  });

  it.runIf(onLinux)("a new folder under /sys (EPERM) and in an existing folder of /sys", async () => {
    expect((await buildInto("/sys/estc-nope")).diagnostics).toEqual([{ code: "E5020", file: "/sys/estc-nope", message: "cannot create folder /sys/estc-nope: operation not permitted (EPERM)" }]);
    const existing = await buildInto("/sys/kernel");
    expect(existing.diagnostics.map((d) => [d.code, d.file])).toEqual([["E5020", "/sys/kernel/.m.estc-build"]]);
    expect(existing.diagnostics[0]!.message).toMatch(/^cannot create folder \/sys\/kernel\/\.m\.estc-build: .* \((EPERM|EACCES|EROFS)\)$/);
  });

  it.runIf(onLinux)("/proc/sys/nope answers ENOENT once instead of spinning", async () => {
    expect(() => makeDirs("/proc/sys/estc-nope")).toThrow(new OutputError("cannot create folder", "/proc/sys/estc-nope", "no such file or folder (ENOENT)"));
    expect((await buildInto("/proc/sys/estc-nope/deeper")).diagnostics.map((d) => d.message)).toEqual(["cannot create folder /proc/sys/estc-nope: no such file or folder (ENOENT)"]);
  });

  it("an empty or blank --out-dir is refused before anything is compiled or written", async () => {
    for (const empty of ["", "  "]) {
      expect(await buildInto(empty)).toEqual({ written: [], diagnostics: [{ code: "E5020", file: "m.est", message: "--out-dir is empty" }] });
    }
    expect(fs.readdirSync(dir).sort()).toEqual(["afile", "m.est"]);
  });

  it("a folder made on the way, several levels deep, works", async () => {
    expect((await buildInto("a/b/c")).written).toEqual(["a/b/c/m.ts", "a/b/c/m.wgsl.ts"]);
  });
});

describe("estc build on the command line", () => {
  beforeAll(() => ensureDist());
  it.runIf(onLinux)("exits 1 with the diagnostic, no stack, within a bounded time", () => {
    const r = spawnSync(process.execPath, [path.join(repoRoot, "bin/estc.js"), "build", "m.est", "--out-dir", "/proc/sys/estc-nope"], { cwd: dir, encoding: "utf8", timeout: 60_000 });
    expect(r.signal).toBeNull();
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^\/proc\/sys\/estc-nope: error\[E5020\]: cannot create folder \/proc\/sys\/estc-nope: no such file or folder \(ENOENT\)$/m);
    expect(r.stderr).not.toMatch(/internal error|^\s+at /m);
  });
});
