/**
 * The repository's own `.est` files, for the tests that run over all of them (formatter, TextMate
 * grammar, parser round trip, fuzz seeds, `--emit torch`). Scratch and generated folders are left
 * out: other test files write `.est` files and build folders under tests/.tmp while these run, and
 * a walk that found them raced with their writers (a folder named `x.est` read as a file).
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** The repository root. */
export const repoRoot = path.resolve(import.meta.dirname, "..", "..");

/** Folders never walked: dependencies, scratch, and build output. */
const skipped = new Set(["node_modules", ".tmp", "out", "dist", ".build"]);

/** Every `.est` file (regular files only) under the repository-relative `dirs`, as sorted repository-relative paths with `/`. */
export function repoEstFiles(dirs: readonly string[] = ["stdlib", "examples", "tests", "bench"]): string[] {
  const walk = (rel: string): string[] =>
    fs
      .readdirSync(path.join(repoRoot, rel), { withFileTypes: true })
      .flatMap((e) =>
        e.isDirectory() ? (skipped.has(e.name) || e.name.startsWith(".") ? [] : walk(`${rel}/${e.name}`)) : e.isFile() && e.name.endsWith(".est") ? [`${rel}/${e.name}`] : [],
      );
  return dirs.flatMap(walk).sort();
}
