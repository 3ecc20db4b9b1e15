/**
 * The `estc` command line: exit codes, the `ok:` summary, `--format json`, usage errors, a file
 * that cannot be read, and every malformed program of tests/cases/errors (plus a few written
 * here) reported as diagnostics, never as a stack trace. Most cases call `runCli` in-process;
 * a few spawn the real `node bin/estc.js`, built first when dist/ is missing or stale.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { colourDiagnostics, wantsColour } from "../cli/colour.js";
import { runCli, runCliAsync, type CliOutcome } from "../cli/estc.js";

const root = path.resolve(import.meta.dirname, "..");
const bin = path.join(root, "bin/estc.js");
const quickstart = "examples/quickstart/binary.est";
const diagnosticLine = /^(\S+\.est):(\d+):(\d+): error\[(E\d{4})\]: \S/m;

/** Runs the built binary from the repository root. */
function estc(...args: string[]): CliOutcome {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: "utf8" });
  return { stdout: r.stdout, stderr: r.stderr, code: r.status ?? -1 };
}

/** A path to `rel` (relative to the repository root) as the in-process CLI sees it. */
function arg(rel: string): string {
  return path.relative(process.cwd(), path.join(root, rel)) || rel;
}

/** The newest modification time of any file under `dir` with one of `exts`. */
function newest(dir: string, exts: string[]): number {
  let t = 0;
  if (!fs.existsSync(dir)) return t;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newest(full, exts));
    else if (exts.some((x) => e.name.endsWith(x))) t = Math.max(t, fs.statSync(full).mtimeMs);
  }
  return t;
}

/** Every error case under tests/cases/errors, relative to the repository root. */
function errorCases(dir = path.join(root, "tests/cases/errors")): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((e) => (e.isDirectory() ? errorCases(path.join(dir, e.name)) : e.name.endsWith(".est") ? [path.relative(root, path.join(dir, e.name))] : []));
}

/** Malformed programs written here, beyond the golden cases: odd bytes and odd shapes of files. */
const inlinePrograms: Record<string, string> = {
  "only-fn.est": "fn",
  "only-braces.est": "}}}{{{",
  "nul-bytes.est": "fn f(x: f32[N]) -> f32[N] {\u0000 return x }",
  "binary-junk.est": "\u00ff\u00fe\u0001\u0002 fn \u0003",
  "unclosed-everything.est": "fn f(x: f32[N -> f32[N] { let y = (x + [1, 2 return sign(y backward",
  "estimator-no-body.est": "estimator E for sign(x)",
  "import-garbage.est": 'import { , , } from "std/binary"\nimport {} from ""\n',
  "bad-numbers.est": "fn f(x: f32[1e3, 0x10]) -> f32 { return sum(x) }",
  "many-errors.est": Array.from({ length: 60 }, (_, i) => `fn f${i}(x: f32[N]) -> f32[N] { return x ${"+*-/@"[i % 5]} }`).join("\n"),
  "crlf.est": "fn f(x: f32[N]) -> f32[N] {\r\n  return x +\r\n}\r\n",
  "tabs.est": "fn f(x: f32[N]) -> f32[N] {\n\treturn\tx\t+\ty\n}\n",
  "deep-nesting.est": `fn f(x: f32) -> f32 {\n  return ${"(".repeat(20001)}x${")".repeat(20001)}\n}\n`,
  "deep-unary.est": `fn f(x: f32) -> f32 {\n  return ${"-".repeat(20000)}\n}\n`,
  "deep-juxtaposition.est": `fn f(x: f32) -> f32 {\n  return ${"sign ".repeat(20000)}x + y\n}\n`,
  "long-line.est": `fn f(x: f32[N]) -> f32[N] {\n  return ${"x + ".repeat(5000)}y\n}\n`,
};

let tmp = "";

beforeAll(() => {
  const built = path.join(root, "dist/cli/main.js");
  const sources = Math.max(...["cli", "compiler", "grammar", "runtime"].map((d) => newest(path.join(root, d), [".ts"])));
  if (!fs.existsSync(built) || fs.statSync(built).mtimeMs < sources) {
    const tsc = spawnSync(process.execPath, [path.join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], { cwd: root, encoding: "utf8" });
    if (tsc.status !== 0) throw new Error(`npm run build failed:\n${tsc.stdout}${tsc.stderr}`);
  }
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "estc-cli-"));
  for (const [name, text] of Object.entries(inlinePrograms)) fs.writeFileSync(path.join(tmp, name), text);
  return () => fs.rmSync(tmp, { recursive: true, force: true });
});

describe("estc (the built binary)", () => {
  it("checks the quickstart: exit 0 and the ok summary", () => {
    const r = estc("check", quickstart);
    expect(r).toEqual({ stdout: "ok: 1 file, 3 items\n", stderr: "", code: 0 });
  });

  it("reports errors with exit 1: location, code, source line, caret, hint and a count", () => {
    const r = estc("check", "tests/cases/errors/names/E2003-unknown-estimator-typo.est");
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      [
        "tests/cases/errors/names/E2003-unknown-estimator-typo.est:4:28: error[E2003]: unknown estimator 'ReST'",
        "   4 |   let xb = sign x backward ReST(o)",
        "     |                            ^^^^",
        `hint: did you mean 'ReSTE' (imported from "std/binary")?`,
        "",
        "1 error in 1 file",
        "",
      ].join("\n"),
    );
  });

  it("--format json parses and carries file, line, column and code", () => {
    const r = estc("check", "--format", "json", "tests/cases/errors/types/E3001-broadcast-clash.est", quickstart);
    expect(r.code).toBe(1);
    const body = JSON.parse(r.stdout) as { ok: boolean; files: number; items: number; diagnostics: Record<string, unknown>[] };
    expect(body.ok).toBe(false);
    expect(body.files).toBe(2);
    expect(body.items).toBe(4);
    expect(body.diagnostics).toHaveLength(1);
    expect(body.diagnostics[0]).toMatchObject({
      file: "tests/cases/errors/types/E3001-broadcast-clash.est",
      line: 2,
      column: 12,
      endLine: 2,
      endColumn: 13,
      severity: "error",
      code: "E3001",
      related: [
        { file: "tests/cases/errors/types/E3001-broadcast-clash.est", line: 2, column: 10 },
        { file: "tests/cases/errors/types/E3001-broadcast-clash.est", line: 2, column: 14 },
      ],
    });
  });

  it("--format=json on a clean file: ok, exit 0", () => {
    const r = estc("check", "--format=json", quickstart);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ ok: true, files: 1, items: 3, diagnostics: [] });
  });

  it("an unknown command: exit 1 with the usage", () => {
    const r = estc("frobnicate", quickstart);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("estc: unknown command 'frobnicate'");
    expect(r.stderr).toContain("usage:");
  });

  it("an unknown option: exit 1 with the usage", () => {
    const r = estc("check", "--strict", quickstart);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("estc check: unknown option '--strict'");
    expect(r.stderr).toContain("usage:");
  });

  it("COMMAND --help: exit 0 with the usage on stdout, for every command", () => {
    for (const command of ["check", "build", "explain", "doctor", "plot"]) {
      const r = estc(command, "--help");
      expect(r.code, command).toBe(0);
      expect(r.stdout, command).toContain(`estc ${command}`);
      expect(r.stdout, command).toContain("usage:");
      expect(r.stderr, command).toBe("");
    }
  });

  it("a missing file: E2000, exit 1", () => {
    const r = estc("check", "no/such/file.est");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^no\/such\/file\.est: error\[E2000\]: cannot read no\/such\/file\.est: no such file or folder \(ENOENT\)$/m);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  it("a nest past 20000 brackets: E1002 at the bracket too deep, exit 1, no stack trace", () => {
    const r = estc("check", path.join(tmp, "deep-nesting.est"));
    expect(r.code).toBe(1);
    // Line 2 is `  return (((…`: bracket 20001 is at column 10 + 20000.
    expect(r.stderr).toMatch(/deep-nesting\.est:2:20010: error\[E1002\]: brackets nest more than 20000 deep here/);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });
});

describe("estc check in-process (runCli)", () => {
  it("--help and --version exit 0; no arguments or no files exit 1 with the usage", () => {
    expect(runCli(["--help"])).toMatchObject({ code: 0, stdout: expect.stringContaining("usage:") });
    expect(runCli(["--version"])).toEqual({ stdout: "estc 0.1.0\n", stderr: "", code: 0 });
    expect(runCli([])).toMatchObject({ code: 1, stdout: expect.stringContaining("usage:") });
    expect(runCli(["check"])).toMatchObject({ code: 1, stderr: expect.stringContaining("no files given") });
    expect(runCli(["check", "--format", "xml", arg(quickstart)])).toMatchObject({ code: 1, stderr: expect.stringContaining("--format must be text or json") });
  });

  it("several files: one summary; a missing one among them is E2000", () => {
    expect(runCli(["check", arg(quickstart), arg("tests/cases/ok/linalg.est")])).toEqual({ stdout: "ok: 2 files, 8 items\n", stderr: "", code: 0 });
    const r = runCli(["check", arg(quickstart), "missing.est"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("missing.est: error[E2000]: cannot read missing.est");
    expect(r.stderr).toMatch(/1 error in 2 files\n$/);
  });

  it("the json form of E2000 has a position too", () => {
    const r = runCli(["check", "--format", "json", "missing.est"]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).diagnostics).toEqual([expect.objectContaining({ file: "missing.est", line: 1, column: 1, code: "E2000" })]);
  });

  it("long flat expressions and long ?: chains check clean, in linear time", () => {
    const sum = `fn f(x: f32[N]) -> f32[N] {\n  return ${"x * 0.5 + ".repeat(400)}x\n}\n`;
    const piecewise = `fn f(x: f32[N]) -> f32[N] {\n  return ${Array.from({ length: 40 }, (_, i) => `x < ${i} ? x * ${i} : `).join("")}x\n}\n`;
    fs.writeFileSync(path.join(tmp, "long-sum.est"), sum);
    fs.writeFileSync(path.join(tmp, "piecewise.est"), piecewise);
    const started = Date.now();
    expect(runCli(["check", path.join(tmp, "long-sum.est"), path.join(tmp, "piecewise.est")])).toEqual({ stdout: "ok: 2 files, 2 items\n", stderr: "", code: 0 });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("the stdlib checks clean", () => {
    expect(runCli(["check", "--stdlib"])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^ok: \d+ files?, \d+ items\n$/) });
  });
});

describe("malformed programs are diagnostics, never crashes", () => {
  const cases = errorCases();
  const all = () => [...cases.map(arg), ...Object.keys(inlinePrograms).map((n) => path.relative(process.cwd(), path.join(tmp, n)))];

  it("there are at least 40 distinct malformed programs", () => {
    expect(cases.length + Object.keys(inlinePrograms).length).toBeGreaterThanOrEqual(40);
    expect(new Set(cases.map((c) => fs.readFileSync(path.join(root, c), "utf8"))).size).toBe(cases.length);
  });

  it("each exits 1 with a file:line:col: error[E####] line and no stack trace", () => {
    for (const file of all()) {
      const r = runCli(["check", file]);
      expect(r.code, `${file}\n${r.stderr}`).toBe(1);
      expect(r.stdout, file).toBe("");
      const m = diagnosticLine.exec(r.stderr);
      expect(m, `${file}\n${r.stderr}`).not.toBeNull();
      expect(r.stderr, file).not.toMatch(/^ {4}at /m);
      expect(r.stderr, file).not.toContain("internal error");
      expect(r.stderr, file).toMatch(/\n\d+ errors? in 1 file\n$/);
    }
  });

  it("a case named E####-… reports that code", () => {
    for (const file of cases) {
      const want = /\/(E\d{4})-[^/]*\.est$/.exec(file)?.[1];
      if (want === undefined) continue;
      const r = runCli(["check", arg(file)]);
      expect(r.stderr, file).toContain(`error[${want}]`);
    }
  });

  it("--format json gives the same diagnostics as objects", () => {
    for (const file of cases) {
      const text = runCli(["check", arg(file)]);
      const json = runCli(["check", "--format", "json", arg(file)]);
      expect(json.code, file).toBe(1);
      const body = JSON.parse(json.stdout) as { diagnostics: { file: string; line: number; column: number; code: string }[] };
      const fromText = [...text.stderr.matchAll(/^(\S+\.est):(\d+):(\d+): error\[(E\d{4})\]/gm)].map((m) => `${m[1]}:${m[2]}:${m[3]}:${m[4]}`);
      expect(body.diagnostics.map((d) => `${d.file}:${d.line}:${d.column}:${d.code}`), file).toEqual(fromText);
    }
  });

  it("every check code of the list has a case", () => {
    const codes = new Set(cases.flatMap((c) => [...fs.readFileSync(path.join(root, "tests/baselines", path.relative("tests/cases", c).replace(/\.est$/, ".errors.txt")), "utf8").matchAll(/error\[(E\d{4})\]/g)].map((m) => m[1]!)));
    const expected = [
      "E1001", "E1003", "E1004", "E1005", "E1007",
      "E2001", "E2002", "E2003", "E2004", "E2005", "E2006", "E2007", "E2008", "E2009", "E2010", "E2012", "E2013",
      "E3001", "E3002", "E3003", "E3004", "E3005", "E3006", "E3007", "E3008", "E3009", "E3010", "E3011", "E3012", "E3013", "E3014", "E3015", "E3016",
      "E3020", "E3021", "E3022", "E3030", "E3031", "E3032", "E3033", "E3034", "E3035", "E3040",
      "E4001", "E4002", "E4007", "E4010", "E4011", "E4012", "E4013", "E4014", "E4015", "E4016", "E4017", "E4018", "E4020", "E4021",
    ];
    expect(expected.filter((c) => !codes.has(c))).toEqual([]);
  });
});

describe("CLI conventions", () => {
  it("COMMAND --help prints that command's options, not the global usage", () => {
    const build = runCli(["build", "--help"]);
    expect(build.code).toBe(0);
    expect(build.stdout).toMatch(/^usage: estc build FILE\.est \[options\]/);
    for (const option of ["--out-dir DIR", "--emit ts|js", "--fuse-matmul on|off", "--watch"]) expect(build.stdout).toContain(option);
    expect(build.stdout).not.toContain("estc check");
    expect(runCli(["check", "-h"]).stdout).toMatch(/^usage: estc check FILE\.est\.\.\. \[options\][\s\S]*--format text\|json[\s\S]*--stdlib/);
    expect(runCli(["explain", "--help"]).stdout).toMatch(/--after lower\|autodiff\|optimize\|schedule[\s\S]*--fn NAME/);
    expect(runCli(["plot", "--help"]).stdout).toMatch(/^usage: estc plot std\/NAME\|FILE\.est[\s\S]*--out-dir DIR/);
    expect(runCli(["help", "build"]).stdout).toBe(build.stdout);
  });

  it("did you mean: a misspelt command, option or option value", () => {
    expect(runCli(["bulid", "x.est"])).toMatchObject({ code: 1, stderr: expect.stringMatching(/^estc: unknown command 'bulid' — did you mean 'build'\?\n/) });
    expect(runCli(["chekc", "x.est"]).stderr).toMatch(/did you mean 'check'\?/);
    expect(runCli(["frobnicate"]).stderr).not.toMatch(/did you mean/);
    expect(runCli(["check", "--fromat", "json", "x.est"]).stderr).toMatch(/^estc check: unknown option '--fromat' — did you mean '--format'\?\n/);
    expect(runCli(["explain", "x.est", "--after", "scheduel"]).stderr).toMatch(/--after must be lower or autodiff or optimize or schedule, got 'scheduel' — did you mean 'schedule'\?/);
  });

  it("did you mean for build's options (async path)", async () => {
    const r = await runCliAsync(["build", arg(quickstart), "--out-dri", "out"]);
    expect(r).toMatchObject({ code: 1, stderr: expect.stringMatching(/^estc build: unknown option '--out-dri' — did you mean '--out-dir'\?\n\nusage: estc build/) });
    expect((await runCliAsync(["build", arg(quickstart)])).stderr).toMatch(/^estc build: give --out-dir DIR/);
    expect((await runCliAsync(["build", arg(quickstart), "--out-dir", "o", "--watch=yes"])).stderr).toMatch(/--watch takes no value/);
  });

  it("--version prints package.json's version", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { version: string };
    expect(runCli(["--version"])).toEqual({ stdout: `estc ${pkg.version}\n`, stderr: "", code: 0 });
    expect(estc("--version").stdout).toBe(`estc ${pkg.version}\n`);
  });

  it("colour: only on a TTY, off with NO_COLOR, on with FORCE_COLOR", () => {
    expect(wantsColour(true, {})).toBe(true);
    expect(wantsColour(false, {})).toBe(false);
    expect(wantsColour(undefined, {})).toBe(false);
    expect(wantsColour(true, { NO_COLOR: "1" })).toBe(false);
    expect(wantsColour(true, { NO_COLOR: "" })).toBe(true); // no-color.org: only a non-empty value counts
    expect(wantsColour(false, { FORCE_COLOR: "1" })).toBe(true);
    expect(wantsColour(true, { FORCE_COLOR: "0" })).toBe(false);
    expect(wantsColour(false, { FORCE_COLOR: "1", NO_COLOR: "1" })).toBe(false);
    const text = "a.est:3:4: error[E2001]: 'K' is declared twice\n   3 | fn K() {}\n     |    ^\nhint: rename one";
    const coloured = colourDiagnostics(text);
    expect(coloured).toContain("\x1b[1;31merror[E2001]\x1b[0m");
    expect(coloured).toContain("\x1b[1;36mhint:\x1b[0m rename one");
    expect(coloured.replace(/\x1b\[[0-9;]*m/g, "")).toBe(text); // the same text underneath
    // The binary: a pipe gets plain text; FORCE_COLOR colours it; NO_COLOR wins.
    const file = path.join(root, "tests/cases/errors/names/E2001-const-and-fn.est");
    const run = (env: Record<string, string>) => {
      const base = { ...process.env };
      delete base["NO_COLOR"];
      delete base["FORCE_COLOR"];
      return spawnSync(process.execPath, [bin, "check", file], { cwd: root, encoding: "utf8", env: { ...base, ...env } }).stderr;
    };
    expect(run({})).not.toMatch(/\x1b\[/);
    expect(run({ FORCE_COLOR: "1" })).toContain("\x1b[1;31merror[E2001]");
    expect(run({ FORCE_COLOR: "1", NO_COLOR: "1" })).not.toMatch(/\x1b\[/);
  });
});
