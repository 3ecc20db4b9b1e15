/**
 * One WebAssembly module per generated fn: `Math.pow` imported as `env.pow` (./ops.ts), then one
 * exported function `k<i>` per kernel the Wasm back end compiles (kernel i of the fn's kernel
 * table), over one imported shared memory `env.memory` (1 page up to WASM_MAX_PAGES). The module's
 * bytes travel in the generated module as base64 (see docs/language.md, "The Wasm back end"):
 * one file to import in Node or a bundler, no `.wasm` to locate and fetch; runtime/wasm/kernels.ts
 * decodes and compiles it on a fn's first CPU call.
 */
import { section, uleb, utf8, vec } from "../../../runtime/wasm/encoder.js";
import type { SimdBuilder } from "./simd.js";

/** The most 64 KiB pages the kernel memory may grow to (4 GiB, the wasm32 limit). */
export const WASM_MAX_PAGES = 65536;


/**
 * The module's bytes for `kernels` (undefined entries: kernels the TS form runs), or undefined
 * when no kernel compiled.
 */
export function wasmModuleBytes(kernels: readonly (SimdBuilder | undefined)[]): Uint8Array | undefined {
  if (kernels.every((k) => k === undefined)) return undefined;
  const exported = kernels.flatMap((fn, i) => (fn === undefined ? [] : [{ name: `k${i}`, fn }]));
  const fns = exported.map((e) => e.fn);
  const typeKeys: string[] = [[0x60, 2, 0x7c, 0x7c, 1, 0x7c].join(",")];
  const typeOf = fns.map((fn) => {
    const t = [0x60, ...vec(fn.params.map((p) => [p])), ...vec(fn.results.map((r) => [r]))];
    const key = t.join(",");
    let i = typeKeys.indexOf(key);
    if (i < 0) i = typeKeys.push(key) - 1;
    return i;
  });
  const types = typeKeys.map((k) => k.split(",").map(Number));
  const memory = [...utf8("env"), ...utf8("memory"), 0x02, 0x03, ...uleb(1), ...uleb(WASM_MAX_PAGES)];
  // Function 0 (POW_IMPORT): Math.pow, for hoisted constants; type 0 is its (f64, f64) -> f64.
  const pow = [...utf8("env"), ...utf8("pow"), 0x00, ...uleb(0)];
  const exports = exported.map((e, i) => [...utf8(e.name), 0x00, ...uleb(1 + i)]);
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec(types)),
    ...section(2, vec([memory, pow])),
    ...section(3, vec(typeOf.map((t) => uleb(t)))),
    ...section(7, vec(exports)),
    ...section(10, vec(fns.map((fn) => fn.encode()))),
  ]);
}

/** Base64 of `bytes` (no dependency on Buffer or btoa: the compiler also runs in browsers). */
export function base64(bytes: Uint8Array): string {
  const abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const [a, b = 0, c = 0] = [bytes[i]!, bytes[i + 1], bytes[i + 2]];
    const w = (a << 16) | (b << 8) | c;
    out += abc[w >> 18]! + abc[(w >> 12) & 63]! + (i + 1 < bytes.length ? abc[(w >> 6) & 63]! : "=") + (i + 2 < bytes.length ? abc[w & 63]! : "=");
  }
  return out;
}
