/** The estc compiler API. */
export * from "./diagnostics.js";
export * from "./pipeline.js";
export * from "./render.js";
export { SourceMap, SourceText } from "./source.js";
export { parse } from "../grammar/index.js";
export type * as ast from "../grammar/ast.js";
