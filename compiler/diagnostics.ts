/**
 * One diagnostic shape for every stage, with stable codes (STYLE.md §2):
 * E1xxx syntax, E2xxx names and modules, E3xxx types and shapes, E4xxx estimators and autodiff,
 * E5xxx scheduling and codegen, E6xxx runtime. E0xxx is estc itself (a bug, never the user's fault).
 */

/** A half-open range of UTF-16 offsets [start, end) in one file. */
export interface Span {
  file: string;
  start: number;
  end: number;
}

/** A secondary location that explains the main one ("first bound here"). */
export interface RelatedInfo {
  span: Span;
  message: string;
}

export type Severity = "error" | "warning";

/** What every stage reports instead of throwing. */
export interface Diagnostic {
  code: string;
  severity: Severity;
  span: Span;
  message: string;
  hint?: string;
  related?: RelatedInfo[];
}

/** Builds an error diagnostic; `extra` carries the hint and related spans. */
export function error(
  code: string,
  span: Span,
  message: string,
  extra: { hint?: string; related?: RelatedInfo[] } = {},
): Diagnostic {
  const d: Diagnostic = { code, severity: "error", span, message };
  if (extra.hint !== undefined) d.hint = extra.hint;
  if (extra.related !== undefined && extra.related.length > 0) d.related = extra.related;
  return d;
}

/** True when any diagnostic in the list is an error (warnings do not stop the pipeline). */
export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === "error");
}

/** The span covering both `a` and `b` (same file assumed). */
export function joinSpans(a: Span, b: Span): Span {
  return { file: a.file, start: Math.min(a.start, b.start), end: Math.max(a.end, b.end) };
}

/** Sorts diagnostics by file, then position, then code, so output is stable. */
export function sortDiagnostics(list: Diagnostic[]): Diagnostic[] {
  return [...list].sort(
    (a, b) =>
      a.span.file.localeCompare(b.span.file) ||
      a.span.start - b.span.start ||
      a.code.localeCompare(b.code),
  );
}
