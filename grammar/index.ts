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
import { collapseDeepNests, STEP } from "./nesting.js";
import { parser } from "./parser.js";
import { AstBuilder } from "./to-ast.js";
import { DocComment, LBracket, lexer, LParen, Question, RBracket, RParen } from "./tokens.js";

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
    // Deep nesting exhausts the JavaScript stack; that is a property of the input, not a bug.
    if (e instanceof RangeError) return { ast: empty, diagnostics: [fileTooDeep(file, text)], comments: [] };
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
  const nesting = bracketNesting(lexed.tokens);
  if (nesting.beyondLimit !== undefined) {
    const span = { file, start: nesting.beyondLimit.startOffset, end: nesting.beyondLimit.startOffset + 1 };
    const d = error("E1002", span, `brackets nest more than ${MAX_NESTING} deep here`, { hint: "split deeply nested expressions with let bindings" });
    return { ast: empty, diagnostics: [...diagnostics, d], comments: [] };
  }
  const docs = lexed.groups["docs"] ?? [];
  const builder = new AstBuilder(file, docs);
  const items: Item[] = [];
  messageSource.text = text;
  let syntaxErrors: IRecognitionException[];
  try {
    // Deep nests are parsed ahead, bottom-up, so that no parse recurses deeper than STEP brackets.
    const collapsed = nesting.max >= STEP ? collapseDeepNests(lexed.tokens, text, builder) : { tokens: lexed.tokens, errors: [] };
    // Each item becomes AST as soon as it is parsed (parser.ts, onItem), so no whole-file CST.
    parser.onItem = (n) => {
      const item = builder.topLevelItem(n);
      if (item !== undefined) items.push(item);
    };
    parser.input = collapsed.tokens;
    parser.module();
    syntaxErrors = [...collapsed.errors, ...parser.errors];
  } finally {
    parser.onItem = undefined;
    messageSource.text = "";
  }
  for (const e of syntaxErrors) diagnostics.push(syntaxDiagnostic(e, file, text.length));
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
 * How deep `(` and `[` may nest (E1002 beyond). Nests deeper than STEP are parsed bottom-up
 * (nesting.ts), so this is no matter of stack: it bounds what a file may ask of the later passes.
 */
export const MAX_NESTING = 20_000;

/**
 * How deep the brackets nest (or, at most, how deep the `?`s do), and the bracket that opens
 * level MAX_NESTING + 1, if any; counted iteratively before parsing.
 */
function bracketNesting(tokens: IToken[]): { max: number; beyondLimit?: IToken } {
  let depth = 0;
  let max = 0;
  let questions = 0;
  for (const t of tokens) {
    if (t.tokenType === LParen || t.tokenType === LBracket) {
      if (++depth > MAX_NESTING) return { max, beyondLimit: t };
      max = Math.max(max, depth);
    } else if ((t.tokenType === RParen || t.tokenType === RBracket) && depth > 0) depth--;
    else if (t.tokenType === Question) questions++;
  }
  return { max: Math.max(max, questions) };
}

function fileTooDeep(file: string, text: string): Diagnostic {
  return error("E1002", { file, start: 0, end: Math.min(1, text.length) }, "this file nests too deeply to parse", {
    hint: "split deeply nested expressions with let bindings",
  });
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
