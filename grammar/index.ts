/**
 * The front door of the grammar: `parse(text, file) → { ast, diagnostics }`.
 * It never throws: lexer and parser errors become E1xxx diagnostics, and the parser's
 * recovery still yields an AST for the parts it understood.
 */
import type { ILexingResult, IRecognitionException, IToken } from "chevrotain";
import { error, type Diagnostic } from "../compiler/diagnostics.js";
import { describeCharacter } from "../compiler/escape.js";
import type { Comment, Item, Module } from "./ast.js";
import { decodeMessage, messageSource } from "./messages.js";
import { parser } from "./parser.js";
import { AstBuilder } from "./to-ast.js";
import { DocComment, LBracket, lexer, LParen, RBracket, RParen } from "./tokens.js";

export type * from "./ast.js";

/** What `parse` returns: an AST (possibly partial), every syntax error found, and the comments. */
export interface ParseResult {
  ast: Module;
  diagnostics: Diagnostic[];
  /** Every `//` and `///` comment, in source order. */
  comments: Comment[];
}

/** The lexer's tokens with `endOffset` set (the lexer itself tracks start offsets only, tokens.ts). */
export function tokenize(text: string): ILexingResult {
  const lexed = lexer.tokenize(text);
  for (const group of [lexed.tokens, ...Object.values(lexed.groups)]) {
    for (const t of group) t.endOffset = t.startOffset + t.image.length - 1;
  }
  return lexed;
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
  const lexed = tokenize(text);
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
  const tooDeep = bracketNestingBeyondLimit(lexed.tokens);
  if (tooDeep !== undefined) {
    const span = { file, start: tooDeep.startOffset, end: tooDeep.startOffset + 1 };
    const d = error("E1002", span, `brackets nest more than ${MAX_NESTING} deep here`, { hint: "split deeply nested expressions with let bindings" });
    return { ast: empty, diagnostics: [...diagnostics, d], comments: [] };
  }
  const docs = lexed.groups["docs"] ?? [];
  const builder = new AstBuilder(file, docs);
  const items: Item[] = [];
  // Each item becomes AST as soon as it is parsed (parser.ts, onItem), so no whole-file CST.
  parser.onItem = (n) => {
    const item = builder.topLevelItem(n);
    if (item !== undefined) items.push(item);
  };
  parser.input = lexed.tokens;
  messageSource.text = text;
  try {
    parser.module();
  } finally {
    parser.onItem = undefined;
    messageSource.text = "";
  }
  for (const e of parser.errors) diagnostics.push(syntaxDiagnostic(e, file, text.length));
  // Let the tokens go: the parser would otherwise keep them until the next file.
  parser.input = [];
  const ast: Module = { ...empty, items };
  const comments = [...docs, ...(lexed.groups["comments"] ?? [])]
    .sort((a, b) => a.startOffset - b.startOffset)
    .map((t): Comment => {
      const text = t.image.trimEnd();
      return { kind: "Comment", text, doc: t.tokenType === DocComment, span: { file, start: t.startOffset, end: t.startOffset + text.length } };
    });
  return { ast, diagnostics, comments };
}

/**
 * How deep `(` and `[` may nest (E1002 beyond). The parser spends about fourteen rule calls per
 * level: the estc command's 256 MB stack (cli/main.ts) parses this depth, a library caller's
 * ~1 MB stack about 200 levels (and reports E1002 for the whole file where it runs out).
 */
export const MAX_NESTING = 20_000;

/** The bracket that opens level MAX_NESTING + 1, if any; counted iteratively before parsing. */
function bracketNestingBeyondLimit(tokens: IToken[]): IToken | undefined {
  let depth = 0;
  for (const t of tokens) {
    if (t.tokenType === LParen || t.tokenType === LBracket) {
      if (++depth > MAX_NESTING) return t;
    } else if ((t.tokenType === RParen || t.tokenType === RBracket) && depth > 0) depth--;
  }
  return undefined;
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
