/**
 * Prints diagnostics for people (`file:line:col: error[E2003]: message`, the source line, a
 * caret under the span, notes and a hint) and for editors (`--format json`).
 */
import type { Diagnostic } from "./diagnostics.js";
import { visibleText } from "./escape.js";
import type { SourceMap } from "./source.js";

/**
 * One diagnostic as text, as STYLE.md §2 shows it. User text (file names, source lines, names
 * quoted in messages) goes through visibleText, so an ESC, BEL or line separator in a source
 * is printed as `\u{1B}` rather than acted on by the terminal.
 */
export function renderDiagnostic(d: Diagnostic, sources: SourceMap): string {
  const lines = [`${location(d.span, sources)}: ${d.severity}[${d.code}]: ${visibleText(d.message)}`];
  lines.push(...excerpt(d.span, sources));
  for (const r of d.related ?? []) {
    lines.push(`${location(r.span, sources)}: note: ${visibleText(r.message)}`);
    lines.push(...excerpt(r.span, sources));
  }
  if (d.hint !== undefined) lines.push(`hint: ${visibleText(d.hint)}`);
  return lines.join("\n");
}

/** All diagnostics as text, separated by blank lines. */
export function renderDiagnostics(list: readonly Diagnostic[], sources: SourceMap): string {
  return list.map((d) => renderDiagnostic(d, sources)).join("\n\n");
}

/** Diagnostics as JSON objects with 1-based line/column for editors. */
export function diagnosticsToJson(list: readonly Diagnostic[], sources: SourceMap): object[] {
  return list.map((d) => {
    const src = sources.get(d.span.file);
    const start = src?.position(d.span.start) ?? { line: 1, col: 1 };
    const end = src?.position(d.span.end) ?? start;
    return {
      file: d.span.file,
      line: start.line,
      column: start.col,
      endLine: end.line,
      endColumn: end.col,
      severity: d.severity,
      code: d.code,
      message: d.message,
      ...(d.hint !== undefined ? { hint: d.hint } : {}),
      ...(d.related !== undefined
        ? {
            related: d.related.map((r) => {
              const p = sources.get(r.span.file)?.position(r.span.start) ?? { line: 1, col: 1 };
              return { file: r.span.file, line: p.line, column: p.col, message: r.message };
            }),
          }
        : {}),
    };
  });
}

function location(span: Diagnostic["span"], sources: SourceMap): string {
  const src = sources.get(span.file);
  if (src === undefined) return visibleText(span.file);
  const p = src.position(span.start);
  return `${visibleText(span.file)}:${p.line}:${p.col}`;
}

/**
 * The source line with a gutter and carets under the span (clipped to the first line). The
 * line is shown through visibleText, and the caret measured in the escaped text, so it still
 * stands under the span when an escape widened what comes before it.
 */
function excerpt(span: Diagnostic["span"], sources: SourceMap): string[] {
  const src = sources.get(span.file);
  if (src === undefined || src.text.length === 0) return [];
  const start = src.position(span.start);
  const end = src.position(Math.max(span.end, span.start));
  const raw = src.lineText(start.line).replace(/\t/g, " ");
  const before = visibleText(raw.slice(0, start.col - 1));
  const under = end.line === start.line ? raw.slice(start.col - 1, end.col - 1) : raw.slice(start.col - 1);
  const width = Math.max(1, visibleText(under).length);
  const gutter = String(start.line).length;
  return [
    `${String(start.line).padStart(gutter + 3)} | ${visibleText(raw)}`,
    `${" ".repeat(gutter + 3)} | ${" ".repeat(before.length)}${"^".repeat(width)}`,
  ];
}
