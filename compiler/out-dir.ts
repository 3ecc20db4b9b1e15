/**
 * File-system steps of `estc build`'s output, each turning an OS error into an OutputError that
 * names the path and the reason, so the CLI reports it as a diagnostic (E5020) and never as an
 * internal error.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { ioReason } from "./io-reason.js";

/** A file-system failure while writing a build's output: what was being done, to which path, and why. */
export class OutputError extends Error {
  constructor(
    readonly action: string,
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${action} ${path}: ${reason}`);
    this.name = "OutputError";
  }
}

/** Runs `f`, turning a file-system error into an OutputError about `action` on `p`. */
export function io<T>(action: string, p: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof OutputError) throw e;
    if ((e as NodeJS.ErrnoException).code === undefined) throw e;
    throw new OutputError(action, p, ioReason(e));
  }
}

/**
 * Creates `dir` and its missing parents one level at a time, top down. Node's own
 * `mkdirSync(…, { recursive: true })` loops forever where a file system answers ENOENT for a
 * folder whose parent exists (`/proc/sys/nope`): it retries the parent, which exists, then the
 * child again. Here each level is tried once.
 */
export function makeDirs(dir: string): void {
  const missing: string[] = [];
  let p = path.resolve(dir);
  for (;;) {
    const st = statOrUndefined(p);
    if (st !== undefined) {
      if (!st.isDirectory()) throw new OutputError("cannot create folder", dir, p === path.resolve(dir) ? "a file is in the way (not a folder)" : `${p} is a file, not a folder`);
      break;
    }
    missing.push(p);
    const parent = path.dirname(p);
    if (parent === p) break;
    p = parent;
  }
  for (const m of missing.reverse()) {
    io("cannot create folder", m, () => {
      try {
        fs.mkdirSync(m);
      } catch (e) {
        // Another process may have made it meanwhile; only a folder will do.
        if ((e as NodeJS.ErrnoException).code !== "EEXIST" || statOrUndefined(m)?.isDirectory() !== true) throw e;
      }
    });
  }
}

function statOrUndefined(p: string): fs.Stats | undefined {
  try {
    return fs.statSync(p);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // ENOTDIR: a parent is a file; the walk up reaches it and says so.
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw new OutputError("cannot use", p, ioReason(e));
  }
}

/** Writes `text` to `file` (new or truncated) and flushes it to the disk before returning. */
export function writeDurably(file: string, text: string): void {
  io("cannot write", file, () => {
    const fd = fs.openSync(file, "w");
    try {
      fs.writeSync(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  });
}

/** Flushes a folder's entries (a rename inside it) to the disk; a no-op where folders cannot be opened. */
export function syncDir(dir: string): void {
  let fd: number;
  try {
    fd = fs.openSync(dir, "r");
  } catch {
    return; // Windows cannot open a folder; its renames are journaled by NTFS.
  }
  try {
    fs.fsyncSync(fd);
  } catch {
    // Some file systems (and Windows) refuse fsync on a folder; there is nothing more to flush.
  } finally {
    fs.closeSync(fd);
  }
}

/** Whether a process with this id is running (a signal-0 probe; EPERM means it runs as another user). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
