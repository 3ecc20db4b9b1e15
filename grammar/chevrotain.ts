/**
 * Chevrotain's runtime values, loaded from the single-file build the package ships
 * (`lib/chevrotain.mjs`) rather than from its entry point, which imports some 700 small modules
 * (lodash-es and chevrotain's own): 0.1 s to load instead of 0.4–0.8 s, most of a cold
 * `estc check`. Falls back to the entry point if the file is not where this version keeps it.
 * Types still come from "chevrotain" (they are erased).
 */
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import { pathToFileURL } from "node:url";

type Chevrotain = typeof import("chevrotain");

async function load(): Promise<Chevrotain> {
  try {
    const entry = createRequire(import.meta.url).resolve("chevrotain");
    const bundle = path.join(entry.slice(0, entry.lastIndexOf(`${path.sep}lib${path.sep}`)), "lib", "chevrotain.mjs");
    if (fs.existsSync(bundle)) return (await import(pathToFileURL(bundle).href)) as Chevrotain;
  } catch {
    // fall through to the package's entry point
  }
  return import("chevrotain");
}

const chevrotain = await load();

/** Chevrotain's values the grammar uses. */
export const { createToken, createTokenInstance, CstParser, EOF, Lexer } = chevrotain;
