/** Test helper: makes sure dist/ (what bin/estc.js and child processes run) is newer than the sources. */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

/** The repository root. */
export const repoRoot = path.resolve(import.meta.dirname, "../..");

function newest(dir: string): number {
  let t = 0;
  if (!fs.existsSync(dir)) return t;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newest(full));
    else if (e.name.endsWith(".ts")) t = Math.max(t, fs.statSync(full).mtimeMs);
  }
  return t;
}

/** Runs `tsc -p tsconfig.build.json` when dist/ is missing or older than any source file. */
export function ensureDist(): void {
  const built = path.join(repoRoot, "dist/cli/main.js");
  const sources = Math.max(...["cli", "compiler", "grammar", "runtime"].map((d) => newest(path.join(repoRoot, d))));
  if (fs.existsSync(built) && fs.statSync(built).mtimeMs >= sources) return;
  const tsc = spawnSync(process.execPath, [path.join(repoRoot, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], { cwd: repoRoot, encoding: "utf8" });
  if (tsc.status !== 0) throw new Error(`npm run build failed:\n${tsc.stdout}${tsc.stderr}`);
}
