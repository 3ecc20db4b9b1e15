/**
 * The rule for module paths in `import … from "PATH"`, checked before any file is touched, so an
 * import can name only a stdlib module or a `.est` file, and `std/…` never leaves the stdlib:
 *
 *   PATH     = "std/" NAMES | "./" NAMES | ("../")+ NAMES
 *   NAMES    = NAME ("/" NAME)*        a trailing ".est" is optional and added when missing
 *   NAME     = one or more characters other than "/", "\", control characters; not "." or ".."
 *
 * Absolute paths, drive letters, backslashes, NUL and other control characters, empty names
 * (`std/`, `./`, `a//b`) and `.`/`..` anywhere but the leading `./`/`../` run are E2006.
 */

/** A module path that follows the rule, normalised: no `.est` suffix, segments split. */
export type ModulePath =
  | { kind: "std"; /** `std/binary`: the module id */ id: string }
  | { kind: "relative"; /** how many leading `../` (0 for `./`) */ up: number; /** the names after them */ names: string[] };

/** Why a module path breaks the rule: the E2006 message and hint. */
export interface ModulePathError {
  message: string;
  hint: string;
}

/** Parses `spec` by the rule above; an error says which part breaks it. */
export function parseModulePath(spec: string): ModulePath | ModulePathError {
  const shown = quote(spec);
  if (spec === "") return { message: "empty module path", hint: 'name a stdlib module ("std/binary") or a file ("./rules")' };
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(spec)) {
    return { message: `module path ${shown} contains a control character`, hint: "module paths are plain file names; retype the path" };
  }
  if (spec.includes("\\")) return { message: `module path ${shown} contains a backslash`, hint: 'separate folders with "/" on every system' };
  if (spec.startsWith("/") || /^[A-Za-z]:/.test(spec)) {
    return { message: `module path ${shown} is absolute`, hint: 'module paths are relative to the importing file: write "./…" or "../…"' };
  }
  const parts = spec.split("/");
  let kind: "std" | "relative";
  let up = 0;
  let i: number;
  if (parts[0] === "std") {
    kind = "std";
    i = 1;
  } else if (parts[0] === "." || parts[0] === "..") {
    kind = "relative";
    i = parts[0] === "." ? 1 : 0;
    while (parts[i] === "..") {
      up++;
      i++;
    }
  } else {
    return { message: `module path ${shown} must start with "std/", "./" or "../"`, hint: `for a file beside this one write "./${spec}"` };
  }
  const names = parts.slice(i);
  if (names.length === 0 || names.every((n) => n === "")) {
    const example = kind === "std" ? "std/binary" : up === 0 ? "./rules" : `${"../".repeat(up)}rules`;
    return { message: `module path ${shown} names no module`, hint: `add the ${kind === "std" ? "module" : "file"} name: "${example}"` };
  }
  const bad = names.find((n) => n === "" || n === "." || n === "..");
  if (bad !== undefined) {
    const why = bad === "" ? "an empty folder name (`//` or a trailing `/`)" : `a \`${bad}\` after the start`;
    const hint = kind === "std" ? 'stdlib paths are "std/NAME"; write the stdlib module\'s name' : 'write "./…" or "../…" once, at the start, followed by folder and file names';
    return { message: `module path ${shown} has ${why}`, hint };
  }
  const last = names.length - 1;
  if (names[last]!.endsWith(".est")) names[last] = names[last]!.slice(0, -4);
  if (names[last] === "") return { message: `module path ${shown} names no module`, hint: 'write the file name before ".est"' };
  return kind === "std" ? { kind, id: `std/${names.join("/")}` } : { kind, up, names };
}

/** `spec` in double quotes as written, with control characters as `\u` escapes. */
export function quote(spec: string): string {
  // eslint-disable-next-line no-control-regex
  return `"${spec.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)}"`;
}

/** True when `p` is a parse error rather than a module path. */
export function isModulePathError(p: ModulePath | ModulePathError): p is ModulePathError {
  return "message" in p;
}
