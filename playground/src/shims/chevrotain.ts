/**
 * grammar/chevrotain.ts for the browser bundle (aliased in ../../vite.config.ts): the Node file
 * finds chevrotain's single-file build on disk to load faster; vite bundles the package itself.
 */
export { createToken, createTokenInstance, CstParser, EOF, Lexer } from "chevrotain";
