/**
 * The `estc` command line. Exit codes: 0 clean, 1 errors in the user's program (or its usage),
 * 2 an internal error (a bug in estc, printed as a bug report with the stack). Commands are one
 * table (`commands`): each entry's options drive the parser, its usage and "did you mean".
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { buildFile, buildWarnings, explainFile, explainStages, type BuildResult } from "../compiler/build.js";
import { sortDiagnostics, type Diagnostic } from "../compiler/diagnostics.js";
import { visibleText } from "../compiler/escape.js";
import { checkFiles, checkStdlib, type CheckResult } from "../compiler/pipeline.js";
import { diagnosticsToJson, renderDiagnostics } from "../compiler/render.js";
import type { SourceMap } from "../compiler/source.js";
import { commandSuggestion, commandUsage, parseArgs, type CommandSpec } from "./options.js";
import { fmt } from "./fmt.js";
import { plot } from "./plot.js";
import { watchBuild, type CliIo } from "./watch.js";

/** What a command produced: text for stdout/stderr and the exit code. */
export interface CliOutcome {
  stdout: string;
  stderr: string;
  code: number;
}

/** A command: its usage and options (./options.ts), and what runs it. */
export interface Command extends CommandSpec {
  /** Runs synchronously (runCli can run it); otherwise only runCliAsync does. */
  sync?: (opts: Record<string, string>, positional: string[], args: string[]) => CliOutcome;
  async?: (opts: Record<string, string>, positional: string[], args: string[], io: CliIo, signal: AbortSignal) => Promise<CliOutcome>;
}

/** Every command, in the order the usage lists them. Add a command here (name, options, run). */
export const commands: Command[] = [
  {
    name: "check",
    args: "FILE.est...",
    summary: "Check files: syntax, names, types, shapes and estimators. Nothing is written.",
    options: [
      { name: "format", value: "FORMAT", choices: ["text", "json"], help: "diagnostics as text (default) or JSON for editors" },
      { name: "stdlib", help: "check every stdlib module instead of files" },
    ],
    sync: check,
  },
  {
    name: "build",
    args: "FILE.est",
    summary: "Compile every fn of FILE.est into DIR/FILE.ts and its WGSL sibling DIR/FILE.wgsl.ts (or .js + .d.ts + .wgsl.js).",
    options: [
      { name: "out-dir", value: "DIR", help: "where the module goes (required)" },
      { name: "emit", value: "LANG", choices: ["ts", "js", "torch"], help: "TypeScript (default), JavaScript plus declarations, or a PyTorch module (docs/torch.md)" },
      { name: "fuse-matmul", value: "ON", choices: ["on", "off"], help: "fuse elementwise work into matrix products and convolutions (default on)" },
      { name: "fn", value: "NAME[,NAME]", help: "build only these fns (default: every fn that can be built on its own)" },
      { name: "watch", help: "rebuild when FILE.est or a file it imports changes; Ctrl-C stops" },
    ],
    notes: ["example: estc build model.est --out-dir src/generated --emit js --watch"],
    async: build,
  },
  {
    name: "explain",
    args: "FILE.est",
    summary: "Print the IR of each fn after a compiler stage.",
    options: [
      { name: "after", value: "STAGE", choices: explainStages, help: "the stage (default autodiff)" },
      { name: "fn", value: "NAME", help: "only this fn" },
    ],
    sync: explain,
  },
  {
    name: "doctor",
    args: "",
    summary: "Say which WebGPU adapter the runtime finds, its limits, and why a fallback was taken.",
    options: [],
    async: async (_o, _p, args) => (await import("./doctor.js")).doctor(args),
  },
  {
    name: "plot",
    args: "std/NAME|FILE.est",
    summary: "Write SVG plots of each estimator's forward and surrogate gradient.",
    options: [{ name: "out-dir", value: "DIR", help: "where the SVG files go (required)" }],
    sync: (_o, _p, args) => plot(args),
  },
  {
    name: "fmt",
    args: "FILE.est...",
    summary: "Rewrite files in the canonical layout, keeping every comment.",
    options: [{ name: "check", help: "write nothing; list the files that are not formatted and exit 1 if any (for CI)" }],
    sync: (_o, _p, args) => fmt(args),
  },
  {
    name: "lsp",
    args: "",
    summary: "Run the language server on stdin/stdout, for editors.",
    options: [{ name: "stdio", help: "talk over stdin/stdout (the default; accepted because clients pass it)" }],
    // The server owns stdin and stdout until the client says exit; loaded lazily like doctor.
    async: async (_o, _p, args) => (await import("../lsp/server.js")).serveStdio(args),
  },
];

/** The global usage: every command's argument line and summary. */
function usage(): string {
  const lines = ["estc — a compiler for gradient estimators", "", "usage:"];
  for (const c of commands) lines.push(`  estc ${c.name}${c.args === "" ? "" : ` ${c.args}`}${c.options.length > 0 ? " [options]" : ""}`, `      ${c.summary}`);
  lines.push("  estc --version | --help", "", "`estc COMMAND --help` lists a command's options.", "exit status: 0 ok, 1 errors in the program, 2 internal error (a bug in estc)");
  return lines.join("\n");
}

/** The package's version, from package.json (two folders up from dist/cli/, one from cli/). */
export function version(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 3; i++, dir = path.dirname(dir)) {
    const file = path.join(dir, "package.json");
    if (!fs.existsSync(file)) continue;
    const pkg = JSON.parse(fs.readFileSync(file, "utf8")) as { name?: string; version?: string };
    if (pkg.name === "estc" && pkg.version !== undefined) return pkg.version;
  }
  return "unknown";
}

type Resolved = { outcome: CliOutcome } | { command: Command; opts: Record<string, string>; positional: string[]; args: string[] };

/** Global flags, help, unknown commands and options: everything decided before a command runs. */
function resolve(argv: string[]): Resolved {
  const [name, ...args] = argv;
  const ok = (stdout: string): Resolved => ({ outcome: { stdout, stderr: "", code: 0 } });
  const bad = (stderr: string): Resolved => ({ outcome: { stdout: "", stderr, code: 1 } });
  if (name === undefined) return { outcome: { stdout: usage() + "\n", stderr: "", code: 1 } };
  if (name === "--help" || name === "-h" || name === "help") {
    const topic = commands.find((c) => c.name === args[0]);
    return ok((topic !== undefined ? commandUsage(topic) : usage()) + "\n");
  }
  if (name === "--version" || name === "-v" || name === "-V") return ok(`estc ${version()}\n`);
  const command = commands.find((c) => c.name === name);
  if (command === undefined) {
    const what = name.startsWith("-") ? `unknown option '${visibleText(name)}'` : `unknown command '${visibleText(name)}'${commandSuggestion(name, commands)}`;
    return bad(`estc: ${what}\n\n${usage()}\n`);
  }
  if (args.includes("--help") || args.includes("-h")) return ok(commandUsage(command) + "\n");
  const parsed = parseArgs(command, args);
  if (parsed.error !== undefined) return bad(`estc ${name}: ${parsed.error}\n\n${commandUsage(command)}\n`);
  return { command, opts: parsed.opts, positional: parsed.positional, args };
}

/** Runs the CLI on an argument list; never throws. Commands that only run async say so. */
export function runCli(argv: string[]): CliOutcome {
  try {
    const r = resolve(argv);
    if ("outcome" in r) return r.outcome;
    if (r.command.sync !== undefined) return r.command.sync(r.opts, r.positional, r.args);
    return { stdout: "", stderr: `estc ${r.command.name} runs asynchronously; use runCliAsync\n`, code: 2 };
  } catch (e) {
    return internalError(e);
  }
}

const collected = (): CliIo => ({ stdout: () => undefined, stderr: () => undefined });

/**
 * Like runCli, and also runs the async commands: `estc build` (its `--watch` form writes each
 * rebuild to `io` as it happens and returns when `signal` aborts) and `estc doctor` (loaded
 * lazily, so other commands never load Dawn).
 */
export async function runCliAsync(argv: string[], io: CliIo = collected(), signal: AbortSignal = new AbortController().signal): Promise<CliOutcome> {
  try {
    const r = resolve(argv);
    if ("outcome" in r) return r.outcome;
    if (r.command.async !== undefined) return await r.command.async(r.opts, r.positional, r.args, io, signal);
    return r.command.sync!(r.opts, r.positional, r.args);
  } catch (e) {
    return internalError(e);
  }
}

function usageError(command: string, message: string): CliOutcome {
  const spec = commands.find((c) => c.name === command)!;
  return { stdout: "", stderr: `estc ${command}: ${message}\n\n${commandUsage(spec)}\n`, code: 1 };
}

function check(opts: Record<string, string>, files: string[]): CliOutcome {
  const stdlib = opts["stdlib"] === "true";
  if (!stdlib && files.length === 0) return usageError("check", "no files given");
  const result = stdlib ? checkStdlib() : checkFiles(files);
  // What build would warn about (a fn it leaves out, E4030) is said by check too.
  result.diagnostics = sortDiagnostics([...result.diagnostics, ...buildWarnings(result)]);
  return report(result, opts["format"] ?? "text");
}

async function build(opts: Record<string, string>, files: string[], _args: string[], io: CliIo, signal: AbortSignal): Promise<CliOutcome> {
  if (files.length !== 1) return usageError("build", files.length === 0 ? "give the FILE.est to build" : `give one FILE.est, got ${files.length}: ${files.join(" ")}`);
  const outDir = opts["out-dir"];
  if (outDir === undefined || outDir === "") return usageError("build", "give --out-dir DIR, the folder the module goes to");
  const emit = (opts["emit"] ?? "ts") as "ts" | "js" | "torch";
  const options = { fuseMatMuls: (opts["fuse-matmul"] ?? "on") === "on", ...(opts["fn"] !== undefined ? { fns: opts["fn"].split(",").filter((f) => f !== "") } : {}) };
  if (opts["watch"] === "true") {
    await watchBuild({ entry: files[0]!, outDir, emit, options }, io, signal, (r) => buildFailure(r)?.stderr, (r) => warnings(r.diagnostics, r.sources));
    return { stdout: "", stderr: "", code: 0 };
  }
  const r = await buildFile(files[0]!, outDir, emit, undefined, options);
  return buildFailure(r) ?? { stdout: r.written.map((f) => `wrote ${visibleText(f)}\n`).join(""), stderr: warnings(r.diagnostics, r.sources), code: 0 };
}

function buildFailure(r: BuildResult): CliOutcome | undefined {
  return failure(r.diagnostics, r.sources);
}

function explain(opts: Record<string, string>, files: string[]): CliOutcome {
  if (files.length !== 1) return usageError("explain", "give one FILE.est");
  const r = explainFile(files[0]!, (opts["after"] ?? "autodiff") as (typeof explainStages)[number], opts["fn"]);
  return failure(r.diagnostics, r.sources) ?? { stdout: r.text + "\n", stderr: "", code: 0 };
}

/** Warnings of a successful run, rendered, followed by a blank line; "" when there are none. */
function warnings(diagnostics: Diagnostic[], sources: SourceMap): string {
  const list = diagnostics.filter((d) => d.severity === "warning");
  return list.length === 0 ? "" : `${renderDiagnostics(list, sources)}\n\n`;
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
