/**
 * The text of a generated module's code half, printed directly in prettier's layout (2-space
 * indent, 110 columns, trailing commas): the import line and one function per kernel, in
 * TypeScript or in JavaScript. Both forms are printed from the same kernel source — the JS form
 * drops the parameter types, declaration types and `!` non-null assertions, the only TypeScript
 * the kernel printer (ts/kernels.ts) writes — so a build loads neither prettier nor TypeScript (together
 * 0.6 s of a 1.2 s cold build of the quickstart).
 */

import { commentText } from "../escape.js";

/** The width generated code is laid out to (prettier's printWidth for it). */
export const PRINT_WIDTH = 110;

/** A kernel function to print: its name, the comment above it, its buffer parameters and body. */
export interface KernelFunction {
  name: string;
  /** `// file.est:12\n//   source line\n` (empty when the kernel has no source span). */
  comment: string;
  params: { name: string; type: string }[];
  /** Statements, one per line, indented relative to the function body. */
  body: string;
}

/** `function name(dims, scalars, seed, ...buffers): void { body }` with the comment above it. */
export function kernelFunction(k: KernelFunction, js: boolean): string {
  const params = [
    { name: unusedMark("dims", k.body), type: "Int32Array" },
    { name: unusedMark("scalars", k.body), type: "Float64Array" },
    { name: unusedMark("seed", k.body), type: "number" },
    ...k.params,
  ].map((p) => (js ? p.name : `${p.name}: ${p.type}`));
  const tail = js ? ") {" : "): void {";
  const flat = `function ${k.name}(${params.join(", ")}${tail}`;
  const head = flat.length <= PRINT_WIDTH ? flat : `function ${k.name}(\n${params.map((p) => `  ${p},\n`).join("")}${tail}`;
  const body = k.body
    .split("\n")
    .map((line) => (line === "" ? "" : `  ${js ? stripTypes(unwrapInitializer(line)) : unwrapInitializer(line)}`))
    .join("\n");
  return `${k.comment}${head}\n${body}\n}\n`;
}

/**
 * `_name` when a kernel's body never reads the parameter: the module is compiled inside users'
 * projects, and `noUnusedParameters` (on in Vite's templates) exempts only `_`-prefixed names.
 */
function unusedMark(name: string, body: string): string {
  return new RegExp(`\\b${name}\\b`).test(body) ? name : `_${name}`;
}

/**
 * `line` without TypeScript's non-null assertions — a `!` right after an identifier, `]` or `)` and
 * not starting `!=` — and without a declaration's type (`const v: number = …`). A logical not never follows those (the kernel printer writes `!x` after a
 * space or a parenthesis), and comment lines are left as they are.
 */
export function stripTypes(line: string): string {
  if (/^\s*\/\//.test(line)) return line;
  return line.replace(/^(\s*(?:const|let) [\w$]+): [\w$]+ = /, "$1 = ").replace(/([\w\])])!(?!=)/g, "$1");
}

/**
 * `const v = (a ? b : c);` as `const v = a ? b : c;`: the expression printer parenthesizes every
 * conditional, and an initializer needs none (it never contains a comma operator).
 */
export function unwrapInitializer(line: string): string {
  const m = /^(\s*(?:const|let) [\w$]+(?:: [\w$]+)? = )\((.*)\);$/.exec(line);
  if (m === null) return line;
  let depth = 0;
  for (const c of m[2]!) {
    if (c === "(") depth++;
    else if (c === ")" && --depth < 0) return line; // the opening parenthesis closes before the end
  }
  return depth === 0 ? `${m[1]}${m[2]};` : line;
}

/** `import { a, type B } from "from";`, broken over lines as prettier does when it is too long. */
export function importLine(names: { name: string; typeOnly: boolean }[], from: string, js: boolean): string {
  const parts = names.filter((n) => !(js && n.typeOnly)).map((n) => (n.typeOnly ? `type ${n.name}` : n.name));
  if (parts.length === 0) return "";
  const flat = `import { ${parts.join(", ")} } from ${JSON.stringify(from)};`;
  return flat.length <= PRINT_WIDTH ? `${flat}\n` : `import {\n${parts.map((p) => `  ${p},\n`).join("")}} from ${JSON.stringify(from)};\n`;
}

/** `doc` as a JSDoc block (each line through commentText, so no `*\/` or line break ends it), for the module and its .d.ts. */
export function docComment(doc: string): string {
  return ["/**", ...doc.split("\n").map((l) => ` * ${commentText(l)}`.trimEnd()), " */"].join("\n");
}
