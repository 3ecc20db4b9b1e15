/**
 * Keeps Dawn's start-up warnings off the user's stderr. Dawn's native logger writes "Warning:"
 * lines ("Couldn't load Vulkan", "maxDynamicUniformBuffersPerPipelineLayout artificially reduced")
 * with fprintf(stderr) whenever an instance enumerates adapters, and neither Dawn nor its Node
 * bindings offer a log level or callback to stop it. So, in Node, file descriptor 2 points at
 * /dev/null for the synchronous part of the calls that enumerate (creating an instance,
 * requestAdapter, requestDevice) and is restored before anything else runs.
 *
 * Node has no dup2, so fd 2 is restored by reopening what it was: on macOS /dev/fd/2 is a
 * duplicate (exact), on Linux /proc/self/fd/2 a new open of the same file — exact for a terminal
 * or a pipe, which have no file offset, but not for a regular file (`2> log`: the reopened fd
 * would not share the offset other processes write at) or a socket (cannot be reopened), where
 * stderr is left alone. `ESTC_DEBUG` (any non-empty value) leaves stderr alone everywhere, to
 * see what Dawn and the driver say.
 */

import { importNodeModule } from "../node-import.js";

/** Runs `call` with native writes to stderr discarded; what it returns is returned untouched. */
export type Quiet = <T>(call: () => T) => T;

interface Fs {
  openSync(path: string, flags: number | string): number;
  closeSync(fd: number): void;
  fstatSync(fd: number): { isFIFO(): boolean; isCharacterDevice(): boolean };
  constants: { O_WRONLY: number; O_APPEND: number };
}

const loud: Quiet = (call) => call();

/**
 * The silencer for this process: `loud` (no change) with ESTC_DEBUG set, on Windows, and on Linux
 * when stderr is not a terminal or a pipe; else one that swaps fd 2 for /dev/null around each call.
 */
export async function stderrSilencer(): Promise<Quiet> {
  if (process.env["ESTC_DEBUG"] || (process.platform !== "linux" && process.platform !== "darwin")) return loud;
  const fs = (await importNodeModule("node:fs")) as Fs; // by a name bundlers cannot resolve

  // Linux reopens the file behind fd 2 from /proc; macOS's /dev/fd/N duplicates the descriptor.
  const self = process.platform === "linux" ? "/proc/self/fd" : "/dev/fd";
  return (call) => {
    if (process.platform === "linux" && !reopensExactly(fs)) return call();
    let saved: number;
    try {
      saved = fs.openSync(`${self}/2`, fs.constants.O_WRONLY | fs.constants.O_APPEND);
    } catch {
      return call(); // no /proc, or fd 2 closed: leave it as it is
    }
    // POSIX open() returns the lowest free descriptor, so after close(2) /dev/null becomes fd 2
    // (Node offers no dup2). Only another thread opening a file in between could take fd 2
    // first; then stderr is that thread's now, and the best left is to leave fd 2 alone.
    fs.closeSync(2);
    const devNull = fs.openSync("/dev/null", "w");
    if (devNull !== 2) {
      fs.closeSync(devNull);
      fs.closeSync(saved);
      return call();
    }
    try {
      return call();
    } finally {
      fs.closeSync(2);
      const restored = fs.openSync(`${self}/${saved}`, fs.constants.O_WRONLY | fs.constants.O_APPEND);
      fs.closeSync(saved);
      if (restored !== 2) fs.closeSync(restored);
    }
  };
}

/** Whether reopening fd 2 from /proc gives back the same stream: a terminal or a pipe. */
function reopensExactly(fs: Fs): boolean {
  try {
    const stat = fs.fstatSync(2);
    return stat.isFIFO() || stat.isCharacterDevice();
  } catch {
    return false;
  }
}
