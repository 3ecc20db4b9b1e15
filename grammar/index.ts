/**
 * The front door of the grammar: `parse(text, file) → { ast, diagnostics }`.
 * It never throws: lexer and parser errors become E1xxx diagnostics, and the parser's
 * recovery still yields an AST for the parts it understood.
 */
import type { IRecognitionException } from "chevrotain";
import { error, type Diagnostic } from "../compiler/diagnostics.js";
import { describeCharacter } from "../compiler/escape.js";
import type { Comment, Module } from "./ast.js";
import { decodeMessage } from "./messages.js";
import { parser } from "./parser.js";
import { AstBuilder } from "./to-ast.js";
import { DocComment, lexer } from "./tokens.js";

export type * from "./ast.js";

/** What `parse` returns: an AST (possibly partial), every syntax error found, and the comments. */
export interface ParseResult {
  ast: Module;
  diagnostics: Diagnostic[];
  /** Every `//` and `///` comment, in source order. */
  comments: Comment[];
}

/** Parses one `.est` file. Never throws. */
export function parse(text: string, file: string): ParseResult {
  const empty: Module = { kind: "Module", file, items: [], span: { file, start: 0, end: text.length } };
  try {
    return parseUnguarded(text, file, empty);
  } catch (e) {
    if (e instanceof RangeError) {
      // Deep nesting exhausts the JavaScript stack; that is a property of the input, not a bug.
      const d = error("E1002", { file, start: 0, end: Math.min(1, text.length) }, "this file nests too deeply to parse", {
        hint: "split deeply nested expressions with let bindings",
      });
      return { ast: empty, diagnostics: [d], comments: [] };
    }
    const msg = e instanceof Error ? (e.stack ?? e.message) : String(e);
    return { ast: empty, diagnostics: [error("E0001", { file, start: 0, end: 0 }, `internal error in the parser: ${msg}`)], comments: [] };
  }
}

function parseUnguarded(text: string, file: string, empty: Module): ParseResult {
  const diagnostics: Diagnostic[] = [];
  const lexed = lexer.tokenize(text);
  for (const e of lexed.errors) {
    const ch = text.slice(e.offset, e.offset + Math.max(1, e.length));
    const unterminated = ch.startsWith('"');
    diagnostics.push(
      unterminated
        ? error("E1007", { file, start: e.offset, end: e.offset + e.length }, "unterminated string", {
            hint: 'close the module path with a double quote: "std/binary"',
          })
        : error("E1001", { file, start: e.offset, end: e.offset + e.length }, `unexpected character ${showCharacter(ch)}`, {
            hint: "estc source is ASCII names, numbers, operators and // comments",
          }),
    );
  }
  parser.input = lexed.tokens;
  const cst = parser.module();
  for (const e of parser.errors) diagnostics.push(syntaxDiagnostic(e, file, text.length));
  const docs = lexed.groups["docs"] ?? [];
  const builder = new AstBuilder(file, docs);
  const ast = (builder.visit(cst) as Module | undefined) ?? empty;
  ast.span = { file, start: 0, end: text.length };
  const comments = [...docs, ...(lexed.groups["comments"] ?? [])]
    .sort((a, b) => a.startOffset - b.startOffset)
    .map((t): Comment => {
      const text = t.image.trimEnd();
      return { kind: "Comment", text, doc: t.tokenType === DocComment, span: { file, start: t.startOffset, end: t.startOffset + text.length } };
    });
  return { ast, diagnostics, comments };
}

function syntaxDiagnostic(e: IRecognitionException, file: string, length: number): Diagnostic {
  const { code, message, hint } = decodeMessage(e.message);
  const t = e.token;
  // At the end of the file the token has no offset; point just after the last real token.
  const prev = (e as { previousToken?: { endOffset?: number } }).previousToken;
  let span = { file, start: length, end: length };
  if (t !== undefined && Number.isFinite(t.startOffset)) {
    span = { file, start: t.startOffset, end: (t.endOffset ?? t.startOffset) + 1 };
  } else if (prev !== undefined && Number.isFinite(prev.endOffset)) {
    const end = (prev.endOffset ?? 0) + 1;
    span = { file, start: end, end };
  }
  return error(code, span, message, hint === undefined ? {} : { hint });
}

/**
 * `"#"` for a printable ASCII character; for any other, its code point too (`"é" (U+00E9)`), or
 * only the code point where the character is invisible or moves the text (`U+2028 (line separator)`).
 */
function showCharacter(ch: string): string {
  const c = String.fromCodePoint(ch.codePointAt(0) ?? 0);
  if (/^[\x21-\x7e]$/.test(c)) return JSON.stringify(c);
  return /^[\p{L}\p{N}\p{P}\p{S}]$/u.test(c) ? `${JSON.stringify(c)} (${describeCharacter(c)})` : describeCharacter(c);
}
