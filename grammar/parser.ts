/**
 * The `.est` grammar as a Chevrotain CstParser: rules only, one class property each
 * (LANGUAGE.md §1–§4). Precedence, loosest first: `?:`, `||`, `&&`, `== !=`, `< <= > >=`,
 * `+ -`, `* / % @`, unary `- !`, `^` (right-assoc), `backward`/`detach`, application
 * (juxtaposition), postfix call/index. The CST becomes the AST in to-ast.ts.
 */
import type { CstNode, TokenType } from "chevrotain";
import { CstParser } from "./chevrotain.js";
import * as T from "./tokens.js";
import { errorMessages } from "./messages.js";

/** Tokens that can start the argument of a juxtaposed application such as `sign x`. */
const juxtapositionStart: TokenType[] = [T.Ident, T.NumberLit, T.True, T.False];

export class EstParser extends CstParser {
  /**
   * `validate` runs Chevrotain's grammar validations (ambiguities, left recursion): a test does
   * (tests/grammar/validations.test.ts); the compiler's own parser skips them, 40% of building it.
   */
  constructor(validate = false) {
    super(T.parserTokens, {
      recoveryEnabled: true,
      nodeLocationTracking: "onlyOffset",
      maxLookahead: 3,
      errorMessageProvider: errorMessages,
      skipValidations: !validate,
    });
    this.performSelfAnalysis();
  }

  // ---------------------------------------------------------------- items

  /**
   * Called with each top-level item's CST as soon as it is parsed; the CST is then emptied, so a
   * file's CST never exists whole (65,000 fns held 2 GB of CST at once) and memory stays
   * proportional to the AST. Set by grammar/index.ts around each parse.
   */
  onItem: ((item: CstNode) => void) | undefined;

  module = this.RULE("module", () => {
    this.MANY(() => {
      const item = this.SUBRULE(this.item);
      this.ACTION(() => {
        this.onItem?.(item);
        (item as { children: CstNode["children"] }).children = {};
      });
    });
  });

  item = this.RULE("item", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.importDecl) },
      { ALT: () => this.SUBRULE(this.constDecl) },
      { ALT: () => this.SUBRULE(this.estimatorDecl) },
      { ALT: () => this.SUBRULE(this.fnDecl) },
    ]);
  });

  importDecl = this.RULE("importDecl", () => {
    this.CONSUME(T.Import);
    this.CONSUME(T.LBrace);
    this.SUBRULE(this.importName);
    this.MANY({
      GATE: () => this.LA(2).tokenType !== T.RBrace,
      DEF: () => {
        this.CONSUME(T.Comma);
        this.SUBRULE2(this.importName);
      },
    });
    this.OPTION(() => this.CONSUME2(T.Comma));
    this.CONSUME(T.RBrace);
    this.CONSUME(T.From);
    this.CONSUME(T.StringLit);
  });

  importName = this.RULE("importName", () => {
    this.CONSUME(T.Ident);
    this.OPTION(() => {
      this.CONSUME(T.As);
      this.CONSUME2(T.Ident);
    });
  });

  constDecl = this.RULE("constDecl", () => {
    this.CONSUME(T.Const);
    this.CONSUME(T.Ident);
    this.CONSUME(T.Assign);
    this.SUBRULE(this.expression);
  });

  estimatorDecl = this.RULE("estimatorDecl", () => {
    this.CONSUME(T.Estimator);
    this.CONSUME(T.Ident);
    this.OPTION(() => {
      this.CONSUME(T.LParen);
      this.OPTION2(() => this.SUBRULE(this.paramList));
      this.CONSUME(T.RParen);
    });
    this.CONSUME(T.For);
    this.OPTION3(() => {
      this.CONSUME2(T.Ident, { LABEL: "outName" });
      this.CONSUME(T.Assign);
    });
    this.CONSUME3(T.Ident, { LABEL: "target" });
    this.CONSUME2(T.LParen);
    this.OPTION4(() => {
      this.CONSUME4(T.Ident, { LABEL: "input" });
      this.MANY(() => {
        this.CONSUME(T.Comma);
        this.CONSUME5(T.Ident, { LABEL: "input" });
      });
    });
    this.CONSUME2(T.RParen);
    this.SUBRULE(this.block);
  });

  fnDecl = this.RULE("fnDecl", () => {
    this.CONSUME(T.Fn);
    this.CONSUME(T.Ident);
    this.CONSUME(T.LParen);
    this.OPTION(() => this.SUBRULE(this.paramList));
    this.CONSUME(T.RParen);
    this.OPTION2(() => {
      this.CONSUME(T.Arrow);
      this.SUBRULE(this.resultType);
    });
    this.SUBRULE(this.block);
  });

  paramList = this.RULE("paramList", () => {
    this.SUBRULE(this.param);
    this.MANY({
      GATE: () => this.LA(2).tokenType !== T.RParen,
      DEF: () => {
        this.CONSUME(T.Comma);
        this.SUBRULE2(this.param);
      },
    });
    this.OPTION(() => this.CONSUME2(T.Comma));
  });

  param = this.RULE("param", () => {
    this.CONSUME(T.Ident);
    this.OPTION(() => {
      this.CONSUME(T.Colon);
      this.SUBRULE(this.typeExpr);
    });
    this.OPTION2(() => {
      this.CONSUME(T.Assign);
      this.SUBRULE(this.expression);
    });
  });

  // ---------------------------------------------------------------- types

  typeExpr = this.RULE("typeExpr", () => {
    this.OR([
      { ALT: () => this.CONSUME(T.F32) },
      { ALT: () => this.CONSUME(T.I32) },
      { ALT: () => this.CONSUME(T.Bool) },
    ]);
    this.OPTION(() => {
      this.CONSUME(T.LBracket);
      this.OPTION2(() => {
        this.SUBRULE(this.dim);
        this.MANY(() => {
          this.CONSUME(T.Comma);
          this.SUBRULE2(this.dim);
        });
      });
      this.CONSUME(T.RBracket);
    });
  });

  // Dim arithmetic in a type, `f32[B, C * H * W]`: `+ -` over `* /` over names, sizes and ( ).
  dim = this.RULE("dim", () => {
    this.SUBRULE(this.dimTerm, { LABEL: "operand" });
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(T.Plus, { LABEL: "operator" }) },
        { ALT: () => this.CONSUME(T.Minus, { LABEL: "operator" }) },
      ]);
      this.SUBRULE2(this.dimTerm, { LABEL: "operand" });
    });
  });

  dimTerm = this.RULE("dimTerm", () => {
    this.SUBRULE(this.dimAtom, { LABEL: "operand" });
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(T.Star, { LABEL: "operator" }) },
        { ALT: () => this.CONSUME(T.Slash, { LABEL: "operator" }) },
      ]);
      this.SUBRULE2(this.dimAtom, { LABEL: "operand" });
    });
  });

  dimAtom = this.RULE("dimAtom", () => {
    this.OR([
      { ALT: () => this.CONSUME(T.Ident) },
      { ALT: () => this.CONSUME(T.NumberLit) },
      {
        ALT: () => {
          this.CONSUME(T.Ellipsis);
          this.OPTION(() => this.CONSUME2(T.Ident));
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.LParen);
          this.SUBRULE(this.dim);
          this.CONSUME(T.RParen);
        },
      },
    ]);
  });

  resultType = this.RULE("resultType", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.typeExpr) },
      {
        ALT: () => {
          this.CONSUME(T.LParen);
          this.SUBRULE2(this.typeExpr);
          this.MANY(() => {
            this.CONSUME(T.Comma);
            this.SUBRULE3(this.typeExpr);
          });
          this.CONSUME(T.RParen);
        },
      },
    ]);
  });

  // ---------------------------------------------------------------- statements

  block = this.RULE("block", () => {
    this.CONSUME(T.LBrace);
    this.MANY(() => this.SUBRULE(this.statement));
    this.CONSUME(T.RBrace);
  });

  statement = this.RULE("statement", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.letStmt) },
      { ALT: () => this.SUBRULE(this.returnStmt) },
      { ALT: () => this.SUBRULE(this.gradStmt) },
      { ALT: () => this.SUBRULE(this.surrogateStmt) },
    ]);
  });

  letStmt = this.RULE("letStmt", () => {
    this.CONSUME(T.Let);
    this.OR([
      { ALT: () => this.CONSUME(T.Ident) },
      {
        ALT: () => {
          this.CONSUME(T.LParen);
          this.CONSUME2(T.Ident);
          this.MANY(() => {
            this.CONSUME(T.Comma);
            this.CONSUME3(T.Ident);
          });
          this.CONSUME(T.RParen);
        },
      },
    ]);
    this.CONSUME(T.Assign);
    this.SUBRULE(this.expression);
  });

  returnStmt = this.RULE("returnStmt", () => {
    this.CONSUME(T.Return);
    this.SUBRULE(this.expression);
  });

  gradStmt = this.RULE("gradStmt", () => {
    this.CONSUME(T.Grad);
    this.CONSUME(T.Ident);
    this.CONSUME(T.Assign);
    this.SUBRULE(this.expression);
  });

  surrogateStmt = this.RULE("surrogateStmt", () => {
    this.CONSUME(T.Surrogate);
    this.SUBRULE(this.expression);
  });

  // ---------------------------------------------------------------- expressions, loosest first

  /**
   * `c ? a : d ? b : e` is `c ? a : (d ? b : e)`; the chain of conditions after the first is a
   * loop, not a recursion (to-ast.ts folds it from the right), so a long else-chain costs no stack.
   */
  expression = this.RULE("expression", () => {
    this.SUBRULE(this.logicOr);
    this.MANY(() => {
      this.CONSUME(T.Question);
      this.SUBRULE(this.expression, { LABEL: "then" });
      this.CONSUME(T.Colon);
      this.SUBRULE2(this.logicOr, { LABEL: "else" });
    });
  });

  logicOr = this.RULE("logicOr", () => {
    this.SUBRULE(this.logicAnd, { LABEL: "operand" });
    this.MANY(() => {
      this.CONSUME(T.OrOr, { LABEL: "operator" });
      this.SUBRULE2(this.logicAnd, { LABEL: "operand" });
    });
  });

  logicAnd = this.RULE("logicAnd", () => {
    this.SUBRULE(this.equality, { LABEL: "operand" });
    this.MANY(() => {
      this.CONSUME(T.AndAnd, { LABEL: "operator" });
      this.SUBRULE2(this.equality, { LABEL: "operand" });
    });
  });

  equality = this.RULE("equality", () => {
    this.SUBRULE(this.relational, { LABEL: "operand" });
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(T.EqEq, { LABEL: "operator" }) },
        { ALT: () => this.CONSUME(T.NotEq, { LABEL: "operator" }) },
      ]);
      this.SUBRULE2(this.relational, { LABEL: "operand" });
    });
  });

  relational = this.RULE("relational", () => {
    this.SUBRULE(this.additive, { LABEL: "operand" });
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(T.LessEq, { LABEL: "operator" }) },
        { ALT: () => this.CONSUME(T.GreaterEq, { LABEL: "operator" }) },
        { ALT: () => this.CONSUME(T.Less, { LABEL: "operator" }) },
        { ALT: () => this.CONSUME(T.Greater, { LABEL: "operator" }) },
      ]);
      this.SUBRULE2(this.additive, { LABEL: "operand" });
    });
  });

  additive = this.RULE("additive", () => {
    this.SUBRULE(this.multiplicative, { LABEL: "operand" });
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(T.Plus, { LABEL: "operator" }) },
        { ALT: () => this.CONSUME(T.Minus, { LABEL: "operator" }) },
      ]);
      this.SUBRULE2(this.multiplicative, { LABEL: "operand" });
    });
  });

  multiplicative = this.RULE("multiplicative", () => {
    this.SUBRULE(this.unary, { LABEL: "operand" });
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(T.Star, { LABEL: "operator" }) },
        { ALT: () => this.CONSUME(T.Slash, { LABEL: "operator" }) },
        { ALT: () => this.CONSUME(T.Percent, { LABEL: "operator" }) },
        { ALT: () => this.CONSUME(T.At, { LABEL: "operator" }) },
      ]);
      this.SUBRULE2(this.unary, { LABEL: "operand" });
    });
  });

  /** `- ! - x`: the prefix operators are a loop (to-ast.ts nests them), not a recursion. */
  unary = this.RULE("unary", () => {
    this.MANY(() => this.prefixOperator());
    this.SUBRULE(this.power);
  });

  /**
   * `a ^ b ^ -c` is `a ^ (b ^ (-c))`: right-assoc, each exponent a unary expression. Written as a
   * loop over `^ -…- suffixed` (to-ast.ts folds it from the right), so a long chain costs no stack.
   */
  power = this.RULE("power", () => {
    this.SUBRULE(this.suffixed);
    this.MANY(() => {
      this.CONSUME(T.Caret);
      this.SUBRULE(this.exponent);
    });
  });

  exponent = this.RULE("exponent", () => {
    this.MANY(() => this.prefixOperator());
    this.SUBRULE(this.suffixed);
  });

  /** `-` or `!` before an operand, as a token labelled "operator" of the rule that calls this. */
  private prefixOperator(): void {
    this.OR([
      { ALT: () => this.CONSUME(T.Minus, { LABEL: "operator" }) },
      { ALT: () => this.CONSUME(T.Bang, { LABEL: "operator" }) },
    ]);
  }

  /** `backward E(args)` and `detach` bind looser than application, tighter than operators. */
  suffixed = this.RULE("suffixed", () => {
    this.SUBRULE(this.application);
    this.MANY(() => {
      this.OR([
        { ALT: () => this.SUBRULE(this.backwardSuffix) },
        { ALT: () => this.CONSUME(T.Detach) },
      ]);
    });
  });

  backwardSuffix = this.RULE("backwardSuffix", () => {
    this.CONSUME(T.Backward);
    this.CONSUME(T.Ident);
    this.OPTION(() => {
      this.CONSUME(T.LParen);
      this.OPTION2(() => this.SUBRULE(this.argList));
      this.CONSUME(T.RParen);
    });
  });

  /**
   * `sign x` (juxtaposition, right-nested: `sign abs x` is `sign(abs(x))`) or a postfix
   * expression. The callees are a loop (to-ast.ts nests them), not a recursion.
   */
  application = this.RULE("application", () => {
    this.MANY({
      GATE: () => juxtapositionStart.includes(this.LA(2).tokenType),
      DEF: () => this.CONSUME(T.Ident, { LABEL: "callee" }),
    });
    this.SUBRULE(this.postfix);
  });

  postfix = this.RULE("postfix", () => {
    this.SUBRULE(this.primary);
    this.MANY(() => {
      this.OR([
        { ALT: () => this.SUBRULE(this.callSuffix) },
        { ALT: () => this.SUBRULE(this.indexSuffix) },
      ]);
    });
  });

  callSuffix = this.RULE("callSuffix", () => {
    this.CONSUME(T.LParen);
    this.OPTION(() => this.SUBRULE(this.argList));
    this.CONSUME(T.RParen);
  });

  indexSuffix = this.RULE("indexSuffix", () => {
    this.CONSUME(T.LBracket);
    this.SUBRULE(this.indexItem);
    this.MANY(() => {
      this.CONSUME(T.Comma);
      this.SUBRULE2(this.indexItem);
    });
    this.CONSUME(T.RBracket);
  });

  // `e`, or a slice `start:end:step` with any part left out (`:`, `1:`, `:K`, `::2`).
  indexItem = this.RULE("indexItem", () => {
    this.OR([
      {
        ALT: () => {
          this.SUBRULE(this.expression, { LABEL: "start" });
          this.OPTION(() => this.SUBRULE(this.sliceTail));
        },
      },
      { ALT: () => this.SUBRULE2(this.sliceTail) },
    ]);
  });

  sliceTail = this.RULE("sliceTail", () => {
    this.CONSUME(T.Colon);
    this.OPTION(() => this.SUBRULE(this.expression, { LABEL: "end" }));
    this.OPTION2(() => {
      this.CONSUME2(T.Colon);
      this.OPTION3(() => this.SUBRULE2(this.expression, { LABEL: "step" }));
    });
  });

  argList = this.RULE("argList", () => {
    this.SUBRULE(this.arg);
    this.MANY({
      GATE: () => this.LA(2).tokenType !== T.RParen,
      DEF: () => {
        this.CONSUME(T.Comma);
        this.SUBRULE2(this.arg);
      },
    });
    this.OPTION(() => this.CONSUME2(T.Comma));
  });

  arg = this.RULE("arg", () => {
    this.OPTION({
      GATE: () => this.LA(2).tokenType === T.Assign,
      DEF: () => {
        this.CONSUME(T.Ident, { LABEL: "name" });
        this.CONSUME(T.Assign);
      },
    });
    this.SUBRULE(this.expression);
  });

  primary = this.RULE("primary", () => {
    this.OR([
      { ALT: () => this.CONSUME(T.NumberLit) },
      { ALT: () => this.CONSUME(T.True) },
      { ALT: () => this.CONSUME(T.False) },
      { ALT: () => this.CONSUME(T.Ident) },
      { ALT: () => this.SUBRULE(this.parenExpr) },
      { ALT: () => this.SUBRULE(this.listExpr) },
      { ALT: () => this.CONSUME(T.Nested) },
    ]);
  });

  /** `(e)` or a tuple `(a, b)`; `(a,)` is a one-element tuple. */
  parenExpr = this.RULE("parenExpr", () => {
    this.CONSUME(T.LParen);
    this.SUBRULE(this.expression);
    this.MANY({
      GATE: () => this.LA(2).tokenType !== T.RParen,
      DEF: () => {
        this.CONSUME(T.Comma);
        this.SUBRULE2(this.expression);
      },
    });
    this.OPTION(() => this.CONSUME2(T.Comma));
    this.CONSUME(T.RParen);
  });

  listExpr = this.RULE("listExpr", () => {
    this.CONSUME(T.LBracket);
    this.OPTION(() => {
      this.SUBRULE(this.expression);
      this.MANY({
        GATE: () => this.LA(2).tokenType !== T.RBracket,
        DEF: () => {
          this.CONSUME(T.Comma);
          this.SUBRULE2(this.expression);
        },
      });
      this.OPTION2(() => this.CONSUME2(T.Comma));
    });
    this.CONSUME(T.RBracket);
  });
}

/** One parser instance, reused: Chevrotain parsers are built once and fed new input. */
export const parser = new EstParser();
