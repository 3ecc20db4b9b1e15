/**
 * A POSIX `node:path` for the browser bundle (aliased in ../../vite.config.ts): the compiler
 * joins and relativises module paths with it, and in the page every path is a POSIX path of the
 * in-memory host (/playground/main.est, /stdlib/std/binary.est). Only what the compiler calls.
 */

/** The separator of every path the in-memory host uses. */
export const sep = "/";

/** Whether `p` starts at the root. */
export function isAbsolute(p: string): boolean {
  return p.startsWith("/");
}

/** `.` and `..` segments resolved, repeated separators collapsed; "." for an empty relative path. */
export function normalize(p: string): string {
  const abs = isAbsolute(p);
  const out: string[] = [];
  for (const seg of p.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!abs) out.push("..");
    } else out.push(seg);
  }
  const body = out.join("/");
  return abs ? `/${body}` : body === "" ? "." : body;
}

/** The segments joined with `/` and normalised. */
export function join(...parts: string[]): string {
  const nonEmpty = parts.filter((p) => p !== "");
  return nonEmpty.length === 0 ? "." : normalize(nonEmpty.join("/"));
}

/** The absolute path of the segments, resolved right to left against the root (there is no cwd). */
export function resolve(...parts: string[]): string {
  let joined = "";
  for (let i = parts.length - 1; i >= 0 && !isAbsolute(joined); i--) {
    if (parts[i] !== "") joined = joined === "" ? parts[i]! : `${parts[i]}/${joined}`;
  }
  return normalize(isAbsolute(joined) ? joined : `/${joined}`);
}

/** Everything before the last segment. */
export function dirname(p: string): string {
  const n = normalize(p);
  const i = n.lastIndexOf("/");
  if (i < 0) return ".";
  return i === 0 ? "/" : n.slice(0, i);
}

/** The last segment, without `ext` when it ends with it. */
export function basename(p: string, ext?: string): string {
  const base = normalize(p).split("/").pop() ?? "";
  return ext !== undefined && base.endsWith(ext) && base !== ext ? base.slice(0, -ext.length) : base;
}

/** The path from `from` to `to`, both resolved. */
export function relative(from: string, to: string): string {
  const a = resolve(from).split("/").filter(Boolean);
  const b = resolve(to).split("/").filter(Boolean);
  let common = 0;
  while (common < a.length && common < b.length && a[common] === b[common]) common++;
  return [...Array<string>(a.length - common).fill(".."), ...b.slice(common)].join("/");
}

/** The extension of the last segment, with its dot. */
export function extname(p: string): string {
  const base = basename(p);
  const i = base.lastIndexOf(".");
  return i <= 0 ? "" : base.slice(i);
}

/** The module as a namespace too, for `import path from "node:path"`. */
export const posix = { sep, isAbsolute, normalize, join, resolve, dirname, basename, relative, extname };
export default posix;
