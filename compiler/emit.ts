/**
 * emit: writes a build's files atomically. Every file goes to a temporary name beside its
 * target first; only when all are written are they renamed into place, so a failed build
 * leaves no partial output.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** Writes `files` (path → text) all-or-nothing. Throws the first I/O error after cleaning up. */
export function writeAtomically(files: Record<string, string>): void {
  const temps: [string, string][] = [];
  try {
    for (const [target, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(target), { recursive: true });
      const tmp = `${target}.tmp-${process.pid}-${temps.length}`;
      fs.writeFileSync(tmp, text);
      temps.push([tmp, target]);
    }
  } catch (e) {
    for (const [tmp] of temps) fs.rmSync(tmp, { force: true });
    throw e;
  }
  for (const [tmp, target] of temps) fs.renameSync(tmp, target);
}
