/**
 * `estc fmt`: source → canonical source that keeps every comment. The AST is printed by
 * print.ts; the comments, which the AST does not hold, are put back by position:
 *
 * - a comment on the same line as the end of an item, a statement or a body's `{` trails it;
 * - a comment between items or statements stands on its own line above the next one (or above
 *   the `}` of its body, or at the end of the file), one blank line kept where there was any;
 * - a comment inside an item's header or a statement (a multi-line expression) moves to its
 *   own line above that header or statement, since printed headers and statements are one line.
 *
 * The result is parsed again and must give the same AST (spans aside) and the same comments;
 * otherwise nothing is returned and a diagnostic says why, so fmt never changes a program.
 */
import { error, type Diagnostic } from "../compiler/diagnostics.js";
import type * as A from "./ast.js";
import { parse } from "./index.js";
import { printItemHead, printStmt } from "./print.js";

/** What `formatSource` returns: the canonical text, or the diagnostics that prevent it. */
export interface FormatResult {
  /** Absent when the file has syntax errors or could not be formatted safely. */
  text?: string;
  diagnostics: Diagnostic[];
}

const indentUnit = "  ";

/** Stands between a line's code and its trailing comment until alignTrailing lays them out. */
const trailMark = "\u0000";

/** Trailing comments on consecutive lines start in one column, one space after the longest code (as gofmt). */
function alignTrailing(lines: string[]): void {
  for (let i = 0; i < lines.length; ) {
    let j = i;
    while (j < lines.length && lines[j]!.includes(trailMark)) j++;
    if (j === i) {
      i++;
      continue;
    }
    const width = Math.max(...lines.slice(i, j).map((l) => l.indexOf(trailMark)));
    for (let k = i; k < j; k++) {
      const [code, comment] = lines[k]!.split(trailMark) as [string, string];
      lines[k] = `${code.padEnd(width)} ${comment}`;
    }
    i = j;
  }
}

/** A thing in a sequence: an item or statement (with its own lines) or a comment between them. */
type Piece = { kind: "node"; node: A.Item | A.Stmt; start: number; end: number } | { kind: "comment"; comment: A.Comment; start: number; end: number };

/** Decides whether a blank line separates the piece after a node from that node. */
type BlankPolicy = (prev: A.Item | A.Stmt, next: A.Item | A.Stmt | undefined, hadBlank: boolean) => boolean;

/** Items: one blank line between them; imports, and consts, stay grouped unless a blank line was written. */
const itemPolicy: BlankPolicy = (prev, next, hadBlank) =>
  (prev.kind === "Import" || prev.kind === "Const") && (next === undefined || next.kind === prev.kind) ? hadBlank : true;
/** Statements and trailing comments: at most one blank line, where the author put one. */
const keepPolicy: BlankPolicy = (_prev, _next, hadBlank) => hadBlank;

class CommentPrinter {
  constructor(
    private readonly text: string,
    private readonly comments: A.Comment[],
  ) {}

  module(ast: A.Module): string {
    const { lines } = this.sequence(ast.items, 0, this.text.length, itemPolicy, false);
    return lines.length === 0 ? "" : lines.join("\n") + "\n";
  }

  private within(start: number, end: number): A.Comment[] {
    return this.comments.filter((c) => c.span.start >= start && c.span.start < end);
  }

  /** Line terminators are \n, \r and \r\n (docs/language.md §2). */
  private hadBlank(from: number, to: number): boolean {
    return (this.text.slice(from, to).match(/\r\n|\r|\n/g)?.length ?? 0) >= 2;
  }

  private sameLine(from: number, to: number): boolean {
    return !/[\r\n]/.test(this.text.slice(from, to));
  }

  /**
   * Prints nodes and the comments between them, for a region [start, end) of the source.
   * `trailsOpener`: a comment on the region's first line trails the `{` that opens it.
   */
  private sequence(
    nodes: readonly (A.Item | A.Stmt)[],
    start: number,
    end: number,
    policy: BlankPolicy,
    trailsOpener: boolean,
  ): { lines: string[]; opener?: A.Comment } {
    const inside = (c: A.Comment) => nodes.some((n) => c.span.start >= n.span.start && c.span.start < n.span.end);
    const pieces: Piece[] = [
      ...nodes.map((node): Piece => ({ kind: "node", node, start: node.span.start, end: node.span.end })),
      ...this.within(start, end)
        .filter((c) => !inside(c))
        .map((comment): Piece => ({ kind: "comment", comment, start: comment.span.start, end: comment.span.end })),
    ].sort((a, b) => a.start - b.start);
    const lines: string[] = [];
    let opener: A.Comment | undefined;
    let prevEnd = start;
    let prevNode: A.Item | A.Stmt | undefined;
    let afterNode = false;
    pieces.forEach((piece, i) => {
      if (piece.kind === "comment" && this.sameLine(prevEnd, piece.start) && (afterNode || (trailsOpener && lines.length === 0 && opener === undefined))) {
        if (afterNode) lines[lines.length - 1] += trailMark + piece.comment.text;
        else opener = piece.comment;
        prevEnd = piece.end;
        return;
      }
      const hadBlank = this.hadBlank(prevEnd, piece.start);
      const next = pieces.slice(i).find((p) => p.kind === "node");
      const blank = afterNode && prevNode !== undefined ? policy(prevNode, next?.kind === "node" ? next.node : undefined, hadBlank) : hadBlank;
      if (blank && lines.length > 0) lines.push("");
      if (piece.kind === "comment") lines.push(piece.comment.text);
      else lines.push(...this.node(piece.node));
      afterNode = piece.kind === "node";
      if (piece.kind === "node") prevNode = piece.node;
      prevEnd = piece.end;
    });
    alignTrailing(lines);
    return opener === undefined ? { lines } : { lines, opener };
  }

  /** The lines of one item or statement: comments from inside it first, then the code. */
  private node(n: A.Item | A.Stmt): string[] {
    if (n.kind !== "Fn" && n.kind !== "Estimator") {
      const moved = this.within(n.span.start, n.span.end).map((c) => c.text);
      return [...moved, n.kind === "Import" || n.kind === "Const" ? printItemHead(n, this.written) : printStmt(n, this.written)];
    }
    const brace = this.openingBrace(n);
    const moved = this.within(n.span.start, brace).map((c) => c.text);
    const close = n.span.end - 1;
    const body = this.sequence(n.body, brace + 1, close, keepPolicy, true);
    const head = printItemHead(n, this.written);
    if (body.lines.length === 0 && body.opener === undefined) return [...moved, `${head} {}`];
    const opener = body.opener === undefined ? "" : trailMark + body.opener.text;
    const inner = body.lines.map((l) => (l === "" ? "" : indentUnit + l));
    return [...moved, `${head} {${opener}`, ...inner, "}"];
  }

  /** True when `e` stands directly inside a pair of parentheses (comments and blanks aside). */
  private readonly written = (e: A.Expr): boolean => {
    let i = e.span.start - 1;
    while (i >= 0) {
      const c = this.comments.find((c) => i >= c.span.start && i < c.span.end);
      if (c !== undefined) i = c.span.start - 1;
      else if (/\s/.test(this.text[i]!)) i--;
      else break;
    }
    let j = e.span.end;
    while (j < this.text.length) {
      const c = this.comments.find((c) => c.span.start === j);
      if (c !== undefined) j = c.span.end;
      else if (/\s/.test(this.text[j]!)) j++;
      else break;
    }
    return this.text[i] === "(" && this.text[j] === ")";
  };

  /** The offset of the `{` that opens a body: the first one after the item starts, outside comments. */
  private openingBrace(n: A.FnDecl | A.EstimatorDecl): number {
    const inComment = (i: number) => this.comments.some((c) => i >= c.span.start && i < c.span.end);
    for (let i = n.span.start; i < n.span.end; i++) if (this.text[i] === "{" && !inComment(i)) return i;
    return n.span.end - 1;
  }
}

/**
 * Formats one `.est` file. Never throws. Returns no text when the file has syntax errors (they
 * are the diagnostics), or when the printed program would differ from the original.
 */
export function formatSource(text: string, file: string): FormatResult {
  const parsed = parse(text, file);
  if (parsed.diagnostics.some((d) => d.severity === "error")) return { diagnostics: parsed.diagnostics };
  const unprintable = callsOfNonNames(parsed.ast);
  if (unprintable.length > 0) return { diagnostics: unprintable };
  const out = new CommentPrinter(text, parsed.comments).module(parsed.ast);
  const again = parse(out, file);
  const problem = sameProgram(parsed, again);
  return problem === undefined ? { text: out, diagnostics: [] } : { diagnostics: [problem] };
}

/** Undefined when `b` (the printed program) has `a`'s AST and comments; else why not. */
function sameProgram(a: ReturnType<typeof parse>, b: ReturnType<typeof parse>): Diagnostic | undefined {
  const file = a.ast.file;
  const texts = (p: ReturnType<typeof parse>) => JSON.stringify(p.comments.map((c) => c.text));
  const docsDiffer = canonical(a.ast, true) === canonical(b.ast, true) && canonical(a.ast, false) !== canonical(b.ast, false);
  if (docsDiffer) {
    const moved = a.comments.find((c) => c.doc && a.ast.items.some((it) => c.span.start > it.span.start && c.span.start < it.span.end));
    const span = moved?.span ?? { file, start: 0, end: 0 };
    return error("E1008", span, "estc fmt cannot keep this `///` comment where it is without making it part of a doc comment", {
      hint: "a `///` comment documents the item below it; inside an item or a statement, write `//`",
    });
  }
  if (b.diagnostics.length > 0 || canonical(a.ast, false) !== canonical(b.ast, false) || texts(a) !== texts(b)) {
    return error("E0001", { file, start: 0, end: 0 }, "internal error in estc fmt: the formatted program differs from the original; the file was left unchanged");
  }
  return undefined;
}

/**
 * The parser accepts `(a + b)(x)` and check rejects it (E2010); the AST keeps no callee to
 * print, so fmt reports it as check does.
 */
function callsOfNonNames(ast: A.Module): Diagnostic[] {
  const found: Diagnostic[] = [];
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(visit);
    if (v === null || typeof v !== "object") return;
    const node = v as A.CallExpr;
    if (node.kind === "Call" && node.callee.name === "") {
      found.push(error("E2010", node.callee.span, "only a named function can be called", { hint: "call a primitive or an fn by name: f(x)" }));
    }
    for (const [k, child] of Object.entries(v)) if (k !== "span") visit(child);
  };
  visit(ast);
  return found;
}

/** A JSON form of an AST without spans (and without docs when `withoutDocs`), keys sorted. */
function canonical(node: unknown, withoutDocs: boolean): string {
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (v === null || typeof v !== "object") return v;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      if (k === "span" || k === "opSpan" || k === "fromSpan" || (withoutDocs && k === "doc")) continue;
      out[k] = strip((v as Record<string, unknown>)[k]);
    }
    return out;
  };
  return JSON.stringify(strip(node));
}
