/**
 * Turns a generated module's JS text (from the worker) into a live ES module in the page, linked
 * to the runtime the page already imported: `estc/runtime` is rewritten to that runtime's URL (so
 * the module and the training loop share one module instance, one Tensor class) and the lazy
 * `import("./NAME.wgsl.js")` to a URL of the WGSL sibling. No import map, no network.
 */

/** Makes an importable URL for a module's text (a Blob URL in the page; tests pass their own). */
export type ModuleUrlMaker = (text: string) => string;

/** A Blob URL holding `text` as JavaScript. */
export const blobModuleUrl: ModuleUrlMaker = (text) => URL.createObjectURL(new Blob([text], { type: "text/javascript" }));

/**
 * The module text with its imports pointed at `runtimeUrl` and, when given, its WGSL sibling
 * `./NAME.wgsl.js` at `wgslUrl`. Only import specifiers are rewritten (`from "estc/runtime"`,
 * `import("./NAME.wgsl.js")`); a string in a comment or a kernel is left alone.
 */
export function linkModuleText(js: string, name: string, runtimeUrl: string, wgslUrl?: string): string {
  const runtime = JSON.stringify(runtimeUrl);
  let out = js.replace(/(\bfrom\s*)"estc\/runtime"/g, `$1${runtime}`);
  if (wgslUrl !== undefined) out = out.split(`import(${JSON.stringify(`./${name}.wgsl.js`)})`).join(`import(${JSON.stringify(wgslUrl)})`);
  return out;
}

/**
 * Imports the generated module `name` (its JS and WGSL sibling texts) linked to `runtimeUrl`, the
 * URL the page imported `estc/runtime` from. Returns the module's namespace (its exported fns).
 */
export async function importGeneratedModule(js: string, wgslJs: string, name: string, runtimeUrl: string, makeUrl: ModuleUrlMaker = blobModuleUrl): Promise<Record<string, unknown>> {
  const wgslUrl = makeUrl(linkModuleText(wgslJs, name, runtimeUrl));
  const linked = linkModuleText(js, name, runtimeUrl, wgslUrl);
  // A loader left pointing at ./NAME.wgsl.js would fail only at the first WebGPU call, far from here.
  if (linked.includes(`./${name}.wgsl.js"`)) throw new Error(`the generated module imports ./${name}.wgsl.js in an unexpected form; its WebGPU kernels could not be linked`);
  const url = makeUrl(linked);
  return (await import(/* @vite-ignore */ url)) as Record<string, unknown>;
}
