/**
 * The compiler's CompilerHost in the browser: the editor's program is one file,
 * /playground/main.est, and the stdlib is the bundled text under /stdlib/std/. Diagnostics name
 * files relative to /playground, so the program reads `main.est` in them, as on the command line.
 */
import type { CompilerHost } from "../../compiler/resolve.js";
import { stdlibModules } from "./stdlib.js";

/** The folder diagnostics are relative to. */
export const CWD = "/playground";
/** The editor's file as the compiler sees it. */
export const MAIN_FILE = `${CWD}/main.est`;
/**
 * Where the stdlib's `std/…` modules live in the in-memory file system: inside the working folder,
 * so their names read `stdlib/std/binary.est` in comments and diagnostics, as in this repository.
 */
export const STDLIB_DIR = `${CWD}/stdlib`;

/** An in-memory host whose main file's text is whatever `text()` returns at the time it is read. */
export function playgroundHost(text: () => string): CompilerHost {
  return {
    readFile: (abs) => {
      if (abs === MAIN_FILE) return text();
      if (abs.startsWith(`${STDLIB_DIR}/std/`) && abs.endsWith(".est")) return stdlibModules.get(abs.slice(STDLIB_DIR.length + 1, -".est".length));
      return undefined;
    },
    whyUnreadable: () => "the playground has one file, main.est, and the stdlib",
    stdlibDir: STDLIB_DIR,
    cwd: CWD,
    stdlibModules: () => [...stdlibModules.keys()],
  };
}

/** The name a diagnostic's file is shown under: `main.est`, or `std/binary.est` for the stdlib. */
export function displayFile(file: string): string {
  const i = file.indexOf("stdlib/std/");
  return i >= 0 ? file.slice(i + "stdlib/".length) : file;
}
