/**
 * The JavaScript names of a generated module. A `.est` name is `[A-Za-z_][A-Za-z0-9_]*` and
 * never holds a `$`, so every name the generator invents holds one (kernels are `f$k0`) and
 * cannot meet a user's. A fn's export keeps the user's name; its local binding is the same name
 * unless that name is a JavaScript reserved word, a strict-mode restricted name, a standard
 * global the kernels may read, or a name the module imports from the runtime — then it is the
 * name with a `$` appended, exported as `export { default$ as default }`.
 */

/**
 * What a generated module may import from `estc/runtime`: the spec wrapper, its types and the
 * helpers kernel bodies call. A module imports a subset; a user name from this list is mangled
 * whether or not the module imports it.
 */
export const RUNTIME_IMPORTS = ["defineFunction", "EntryPlan", "EstFunction", "NonScalarEstFunction", "Tensor", "gemm", "conv2dEpilogue", "rint", "randomUniform", "randomNormal", "randomGumbel"] as const;

/** One of {@link RUNTIME_IMPORTS}. */
export type RuntimeImport = (typeof RUNTIME_IMPORTS)[number];

/**
 * ECMAScript reserved words (ES2024 §12.7.2), the strict-mode future reserved words, and the
 * names strict code cannot bind (`eval`, `arguments`). Modules are strict.
 */
const RESERVED = new Set(
  (
    "await break case catch class const continue debugger default delete do else enum export extends false finally for " +
    "function if import in instanceof new null return super switch this throw true try typeof var void while with yield " +
    "implements interface let package private protected public static eval arguments"
  ).split(" "),
);

/**
 * The global object's standard properties (ES2024 §19 and later additions): kernel bodies read
 * `Math`, `Infinity`, `NaN`, `Number`, `Object`, typed arrays and `undefined`, and a module-level
 * binding of one of these names would shadow it for every kernel of the module.
 */
const GLOBALS = new Set(
  (
    "globalThis Infinity NaN undefined isFinite isNaN parseFloat parseInt decodeURI decodeURIComponent encodeURI " +
    "encodeURIComponent escape unescape AggregateError Array ArrayBuffer Atomics BigInt BigInt64Array BigUint64Array " +
    "Boolean DataView Date Error EvalError FinalizationRegistry Float16Array Float32Array Float64Array Function " +
    "Int8Array Int16Array Int32Array Iterator JSON Map Math Number Object Promise Proxy RangeError ReferenceError " +
    "Reflect RegExp Set SharedArrayBuffer String Symbol SyntaxError TypeError Uint8Array Uint8ClampedArray Uint16Array " +
    "Uint32Array URIError WeakMap WeakRef WeakSet"
  ).split(" "),
);

const PROTECTED = new Set<string>([...RESERVED, ...GLOBALS, ...RUNTIME_IMPORTS]);

const EST_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The module-level binding of the fn `name`: `name`, or `name$` where `name` cannot be one. */
export function exportBinding(name: string): string {
  if (!EST_NAME.test(name)) throw new Error(`codegen: '${name}' is not a .est name`);
  return PROTECTED.has(name) ? `${name}$` : name;
}

/** Whether the fn `name` gets a mangled binding ({@link exportBinding}). */
export function isMangled(name: string): boolean {
  return PROTECTED.has(name);
}

/** The name of kernel `index` of the fn `fnName`, in the module, its spec and the `.wgsl` file. */
export function kernelName(fnName: string, index: number): string {
  return `${fnName}$k${index}`;
}
