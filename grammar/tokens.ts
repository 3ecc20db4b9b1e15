/**
 * The `.est` vocabulary: every token type, in lexing order. Keywords come before `Ident`
 * (with `longer_alt` so `format` is a name, not `for` + `mat`); longer operators before
 * their prefixes (`<=` before `<`).
 */
import type { TokenType } from "chevrotain";
import { createToken, Lexer } from "./chevrotain.js";

// ---------------------------------------------------------------- trivia

export const WhiteSpace = createToken({ name: "WhiteSpace", pattern: /[ \t\r\n\f\v]+/, group: Lexer.SKIPPED });
/** `///` doc comments are kept in their own group and attached to the next item. */
export const DocComment = createToken({ name: "DocComment", pattern: /\/\/\/[^\n\r]*/, group: "docs" });
/** `//` comments: ignored by the parser, kept in their own group for `estc fmt` and the editor. */
export const LineComment = createToken({ name: "LineComment", pattern: /\/\/[^\n\r]*/, group: "comments" });

// ---------------------------------------------------------------- names and literals

export const Ident = createToken({ name: "Ident", pattern: /[A-Za-z_][A-Za-z0-9_]*/ });
export const NumberLit = createToken({
  name: "NumberLit",
  pattern: /(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?/,
});
export const StringLit = createToken({ name: "StringLit", pattern: /"[^"\n\r]*"/ });

function keyword(word: string): TokenType {
  return createToken({ name: word[0]!.toUpperCase() + word.slice(1), pattern: word, longer_alt: Ident });
}

// ---------------------------------------------------------------- keywords

export const Import = keyword("import");
export const From = keyword("from");
export const As = keyword("as");
export const Const = keyword("const");
export const Estimator = keyword("estimator");
export const For = keyword("for");
export const Fn = keyword("fn");
export const Let = keyword("let");
export const Return = keyword("return");
export const Grad = keyword("grad");
export const Surrogate = keyword("surrogate");
export const Backward = keyword("backward");
export const Detach = keyword("detach");
export const True = keyword("true");
export const False = keyword("false");
export const F32 = keyword("f32");
export const I32 = keyword("i32");
export const Bool = keyword("bool");

// ---------------------------------------------------------------- punctuation and operators

export const Arrow = createToken({ name: "Arrow", pattern: "->" });
/** `...` in a tensor type: a run of any number of dims (a rank-generic fn, language.md §5). */
export const Ellipsis = createToken({ name: "Ellipsis", pattern: "..." });
export const EqEq = createToken({ name: "EqEq", pattern: "==" });
export const NotEq = createToken({ name: "NotEq", pattern: "!=" });
export const LessEq = createToken({ name: "LessEq", pattern: "<=" });
export const GreaterEq = createToken({ name: "GreaterEq", pattern: ">=" });
export const AndAnd = createToken({ name: "AndAnd", pattern: "&&" });
export const OrOr = createToken({ name: "OrOr", pattern: "||" });
export const Less = createToken({ name: "Less", pattern: "<" });
export const Greater = createToken({ name: "Greater", pattern: ">" });
export const Assign = createToken({ name: "Assign", pattern: "=" });
export const Plus = createToken({ name: "Plus", pattern: "+" });
export const Minus = createToken({ name: "Minus", pattern: "-" });
export const Star = createToken({ name: "Star", pattern: "*" });
export const Slash = createToken({ name: "Slash", pattern: "/" });
export const Percent = createToken({ name: "Percent", pattern: "%" });
export const At = createToken({ name: "At", pattern: "@" });
export const Caret = createToken({ name: "Caret", pattern: "^" });
export const Bang = createToken({ name: "Bang", pattern: "!" });
export const Question = createToken({ name: "Question", pattern: "?" });
export const Colon = createToken({ name: "Colon", pattern: ":" });
export const Comma = createToken({ name: "Comma", pattern: "," });
export const LParen = createToken({ name: "LParen", pattern: "(" });
export const RParen = createToken({ name: "RParen", pattern: ")" });
export const LBracket = createToken({ name: "LBracket", pattern: "[" });
export const RBracket = createToken({ name: "RBracket", pattern: "]" });
export const LBrace = createToken({ name: "LBrace", pattern: "{" });
export const RBrace = createToken({ name: "RBrace", pattern: "}" });

/** Every token type, in the order the lexer tries them. */
export const allTokens: TokenType[] = [
  WhiteSpace,
  DocComment,
  LineComment,
  Import,
  From,
  As,
  Const,
  Estimator,
  For,
  Fn,
  Let,
  Return,
  Grad,
  Surrogate,
  Backward,
  Detach,
  True,
  False,
  F32,
  I32,
  Bool,
  Ident,
  Ellipsis,
  NumberLit,
  StringLit,
  Arrow,
  EqEq,
  NotEq,
  LessEq,
  GreaterEq,
  AndAnd,
  OrOr,
  Less,
  Greater,
  Assign,
  Plus,
  Minus,
  Star,
  Slash,
  Percent,
  At,
  Caret,
  Bang,
  Question,
  Colon,
  Comma,
  LParen,
  RParen,
  LBracket,
  RBracket,
  LBrace,
  RBrace,
];

/**
 * Not lexed: stands for a whole expression inside deeply nested brackets that grammar/nesting.ts
 * parsed ahead, so the parser's recursion stays shallow. It carries that expression's AST.
 */
export const Nested = createToken({ name: "Nested", pattern: Lexer.NA });

/** The parser's vocabulary: what the lexer gives, and `Nested`. */
export const parserTokens: TokenType[] = [...allTokens, Nested];

/** How each token is named in an error message: the text a user would type. */
export const tokenLabels: Record<string, string> = {
  Ident: "a name",
  NumberLit: "a number",
  StringLit: 'a module path in quotes ("std/binary")',
  EOF: "the end of the file",
  Nested: "an expression",
};
for (const t of allTokens) {
  if (tokenLabels[t.name] === undefined && typeof t.PATTERN === "string") tokenLabels[t.name] = `\`${t.PATTERN}\``;
}

/**
 * Start offsets only: lines and columns on every token cost a quarter of a big file's memory, and
 * diagnostics compute them from offsets (compiler/source.ts). grammar/index.ts adds `endOffset`.
 */
export const lexer = new Lexer(allTokens, { positionTracking: "onlyOffset", ensureOptimizations: false });
