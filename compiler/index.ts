/** The estc compiler API. */
export * from "./diagnostics.js";
