/**
 * The stdlib's `.est` modules, bundled into the page as text by vite (import.meta.glob with
 * `?raw`), so the compiler in the worker and the stdlib browser need no network once loaded.
 */
const files = import.meta.glob("../../stdlib/std/**/*.est", { query: "?raw", import: "default", eager: true }) as Record<string, string>;

/** Module id (`std/binary`) → source text, sorted by id. */
export const stdlibModules: ReadonlyMap<string, string> = new Map(
  Object.entries(files)
    .map(([key, text]): [string, string] => [key.slice(key.indexOf("/std/") + 1, -".est".length), text])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
);
