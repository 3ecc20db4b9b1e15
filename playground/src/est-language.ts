/**
 * `.est` highlighting for CodeMirror: a stream tokenizer over the language's tokens
 * (grammar/tokens.ts), with the token classes of the TextMate grammar the VS Code extension
 * uses (editors/vscode/syntaxes/est.tmLanguage.json): keywords, dtypes, the name a declaration
 * introduces, the estimator after `backward`, calls, numbers, strings, `//` and `///` comments.
 */
import { HighlightStyle, StreamLanguage, syntaxHighlighting, type StringStream } from "@codemirror/language";
import { tags as t } from "@lezer/highlight";

const DECLARATIONS = new Set(["fn", "estimator", "const"]);
const KEYWORDS = new Set(["import", "from", "as", "for", "let", "return", "grad", "surrogate", "backward", "detach"]);
const DTYPES = new Set(["f32", "i32", "bool"]);

/** What the next name means, set by the keyword before it. */
type Expect = "none" | "fn" | "estimator" | "const" | "backward" | "grad";

interface State {
  expect: Expect;
}

function name(stream: StringStream, state: State): string {
  const word = stream.current();
  const expect = state.expect;
  state.expect = "none";
  if (word === "true" || word === "false") return "bool";
  if (DTYPES.has(word)) return "typeName";
  if (DECLARATIONS.has(word)) {
    state.expect = word as Expect;
    return "definitionKeyword";
  }
  if (KEYWORDS.has(word)) {
    if (word === "backward" || word === "grad") state.expect = word;
    return word === "import" || word === "from" || word === "as" || word === "return" ? "controlKeyword" : "keyword";
  }
  if (expect === "fn") return "variableName.function.definition";
  if (expect === "estimator" || expect === "backward") return "className";
  if (expect === "const") return "variableName.constant.definition";
  if (expect === "grad") return "variableName.definition";
  return stream.match(/^\s*\(/, false) ? "variableName.function" : "variableName";
}

/** The `.est` stream language. */
export const estLanguage = StreamLanguage.define<State>({
  name: "est",
  startState: () => ({ expect: "none" }),
  token(stream, state) {
    if (stream.eatSpace()) return null;
    if (stream.match("///")) {
      stream.skipToEnd();
      return "docComment";
    }
    if (stream.match("//")) {
      stream.skipToEnd();
      return "lineComment";
    }
    if (stream.match(/^[A-Za-z_][A-Za-z0-9_]*/)) return name(stream, state);
    if (stream.match(/^(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?/)) return "number";
    if (stream.match(/^"[^"\n\r]*"?/)) return "string";
    if (stream.match("->") || stream.match("...")) return "punctuation";
    if (stream.match(/^(?:==|!=|<=|>=|&&|\|\||[-+*/%^@!<>?:=])/)) return "operator";
    stream.next();
    return "punctuation";
  },
  languageData: { commentTokens: { line: "//" }, closeBrackets: { brackets: ["(", "[", "{", '"'] } },
  tokenTable: {
    docComment: t.docComment,
    lineComment: t.lineComment,
    controlKeyword: t.controlKeyword,
    definitionKeyword: t.definitionKeyword,
    bool: t.bool,
  },
});

/** Colours for the tokens above, legible on the page's light background. */
export const estHighlight = syntaxHighlighting(
  HighlightStyle.define([
    { tag: [t.lineComment], color: "#6a737d", fontStyle: "italic" },
    { tag: [t.docComment], color: "#2f7d4f", fontStyle: "italic" },
    { tag: [t.keyword, t.controlKeyword, t.definitionKeyword], color: "#a626a4", fontWeight: "600" },
    { tag: [t.typeName], color: "#0b7285" },
    { tag: [t.className], color: "#b35900", fontWeight: "600" },
    { tag: [t.function(t.definition(t.variableName))], color: "#1c5fbf", fontWeight: "600" },
    { tag: [t.function(t.variableName)], color: "#1c5fbf" },
    { tag: [t.constant(t.definition(t.variableName)), t.definition(t.variableName)], color: "#7b3fb8" },
    { tag: [t.number, t.bool], color: "#c2410c" },
    { tag: [t.string], color: "#2f7d4f" },
    { tag: [t.operator], color: "#4b5563" },
  ]),
);
