/**
 * The `estc` command line. Exit codes: 0 clean, 1 errors in the user's program,
 * 2 an internal error (a bug in estc, printed as a bug report with the stack).
 */
import { buildFile, explainFile, explainStages } from "../compiler/build.js";
import type { Diagnostic } from "../compiler/diagnostics.js";
import { checkFiles, checkStdlib, type CheckResult } from "../compiler/pipeline.js";
import { diagnosticsToJson, renderDiagnostics } from "../compiler/render.js";
import type { SourceMap } from "../compiler/source.js";
import { fmt, fmtUsage } from "./fmt.js";
import { plot } from "./plot.js";

const usage = `estc — a compiler for gradient estimators

usage:
  estc check [--format text|json] FILE.est...   check files (types, shapes, estimators)
  estc check --stdlib                            check every stdlib module
  estc build FILE.est --out-dir DIR [--emit ts|js] [--fuse-matmul on|off]
                                                 compile every fn into DIR/FILE.ts (or .js + .d.ts)
  estc explain FILE.est --after lower|autodiff|schedule [--fn NAME]
                                                 print the IR after a stage
  estc doctor                                    which WebGPU adapter the runtime finds, and why
  estc plot std/NAME|FILE.est --out-dir DIR      SVG plots of each estimator's forward and surrogate gradient
  estc fmt [--check] FILE.est...                 rewrite files in the canonical layout, keeping comments
  estc lsp                                       the language server on stdin/stdout, for editors
  estc --version | --help

exit status: 0 ok, 1 errors in the program, 2 internal error (a bug in estc)`;

/** What a command produced: text for stdout/stderr and the exit code. */
export interface CliOutcome {
  stdout: string;
  stderr: string;
  code: number;
}

/** Runs the CLI on an argument list; never throws. */
export function runCli(argv: string[]): CliOutcome {
  try {
    return dispatch(argv);
  } catch (e) {
    return internalError(e);
  }
}

function dispatch(argv: string[]): CliOutcome {
  const [command, ...rest] = argv;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    return { stdout: usage + "\n", stderr: "", code: command === undefined ? 1 : 0 };
  }
  if (command === "--version" || command === "-v") return { stdout: "estc 0.1.0\n", stderr: "", code: 0 };
  if (command === "fmt" && wantsHelp(rest)) return { stdout: fmtUsage + "\n", stderr: "", code: 0 };
  if (wantsHelp(rest)) return { stdout: usage + "\n", stderr: "", code: 0 };
  if (command === "fmt") return fmt(rest);
  if (command === "check") return check(rest);
  if (command === "explain") return explain(rest);
  if (command === "plot") return plot(rest);
  if (command === "build" || command === "doctor" || command === "lsp") {
    return { stdout: "", stderr: `estc ${command} runs asynchronously; use runCliAsync\n`, code: 2 };
  }
  return { stdout: "", stderr: `estc: unknown command '${command}'\n\n${usage}\n`, code: 1 };
}

function check(args: string[]): CliOutcome {
  let format = "text";
  let stdlib = false;
  const files: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--format") format = args[++i] ?? "";
    else if (a.startsWith("--format=")) format = a.slice("--format=".length);
    else if (a === "--stdlib") stdlib = true;
    else if (a.startsWith("-")) return { stdout: "", stderr: `estc check: unknown option '${a}'\n\n${usage}\n`, code: 1 };
    else files.push(a);
  }
  if (format !== "text" && format !== "json") {
    return { stdout: "", stderr: `estc check: --format must be text or json, got '${format}'\n`, code: 1 };
  }
  if (!stdlib && files.length === 0) return { stdout: "", stderr: `estc check: no files given\n\n${usage}\n`, code: 1 };
  const result = stdlib ? checkStdlib() : checkFiles(files);
  return report(result, format);
}

/**
 * Like runCli, and also runs `estc build` (code generation formats with prettier, which is async)
 * and `estc doctor` (adapter requests are async; loaded lazily so other commands never load Dawn).
 */
export async function runCliAsync(argv: string[]): Promise<CliOutcome> {
  try {
    if (wantsHelp(argv.slice(1))) return dispatch(argv);
    if (argv[0] === "build") return await build(argv.slice(1));
    if (argv[0] === "doctor") return await (await import("./doctor.js")).doctor(argv.slice(1));
    // The server owns stdin and stdout until the client says exit; loaded lazily like doctor.
    if (argv[0] === "lsp") return await (await import("../lsp/server.js")).serveStdio(argv.slice(1));
    return dispatch(argv);
  } catch (e) {
    return internalError(e);
  }
}

/** `estc COMMAND --help` (or -h) prints the usage, as `estc --help` does, instead of an error. */
function wantsHelp(args: string[]): boolean {
  return args.includes("--help") || args.includes("-h");
}

/** Splits `--name value` / `--name=value` options from positional arguments. */
function options(args: string[], names: string[]): { opts: Record<string, string>; files: string[]; bad?: string } {
  const opts: Record<string, string> = {};
  const files: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const eq = a.indexOf("=");
    const name = a.startsWith("--") ? a.slice(2, eq < 0 ? undefined : eq) : undefined;
    if (name === undefined) files.push(a);
    else if (!names.includes(name)) return { opts, files, bad: a };
    else opts[name] = eq < 0 ? (args[++i] ?? "") : a.slice(eq + 1);
  }
  return { opts, files };
}

async function build(args: string[]): Promise<CliOutcome> {
  const { opts, files, bad } = options(args, ["out-dir", "emit", "fuse-matmul"]);
  if (bad !== undefined) return { stdout: "", stderr: `estc build: unknown option '${bad}'\n\n${usage}\n`, code: 1 };
  const emit = opts["emit"] ?? "ts";
  if (files.length !== 1 || opts["out-dir"] === undefined || (emit !== "ts" && emit !== "js")) {
    return { stdout: "", stderr: `estc build: give one FILE.est, --out-dir DIR and optionally --emit ts|js\n\n${usage}\n`, code: 1 };
  }
  const fuse = opts["fuse-matmul"] ?? "on";
  if (fuse !== "on" && fuse !== "off") {
    return { stdout: "", stderr: `estc build: --fuse-matmul must be on or off, got '${fuse}'\n`, code: 1 };
  }
  const r = await buildFile(files[0]!, opts["out-dir"], emit, undefined, { fuseMatMuls: fuse === "on" });
  const failed = failure(r.diagnostics, r.sources);
  if (failed !== undefined) return failed;
  return { stdout: r.written.map((f) => `wrote ${f}\n`).join(""), stderr: "", code: 0 };
}

function explain(args: string[]): CliOutcome {
  const { opts, files, bad } = options(args, ["after", "fn"]);
  const stage = opts["after"] ?? "autodiff";
  if (bad !== undefined || files.length !== 1 || !(explainStages as readonly string[]).includes(stage)) {
    return { stdout: "", stderr: `estc explain: give one FILE.est and --after ${explainStages.join("|")}\n\n${usage}\n`, code: 1 };
  }
  const r = explainFile(files[0]!, stage as (typeof explainStages)[number], opts["fn"]);
  return failure(r.diagnostics, r.sources) ?? { stdout: r.text + "\n", stderr: "", code: 0 };
}

/** The outcome for a run whose diagnostics include errors; undefined when there are none. */
function failure(diagnostics: Diagnostic[], sources: SourceMap): CliOutcome | undefined {
  const internal = diagnostics.find((d) => d.code.startsWith("E0"));
  if (internal !== undefined) return internalError(new Error(internal.message));
  const errors = diagnostics.filter((d) => d.severity === "error");
  if (errors.length === 0) return undefined;
  return { stdout: "", stderr: `${renderDiagnostics(diagnostics, sources)}\n\n${errors.length} error${errors.length === 1 ? "" : "s"}\n`, code: 1 };
}

function report(result: CheckResult, format: string): CliOutcome {
  const internal = result.diagnostics.find((d) => d.code.startsWith("E0"));
  if (internal !== undefined) return internalError(new Error(internal.message));
  const errors = result.diagnostics.filter((d) => d.severity === "error").length;
  const code = errors > 0 ? 1 : 0;
  if (format === "json") {
    const body = { ok: errors === 0, files: result.files, items: result.items, diagnostics: diagnosticsToJson(result.diagnostics, result.sources) };
    return { stdout: JSON.stringify(body, null, 2) + "\n", stderr: "", code };
  }
  const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? "" : "s"}`;
  if (errors === 0) {
    const warnings = result.diagnostics.length > 0 ? renderDiagnostics(result.diagnostics, result.sources) + "\n\n" : "";
    return { stdout: `${warnings}ok: ${plural(result.files, "file")}, ${plural(result.items, "item")}\n`, stderr: "", code };
  }
  const text = renderDiagnostics(result.diagnostics, result.sources);
  return { stdout: "", stderr: `${text}\n\n${plural(errors, "error")} in ${plural(result.files, "file")}\n`, code };
}

function internalError(e: unknown): CliOutcome {
  const stack = e instanceof Error ? (e.stack ?? e.message) : String(e);
  return {
    stdout: "",
    stderr:
      "estc: internal error — this is a bug in estc, not in your program.\n" +
      "Please report it with the command you ran and the stack below:\n\n" +
      stack +
      "\n",
    code: 2,
  };
}
