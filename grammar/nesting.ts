/**
 * Deep bracket nests parsed bottom-up, so the parser's recursion stays shallow whatever the input.
 * The Chevrotain parser spends some fourteen rule calls of JavaScript stack per level of `(` or
 * `[` (expression → … → primary → parenExpr → expression), so a library caller's ~1 MB stack held
 * about 200 levels. Here the tokens are walked once with an explicit stack of open brackets; when
 * a bracket group (or the then-branch of `c ? a : b`, which nests the same way between `?` and
 * `:`) closes with {@link STEP} levels inside it, each of its comma-separated elements
 * (after an `o =` argument name) is parsed alone as an expression and replaced by one `Nested`
 * token that carries its AST (tokens.ts). The parser accepts `Nested` as a primary, so the main
 * parse, and each element's own parse, sees at most STEP levels. Parentheses yield no AST node of
 * their own, so the tree is the one the plain parse builds, spans included.
 *
 * Only files that nest STEP deep take this path. An element with a syntax error stands as an
 * `Error` expression, and its errors are the parser's own messages, as in a shallow nest (one
 * that ends early says the comma or the closing bracket was expected where it ends).
 */
import type { IRecognitionException, IToken, TokenType } from "chevrotain";
import type * as A from "./ast.js";
import { createTokenInstance } from "./chevrotain.js";
import { decodeMessage, describeToken, encode } from "./messages.js";
import { parser } from "./parser.js";
import type { AstBuilder } from "./to-ast.js";
import { Assign, Colon, Comma, Estimator, Fn, Ident, LBrace, LBracket, LParen, Nested, Question, RBrace, RBracket, RParen } from "./tokens.js";

/** A `Nested` token: an expression parsed ahead, standing in for its tokens. */
export interface NestedToken extends IToken {
  expr: A.Expr;
}

/** Bracket levels a group may hold before its elements are parsed ahead (each parse sees at most this many). */
export const STEP = 16;

/** An open bracket on the walk's stack. */
interface Group {
  /** Where the opening bracket stands in the output. */
  at: number;
  /** What closes it: `)`, `]`, or the `:` of a `?`, whose then-branch nests like a bracket. */
  close: TokenType;
  /** Levels of brackets inside it, not counting those parsed ahead. */
  height: number;
}

/** What {@link collapseDeepNests} gives: the tokens for the main parse, and the syntax errors of the elements parsed ahead. */
export interface Collapsed {
  tokens: IToken[];
  errors: IRecognitionException[];
}

/**
 * The tokens with every element of a bracket group that holds STEP levels replaced by a `Nested`
 * token; `text` names each one in messages. Linear: each token is parsed once, in one element.
 */
export function collapseDeepNests(tokens: IToken[], text: string, builder: AstBuilder): Collapsed {
  const out: IToken[] = [];
  const stack: Group[] = [];
  const errors: IRecognitionException[] = [];
  for (const t of tokens) {
    const type = t.tokenType;
    if (type === LParen || type === LBracket || type === Question) {
      stack.push({ at: out.length, close: type === LParen ? RParen : type === LBracket ? RBracket : Colon, height: 0 });
      out.push(t);
      continue;
    }
    if (type === LBrace || type === RBrace) {
      // Brackets never span a block in a valid program: what is open here is the parser's to report.
      stack.length = 0;
    } else if (type === RParen || type === RBracket || (type === Colon && stack[stack.length - 1]?.close === Colon)) {
      const g = stack.pop();
      if (g === undefined || g.close !== type) {
        stack.length = 0;
      } else {
        let height = g.height + 1;
        if (height >= STEP && !isParameterList(out, g.at)) {
          errors.push(...collapseElements(out, g.at + 1, t, text, builder));
          height = 1;
        }
        const parent = stack[stack.length - 1];
        if (parent !== undefined) parent.height = Math.max(parent.height, height);
      }
    }
    out.push(t);
  }
  return { tokens: out, errors };
}

/** `fn f(` or `estimator E(`: parameters, not expressions. */
function isParameterList(out: readonly IToken[], open: number): boolean {
  const before = out[open - 2]?.tokenType;
  return out[open - 1]?.tokenType === Ident && (before === Fn || before === Estimator);
}

/**
 * Parses each element of the group whose contents start at `from` and run to the end of `out`
 * (`close` is the token that closes the group), and puts a `Nested` token for each in its place;
 * an element that does not parse stands as an `Error` expression, and its syntax errors are returned.
 */
function collapseElements(out: IToken[], from: number, close: IToken, text: string, builder: AstBuilder): IRecognitionException[] {
  const replaced: IToken[] = [];
  const errors: IRecognitionException[] = [];
  let start = from;
  // Groups inside that were not parsed ahead (fewer than STEP levels) have commas of their own.
  let depth = 0;
  for (let i = from; i <= out.length; i++) {
    const type = out[i]?.tokenType;
    if (type === LParen || type === LBracket) depth++;
    else if (type === RParen || type === RBracket) depth--;
    if (i < out.length && (type !== Comma || depth > 0)) continue;
    // An argument's name stays a token: `o = …` is the parser's to read.
    let first = start;
    if (out[first]?.tokenType === Ident && out[first + 1]?.tokenType === Assign && first + 2 < i) {
      replaced.push(out[first]!, out[first + 1]!);
      first += 2;
    }
    if (i - first > 1) {
      const element = out.slice(first, i);
      const parsed = parseElement(element, out[i] ?? close, close, builder);
      errors.push(...(parsed.errors ?? []));
      replaced.push(nestedToken(element, parsed.expr, text));
    } else replaced.push(...out.slice(first, i));
    if (i < out.length) replaced.push(out[i]!);
    start = i + 1;
  }
  out.length = from;
  out.push(...replaced);
  return errors;
}

/**
 * One element parsed alone as a whole expression, followed by the token that follows it in the
 * source (`next`: a comma or the group's `close`), so that an error at its end says what was found.
 */
function parseElement(tokens: IToken[], next: IToken, close: IToken, builder: AstBuilder): { expr: A.Expr; errors?: IRecognitionException[] } {
  parser.input = [...tokens, next];
  const cst = parser.expression();
  // A rule invoked at the top reports the tokens it leaves as an error: there must be none but `next`.
  const errors = parser.errors.filter((e) => !(endsEarly(e) && e.token === next));
  if (errors.length === 0) return { expr: builder.visit(cst) as A.Expr };
  const first = tokens[0]!;
  const last = tokens[tokens.length - 1]!;
  const span = { file: builder.file, start: first.startOffset, end: (last.endOffset ?? last.startOffset) + 1 };
  // The parser has said what is wrong: later stages stay silent about an Error expression.
  return { expr: { kind: "Error", span }, errors: errors.map((e) => (endsEarly(e) ? unclosed(e, close) : e)) };
}

/** The expression ended before this token, which the parser, at the top, calls stray input (E1005). */
function endsEarly(e: IRecognitionException): boolean {
  return e.name === "NotAllInputParsedException" || decodeMessage(e.message).code === "E1005";
}

/** The element ended before its last token: in its group, the parser expected the comma or the closing bracket there. */
function unclosed(e: IRecognitionException, close: IToken): IRecognitionException {
  const expected = close.tokenType === Colon ? "`:`" : `\`,\` or \`${close.image}\``;
  const message = encode("E1003", `expected ${expected}, found ${describeToken(e.token)}`, close.tokenType === Colon ? undefined : `every opening bracket needs its closing \`${close.image}\``);
  return { ...e, name: "MismatchedTokenException", message };
}

/** The token that stands for `tokens`, spanning them; its image (for messages) is their text, shortened. */
function nestedToken(tokens: IToken[], expr: A.Expr, text: string): NestedToken {
  const first = tokens[0]!;
  const last = tokens[tokens.length - 1]!;
  const end = last.endOffset ?? last.startOffset;
  const source = text.slice(first.startOffset, end + 1);
  const image = source.length <= 24 ? source : `${source.slice(0, 20)}…`;
  const token = createTokenInstance(Nested, image, first.startOffset, end, NaN, NaN, NaN, NaN) as NestedToken;
  token.expr = expr;
  return token;
}
