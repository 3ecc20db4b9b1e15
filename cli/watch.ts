/**
 * `estc build --watch`: builds, then rebuilds whenever the entry file or any file it read changes
 * (its imports and the stdlib modules they pull in: every file of the build's SourceMap, derived
 * again after each build, so a new import is watched from the next build on). Each rebuild prints
 * one line with its time, or the diagnostics; a failed rebuild writes nothing, so the last good
 * output stays. The compiler stays loaded between builds, which is what makes a rebuild fast.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { buildFile, type BuildOptions, type BuildResult } from "../compiler/build.js";

/** Where a long-running command writes as it goes. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

/** What to build. */
export interface WatchTarget {
  entry: string;
  outDir: string;
  emit: "ts" | "js" | "torch";
  options: BuildOptions;
}

/** How often a watched file's modification time is polled (ms): polling survives editors' atomic saves. */
const POLL_MS = 100;
/** Changes closer together than this become one rebuild (an editor saving several files). */
const SETTLE_MS = 40;

/**
 * Builds `target` and rebuilds it on every change until `signal` aborts (Ctrl-C); `failed` turns a
 * build's diagnostics into the text printed for a failed build (undefined when it succeeded),
 * `warned` into the warnings printed above a successful one.
 */
export async function watchBuild(
  target: WatchTarget,
  io: CliIo,
  signal: AbortSignal,
  failed: (r: BuildResult) => string | undefined,
  warned: (r: BuildResult) => string,
): Promise<void> {
  const watched = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;

  const onChange = (curr: fs.Stats, prev: fs.Stats) => {
    if (curr.mtimeMs === prev.mtimeMs && curr.size === prev.size && curr.ino === prev.ino) return;
    clearTimeout(timer);
    timer = setTimeout(trigger, SETTLE_MS);
  };
  const watch = (files: string[]) => {
    const wanted = new Set(files.map((f) => path.resolve(f)));
    for (const f of watched) if (!wanted.has(f)) (fs.unwatchFile(f, onChange), watched.delete(f));
    for (const f of wanted) if (!watched.has(f)) (fs.watchFile(f, { interval: POLL_MS }, onChange), watched.add(f));
  };
  const once = async () => {
    const t0 = performance.now();
    let line: string;
    try {
      const r = await buildFile(target.entry, target.outDir, target.emit, undefined, target.options);
      const ms = Math.round(performance.now() - t0);
      const failure = failed(r);
      if (failure === undefined) {
        const warnings = warned(r);
        if (warnings !== "") io.stderr(warnings);
        io.stdout(`[${clock()}] built ${target.entry} in ${ms} ms: ${r.written.join(", ")}\n`);
      }
      else io.stderr(`${failure}[${clock()}] build failed in ${ms} ms; the last good output is kept. Waiting for changes…\n`);
      watch([target.entry, ...r.sources.paths()]);
      return;
    } catch (e) {
      line = `[${clock()}] estc: internal error — this is a bug in estc: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`;
    }
    io.stderr(line);
    watch([target.entry, ...watched]);
  };
  const trigger = () => {
    if (signal.aborted) return;
    if (running !== undefined) {
      again = true;
      return;
    }
    running = (async () => {
      do {
        again = false;
        await once();
      } while (again && !signal.aborted);
      running = undefined;
    })();
  };

  io.stdout(`[${clock()}] watching ${target.entry} and its imports (Ctrl-C to stop)\n`);
  trigger();
  await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener("abort", () => resolve(), { once: true })));
  clearTimeout(timer);
  for (const f of watched) fs.unwatchFile(f, onChange);
  await running;
  io.stdout(`[${clock()}] stopped watching\n`);
}

function clock(): string {
  return new Date().toTimeString().slice(0, 8);
}
