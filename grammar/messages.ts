/**
 * Chevrotain's syntax errors in a user's words. Each message is encoded as
 * `CODE\u0000message\u0000hint` so grammar/index.ts can build a full diagnostic from it.
 */
import type { IParserErrorMessageProvider, IToken, TokenType } from "chevrotain";
import { EOF } from "./chevrotain.js";
import { tokenLabels } from "./tokens.js";

/**
 * The text being parsed, so a message can ask whether a line break separates two tokens (the
 * lexer tracks offsets only: line numbers on every token cost a quarter of a big file's memory).
 * Set by grammar/index.ts for each parse.
 */
export const messageSource = { text: "" };

/** Whether a line break lies between offsets `from` and `to` of the text being parsed. */
function lineBreakBetween(from: number, to: number): boolean {
  const gap = messageSource.text.slice(from, to);
  return gap.includes("\n") || gap.includes("\r");
}

/** What the parser was reading, by rule name, for "… in <context>". */
const ruleContext: Record<string, string> = {
  module: "at the top level of the file",
  item: "at the top level of the file",
  importDecl: "in this import",
  importName: "in this import",
  constDecl: "in this const",
  estimatorDecl: "in this estimator's header",
  fnDecl: "in this fn's header",
  paramList: "in the parameter list",
  param: "in this parameter",
  typeExpr: "in this type",
  dim: "in this shape",
  dimTerm: "in this shape",
  dimAtom: "in this shape",
  resultType: "in the result type",
  block: "in this block",
  statement: "in this block",
  letStmt: "in this let",
  returnStmt: "in this return",
  gradStmt: "in this grad",
  surrogateStmt: "in this surrogate",
  backwardSuffix: "after `backward`",
  callSuffix: "in the arguments of this call",
  indexSuffix: "in this index",
  indexItem: "in this index",
  sliceTail: "in this slice",
  argList: "in the arguments of this call",
  arg: "in this argument",
  parenExpr: "in these parentheses",
  listExpr: "in this list",
};

/** Where a rule expects a whole construct, say so instead of listing tokens. */
const ruleWhat: Record<string, string> = {
  module: "an item (import, const, estimator or fn)",
  item: "an item (import, const, estimator or fn)",
  statement: "a statement (let, return, grad or surrogate)",
  typeExpr: "a type (f32, i32 or bool)",
  resultType: "a result type such as f32[B, O] or (f32[B], f32)",
  dim: "a dimension (a name such as B, a size such as 784, or arithmetic such as C * H * W)",
  dimTerm: "a dimension (a name such as B, a size such as 784, or arithmetic such as C * H * W)",
  dimAtom: "a dimension (a name such as B, a size such as 784, or arithmetic such as C * H * W)",
  indexItem: "an index, or a slice such as 0:K",
  primary: "an expression",
  application: "an expression",
  postfix: "an expression",
  suffixed: "an expression",
  power: "an expression",
  unary: "an expression",
  letStmt: "a name, or (a, b) to unpack a tuple",
};

/** The token as a user would call it. */
export function describeToken(tok: IToken): string {
  if (tok.tokenType === EOF) return "the end of the file";
  return `\`${tok.image}\``;
}

function label(t: TokenType): string {
  return tokenLabels[t.name] ?? t.name;
}

function context(ruleName: string): string {
  const c = ruleContext[ruleName];
  return c === undefined ? "" : ` ${c}`;
}

/** A message in the form decodeMessage reads: `CODE\u0000message\u0000hint`. */
export function encode(code: string, message: string, hint?: string): string {
  return [code, message, hint ?? ""].join("\u0000");
}

function hintFor(expected: TokenType, actual: IToken): string | undefined {
  const want = expected.name;
  if (want === "RParen" || want === "RBracket" || want === "RBrace") {
    return `every opening bracket needs its closing ${label(expected)}`;
  }
  if (want === "Ident" && actual.tokenType.LONGER_ALT !== undefined) {
    return `\`${actual.image}\` is a keyword and cannot be used as a name`;
  }
  if (want === "StringLit") return 'write the module path in double quotes: from "std/binary"';
  if (want === "Assign" && actual.tokenType.name === "EqEq") return "use a single `=` to bind a name";
  return undefined;
}

/** Distinct first tokens of the paths chevrotain expected, as readable labels. */
function firstTokens(paths: TokenType[][]): string {
  const seen = new Set<string>();
  for (const p of paths) if (p[0] !== undefined) seen.add(label(p[0]));
  const all = [...seen];
  if (all.length <= 1) return all[0] ?? "something else";
  if (all.length > 6) return `one of ${all.slice(0, 6).join(", ")}, …`;
  return `one of ${all.join(", ")}`;
}

/** Keywords that begin a statement or an item, so they end an unfinished expression. */
const startsStatement = new Set(["let", "return", "grad", "surrogate", "fn", "estimator", "import", "const"]);

/** Text at the top level that is not an item (E1005). */
function strayTopLevel(tok: IToken): string {
  return encode(
    "E1005",
    `unexpected ${describeToken(tok)} at the top level: expected an item (import, const, estimator or fn)`,
    "top-level code goes inside an fn; statements need let or return",
  );
}

export const errorMessages: IParserErrorMessageProvider = {
  buildMismatchTokenMessage({ expected, actual, ruleName }) {
    // Recovery at the top level resynchronises on the next item and reports the skipped text
    // as a mismatch against the end of the file: it is stray top-level input.
    if (expected === EOF) return strayTopLevel(actual);
    if (ruleName === "block" && expected.name === "RBrace" && actual.tokenType !== EOF) {
      return encode(
        "E1003",
        `expected a statement (let, return, grad or surrogate) or \`}\` in this block, found ${describeToken(actual)}`,
        actual.tokenType.name === "Ident" ? `to bind a name write let ${actual.image} = …` : undefined,
      );
    }
    const where = ruleName === "backwardSuffix" && expected.name === "RParen" ? " after the estimator's arguments" : context(ruleName);
    return encode("E1003", `expected ${label(expected)}${where}, found ${describeToken(actual)}`, hintFor(expected, actual));
  },
  buildNotAllInputParsedMessage({ firstRedundant }) {
    return strayTopLevel(firstRedundant);
  },
  buildNoViableAltMessage({ expectedPathsPerAlt, actual, previous, ruleName }) {
    const what = ruleWhat[ruleName] ?? firstTokens(expectedPathsPerAlt.flat());
    const found = actual[0] === undefined ? "the end of the file" : describeToken(actual[0]);
    const tok = actual[0];
    const kw = tok?.tokenType.LONGER_ALT !== undefined && ruleName !== "item" && ruleName !== "statement";
    // `let y = x *` followed by `return` on the next line: the expression is unfinished, and
    // `return` is not being misused as a name.
    const unfinished = kw && tok !== undefined && startsStatement.has(tok.image) && previous !== undefined && lineBreakBetween(previous.endOffset ?? 0, tok.startOffset);
    const where = ruleName === "typeExpr" ? "" : context(ruleName);
    return encode(
      "E1004",
      `expected ${what}${where}, found ${found}`,
      unfinished
        ? `the line before \`${tok.image}\` ends in the middle of an expression`
        : kw
          ? `\`${tok!.image}\` is a keyword and cannot be used here`
          : undefined,
    );
  },
  buildEarlyExitMessage({ expectedIterationPaths, actual, ruleName }) {
    const found = actual[0] === undefined ? "the end of the file" : describeToken(actual[0]);
    return encode("E1006", `expected ${firstTokens(expectedIterationPaths)}${context(ruleName)}, found ${found}`);
  },
};

/** Splits a message built above back into its code, text and hint. */
export function decodeMessage(raw: string): { code: string; message: string; hint?: string } {
  const parts = raw.split("\u0000");
  if (parts.length < 2) return { code: "E1004", message: raw };
  const hint = parts[2];
  return hint ? { code: parts[0]!, message: parts[1]!, hint } : { code: parts[0]!, message: parts[1]! };
}
