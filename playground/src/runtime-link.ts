/**
 * estc/runtime for modules generated in the page. A generated module imports `estc/runtime`;
 * it must get the page's own runtime instance (one Tensor class, one device), not a second copy.
 * So the page imports the runtime once, and a Blob-URL module re-exports its bindings; that URL
 * is what ./lab/link-module.ts substitutes for the `estc/runtime` specifier.
 */
type Runtime = typeof import("../../runtime/index.js");

/** The page's runtime and a module URL that re-exports it. */
export interface LinkedRuntime {
  runtime: Runtime;
  runtimeUrl: string;
}

const GLOBAL = "__estcPlaygroundRuntime";

/** Imports the runtime (a separate chunk, so the editor does not wait for it) and links it. */
export async function linkRuntime(): Promise<LinkedRuntime> {
  const runtime = await import("../../runtime/index.js");
  (globalThis as Record<string, unknown>)[GLOBAL] = runtime;
  const names = Object.keys(runtime).filter((n) => /^[A-Za-z_$][\w$]*$/.test(n) && n !== "default");
  const text = `const r = globalThis[${JSON.stringify(GLOBAL)}];\n${names.map((n) => `export const ${n} = r.${n};`).join("\n")}\n`;
  return { runtime, runtimeUrl: URL.createObjectURL(new Blob([text], { type: "text/javascript" })) };
}
