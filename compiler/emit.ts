/**
 * emit: writes a build's files all-or-nothing, whatever moment the process dies at.
 *
 *   1. stage    every file goes into OUT/.NAME.estc-build/ (created exclusively: it is also the
 *               lock against a concurrent build of NAME into OUT), each flushed to the disk;
 *   2. commit   the list of files to install (and stale outputs to remove) is written to
 *               COMMITTED.tmp, flushed, and renamed to COMMITTED — the single atomic step after
 *               which the build counts as done;
 *   3. install  each staged file is renamed over its target (.wgsl, .d.ts, then the module);
 *   4. clean    the staging folder is removed.
 *
 * A build that finds a staging folder whose owner is gone first recovers it: without COMMITTED it
 * is deleted (the previous outputs were never touched), with COMMITTED the install is finished.
 * So a killed build leaves the previous complete set, or — once the next build into that folder
 * has run — the new complete set; never a mix after that, and no temporaries.
 * `ESTC_TEST_KILL_AT=N` (tests only) SIGKILLs the process right after step N of a write.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { io, makeDirs, OutputError, processAlive, syncDir, writeDurably } from "./out-dir.js";

export { OutputError } from "./out-dir.js";

const COMMITTED = "COMMITTED";
const OWNER = "owner";

/** What a committed build installs and removes, as names inside the output folder. */
interface Manifest {
  install: string[];
  remove: string[];
}

/** The staging folder of `name`'s build in `outDir`. */
export function stagingDir(outDir: string, name: string): string {
  return path.join(outDir, `.${name}.estc-build`);
}

/**
 * Writes `files` (names inside `outDir` → text) as one set, and removes each of `stale` that estc
 * generated (an output of the other `--emit` mode). Throws an OutputError naming the path and the
 * reason when the file system refuses; the previous outputs are then left as they were.
 */
export function writeOutputs(outDir: string, name: string, files: Record<string, string>, stale: string[] = []): void {
  const step = killSwitch();
  makeDirs(outDir);
  const staging = stagingDir(outDir, name);
  acquire(outDir, name, staging);
  step();
  let committed = false;
  try {
    writeDurably(path.join(staging, OWNER), `${process.pid}\n`);
    step();
    for (const [file, text] of Object.entries(files)) {
      writeDurably(path.join(staging, file), text);
      step();
    }
    const manifest: Manifest = { install: installOrder(Object.keys(files)), remove: stale.filter((f) => generatedByEstc(path.join(outDir, f))) };
    writeDurably(path.join(staging, `${COMMITTED}.tmp`), JSON.stringify(manifest));
    syncDir(staging);
    step();
    io("cannot write", path.join(staging, COMMITTED), () => fs.renameSync(path.join(staging, `${COMMITTED}.tmp`), path.join(staging, COMMITTED)));
    syncDir(staging);
    committed = true;
    step();
    install(outDir, staging, manifest, step);
  } catch (e) {
    // Before the commit the old outputs are untouched: drop the staging folder. After it, leave
    // the folder for the next build to finish the install.
    if (!committed) fs.rmSync(staging, { recursive: true, force: true });
    throw e;
  }
}

/**
 * writeOutputs for files given by absolute path, all in one folder (`estc plot`'s SVGs); `name`
 * names the set's staging folder.
 */
export function writeAtomically(files: Record<string, string>, name = "estc-output"): void {
  const dirs = new Set(Object.keys(files).map((f) => path.dirname(f)));
  if (dirs.size === 0) return; // nothing to write (estc fmt on formatted files)
  if (dirs.size !== 1) throw new Error(`writeAtomically: files in ${dirs.size} folders; one set lives in one folder`);
  const [dir] = dirs;
  writeOutputs(dir!, name, Object.fromEntries(Object.entries(files).map(([f, t]) => [path.basename(f), t])));
}

/** Finishes or rolls back what a killed build of `name` left in `outDir`, and removes its temporaries. */
export function recoverOutputs(outDir: string, name: string): void {
  const staging = stagingDir(outDir, name);
  const manifest = readManifest(staging);
  if (manifest !== undefined) install(outDir, staging, manifest, () => {});
  else io("cannot remove", staging, () => fs.rmSync(staging, { recursive: true, force: true }));
  removeLegacyTemporaries(outDir, name);
}

/** Takes the staging folder as a lock; a stale one (its build was killed) is recovered first. */
function acquire(outDir: string, name: string, staging: string): void {
  for (let attempt = 0; attempt < 2; attempt++) {
    const created = io("cannot create folder", staging, () => {
      try {
        fs.mkdirSync(staging);
        return true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
        throw e;
      }
    });
    if (created) {
      removeLegacyTemporaries(outDir, name);
      return;
    }
    const owner = Number.parseInt(readText(path.join(staging, OWNER)) ?? "", 10);
    if (owner !== process.pid && processAlive(owner)) {
      throw new OutputError("cannot write", path.join(outDir, name), `another estc build (process ${owner}) is writing it now; wait for it, or remove ${staging} if no build is running`);
    }
    recoverOutputs(outDir, name);
  }
  throw new OutputError("cannot create folder", staging, "it reappeared while an earlier build's leftovers were being removed");
}

/** Renames each staged file over its target, removes the stale outputs, then the staging folder. */
function install(outDir: string, staging: string, manifest: Manifest, step: () => void): void {
  for (const file of manifest.install) {
    const from = path.join(staging, file);
    // Already moved by an earlier, interrupted install.
    if (!fs.existsSync(from)) continue;
    io("cannot replace", path.join(outDir, file), () => fs.renameSync(from, path.join(outDir, file)));
    step();
  }
  for (const file of manifest.remove) {
    io("cannot remove", path.join(outDir, file), () => fs.rmSync(path.join(outDir, file), { force: true }));
    step();
  }
  syncDir(outDir);
  io("cannot remove", staging, () => fs.rmSync(staging, { recursive: true, force: true }));
  syncDir(outDir);
  step();
}

/** The module last: a reader that sees the new module also sees its types and WGSL listing. */
function installOrder(files: string[]): string[] {
  // The WGSL sibling first: the module imports it.
  const rank = (f: string) => (/\.wgsl(\.[jt]s)?$/.test(f) ? 0 : f.endsWith(".d.ts") ? 1 : 2);
  return [...files].sort((a, b) => rank(a) - rank(b));
}

function readManifest(staging: string): Manifest | undefined {
  const text = readText(path.join(staging, COMMITTED));
  if (text === undefined) return undefined;
  const m = JSON.parse(text) as Manifest;
  // Names only: a manifest can never move a file out of (or into) another folder.
  const plain = (f: unknown) => typeof f === "string" && f !== "" && path.basename(f) === f && f !== "." && f !== "..";
  if (!Array.isArray(m.install) || !Array.isArray(m.remove) || !m.install.every(plain) || !m.remove.every(plain)) {
    throw new OutputError("cannot recover", staging, `${COMMITTED} is not a list of file names; remove the folder`);
  }
  return m;
}

/** The `NAME.ts.tmp-PID-N` files of estc versions that renamed one file at a time. */
function removeLegacyTemporaries(outDir: string, name: string): void {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const legacy = new RegExp(`^${escaped}\\.(ts|js|d\\.ts|wgsl)\\.tmp-\\d+-\\d+$`);
  for (const f of io("cannot list", outDir, () => fs.readdirSync(outDir))) {
    if (legacy.test(f)) io("cannot remove", path.join(outDir, f), () => fs.rmSync(path.join(outDir, f), { force: true }));
  }
}

function generatedByEstc(file: string): boolean {
  return readText(file)?.startsWith("// generated by estc from") === true;
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

/** Step counter for the kill tests: SIGKILLs this process right after step ESTC_TEST_KILL_AT. */
function killSwitch(): () => void {
  const at = Number(process.env["ESTC_TEST_KILL_AT"] ?? "0");
  let n = 0;
  return () => {
    n++;
    if (n === at) process.kill(process.pid, "SIGKILL");
  };
}
