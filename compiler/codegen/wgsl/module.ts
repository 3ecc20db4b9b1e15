/**
 * The WGSL half of a generated module, printed as a sibling module (`NAME.wgsl.js`/`.wgsl.ts`)
 * that the main module imports with `import()` the first time a fn runs on a WebGPU device: CPU
 * users never load it, and a bundler splits it into its own chunk. A dynamic import of a relative
 * module is the one form that works unchanged in Node, in browsers and in every bundler (a JSON or
 * `.wgsl` asset would need `fs` in Node and `fetch` in browsers). Each shader is written once, as
 * a template literal under the `.est` line it came from (and once per module: fns that share a
 * kernel share its const); a vec4 kernel's unguarded form is derived
 * from it at load time (`withoutBoundsGuard`) instead of being stored twice.
 */
import { withoutBoundsGuard, type WgslKernel } from "../../../runtime/plan.js";
import { printLiteral, Code, type Literal } from "../literal.js";
import { importLine, PRINT_WIDTH } from "../module-text.js";

/** One fn's WGSL kernels, with the comment (source line, binding note) above each. */
export interface FnWgsl {
  fn: string;
  kernels: { kernel: WgslKernel; comment: string }[];
}

/** The sibling module's text; `js` leaves out the `WgslKernel[]` annotations. */
export function wgslModule(header: string, fns: FnWgsl[], js: boolean): string {
  const consts: string[] = [];
  // Shader text → the const holding it: fns that inline the same code (a loss calling a layer)
  // share their kernels' shaders.
  const named = new Map<string, string>();
  const shader = (name: string, code: string, comment: string): Code => {
    const known = named.get(code);
    if (known !== undefined) return new Code(known);
    named.set(code, name);
    consts.push(`${comment}const ${name} = ${template(code)};\n`);
    return new Code(name);
  };
  let derives = false;
  const exports = fns.map(({ fn, kernels }) => {
    const entries = kernels.map(({ kernel: k, comment }) => {
      const code = shader(k.name, k.code, comment);
      const entry: { [key: string]: Literal } = { name: k.name, code };
      if (k.unguarded !== undefined) {
        // Derived when the runtime's rule gives exactly the generated text; stored otherwise.
        const derived = withoutBoundsGuard(k.code) === k.unguarded;
        derives ||= derived;
        entry["unguarded"] = derived ? new Code(`withoutBoundsGuard(${code.text})`) : k.unguarded;
      }
      entry["workgroupSize"] = k.workgroupSize;
      entry["invocations"] = plain(k.invocations);
      if (k.reduce !== undefined) {
        const reduce: { [key: string]: Literal } = { extent: plain(k.reduce.extent) };
        for (const form of ["partial", "final", "serial"] as const) {
          const text = k.reduce[form];
          if (text !== undefined) reduce[form] = shader(`${k.name}_${form}`, text, "");
        }
        entry["reduce"] = reduce;
      }
      if (k.matmul !== undefined) entry["matmul"] = plain(k.matmul);
      if (k.conv !== undefined) entry["conv"] = plain(k.conv);
      return entry;
    });
    // Bound as `fn$wgsl` (a `$` name meets no user name) and exported as the fn's name, which
    // may be any identifier name (`default`, `class`): the main module reads it as a property.
    const head = `const ${fn}$wgsl${js ? "" : ": WgslKernel[]"} = `;
    return `${head}${printLiteral(entries, 0, head.length, PRINT_WIDTH)};\n`;
  });
  const aliases = fns.map(({ fn }) => `${fn}$wgsl as ${fn}`);
  const flat = `export { ${aliases.join(", ")} };\n`;
  const exportList = flat.length <= PRINT_WIDTH + 1 ? flat : `export {\n${aliases.map((a) => `  ${a},\n`).join("")}};\n`;
  const imports = importLine(
    [...(js ? [] : [{ name: "WgslKernel", typeOnly: true }]), ...(derives ? [{ name: "withoutBoundsGuard", typeOnly: false }] : [])],
    "estc/runtime",
    js,
  );
  return [header + imports, ...consts, ...exports, exportList].join("\n");
}

/** `text` as a template literal (its backslashes, backquotes and `${` escaped). */
function template(text: string): string {
  return "`" + text.replace(/[\\`]|\$\{/g, (m) => "\\" + m) + "`";
}

function plain(v: unknown): Literal {
  return JSON.parse(JSON.stringify(v)) as Literal;
}
