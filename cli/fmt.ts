/**
 * `estc fmt FILE...`: rewrites each file in the canonical layout (grammar/format.ts), keeping
 * every comment. `--check` writes nothing and lists the files that would change (exit 1), for
 * CI. A file with syntax errors is left alone and its diagnostics are printed (exit 1); the other
 * files are still formatted. Each file is replaced atomically (a flushed temporary file beside it,
 * then a rename, its mode kept), so an interrupted run leaves each file either old or new.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { error, type Diagnostic } from "../compiler/diagnostics.js";
import { visibleText } from "../compiler/escape.js";
import { syncDir, writeDurably } from "../compiler/out-dir.js";
import { renderDiagnostics } from "../compiler/render.js";
import { SourceMap } from "../compiler/source.js";
import { formatSource } from "../grammar/format.js";
import type { CliOutcome } from "./estc.js";

/** Usage of `estc fmt`, for `estc fmt --help` and option errors. */
export const fmtUsage = `usage: estc fmt [--check] FILE.est...

  Rewrites each file in estc's canonical layout, keeping every comment.
  --check   write nothing; list the files that are not formatted and exit 1 if any

exit status: 0 ok, 1 a file has syntax errors (or, with --check, would change), 2 internal error`;

/** Runs `estc fmt` on an argument list. */
export function fmt(args: string[]): CliOutcome {
  const check = args.includes("--check");
  const bad = args.find((a) => a.startsWith("-") && a !== "--check");
  const files = args.filter((a) => !a.startsWith("-"));
  if (bad !== undefined) return { stdout: "", stderr: `estc fmt: unknown option '${visibleText(bad)}'\n\n${fmtUsage}\n`, code: 1 };
  if (files.length === 0) return { stdout: "", stderr: `estc fmt: no files given\n\n${fmtUsage}\n`, code: 1 };
  const sources = new SourceMap();
  const diagnostics: Diagnostic[] = [];
  const changed: string[] = [];
  const writes: Record<string, string> = {};
  for (const file of files) {
    const text = read(file);
    if (text === undefined) {
      diagnostics.push(error("E2000", { file, start: 0, end: 0 }, `cannot read ${file}`, { hint: "check the path; estc fmt takes .est files" }));
      continue;
    }
    sources.add(file, text);
    const r = formatSource(text, file);
    diagnostics.push(...r.diagnostics);
    if (r.text === undefined || r.text === text) continue;
    changed.push(file);
    writes[file] = r.text;
  }
  const internal = diagnostics.find((d) => d.code.startsWith("E0"));
  if (internal !== undefined) {
    return { stdout: "", stderr: `estc: internal error — this is a bug in estc, not in your program.\n${internal.message}\n`, code: 2 };
  }
  const failed: string[] = [];
  if (!check) {
    for (const [file, text] of Object.entries(writes)) {
      const why = replaceFile(file, text);
      if (why !== undefined) failed.push(`estc fmt: cannot write ${file}: ${why}\n`);
    }
  }
  const errors = (diagnostics.length > 0 ? `${renderDiagnostics(diagnostics, sources)}\n\n` : "") + failed.join("");
  const listed = check ? changed.map((f) => `would reformat ${f}\n`).join("") : changed.map((f) => `formatted ${f}\n`).join("");
  const code = diagnostics.length > 0 || failed.length > 0 || (check && changed.length > 0) ? 1 : 0;
  return { stdout: listed, stderr: errors, code };
}

/** Replaces `file` by `text` through a temporary file and a rename; the reason when it cannot. */
function replaceFile(file: string, text: string): string | undefined {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.estc-fmt`);
  try {
    const mode = fs.statSync(file).mode;
    writeDurably(tmp, text);
    fs.chmodSync(tmp, mode);
    fs.renameSync(tmp, file);
    syncDir(path.dirname(file));
    return undefined;
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    return e instanceof Error ? e.message : String(e);
  }
}

function read(file: string): string | undefined {
  try {
    return fs.statSync(file).isFile() ? fs.readFileSync(file, "utf8") : undefined;
  } catch {
    return undefined;
  }
}
