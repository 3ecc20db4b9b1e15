/**
 * Imports a Node module (`webgpu`, `node:fs`, `node:worker_threads`) by a name no bundler can
 * see. A specifier held in a local constant is not enough: Vite's bundler (rolldown) folds
 * `const id = "node:fs"; import(id)` into `import("node:fs")` and resolves it, and webpack fails
 * on a literal `import("webgpu")` where the optional package is not installed. The name is this
 * function's parameter, so the one `import()` here has no value a bundler can resolve; the
 * comments keep Vite and webpack from warning about it. Node-only code calls it, never a browser.
 */
export function importNodeModule(id: string): Promise<unknown> {
  return import(/* @vite-ignore */ /* webpackIgnore: true */ id);
}
