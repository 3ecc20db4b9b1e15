/**
 * Escaping of user text (source lines, doc comments, file paths, names in messages) for every
 * place estc copies it to: comments and string literals of the generated TypeScript, JavaScript
 * and WGSL, and diagnostics printed to a terminal. A `.est` comment ends only at `\n` or `\r`,
 * but a JavaScript comment also ends at U+2028/U+2029 and a WGSL one at VT, FF, NEL, U+2028 and
 * U+2029, so text copied as it is could turn the rest of a comment into code. Every code point
 * that could end a line, move a terminal's cursor or reorder what a reader sees is written as a
 * visible `\u{…}` escape instead.
 */

/**
 * What is escaped: C0 controls but TAB (line feeds, ESC, BEL), DEL, C1 controls (NEL among
 * them), U+2028/U+2029, the bidirectional formatting controls of "Trojan Source"
 * (CVE-2021-42574), the BOM, and lone surrogates (which no UTF-8 file can hold).
 */
const UNSAFE = /[\0-\x08\n-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]|\p{Surrogate}/gu;

/** `\u{1B}`: the code point as it is written in an escape, uppercase hex. */
function codePointEscape(c: string): string {
  return `\\u{${c.codePointAt(0)!.toString(16).toUpperCase()}}`;
}

/** `text` with every unsafe code point shown as `\u{…}`: for terminals and editors (diagnostics). */
export function visibleText(text: string): string {
  return text.replace(UNSAFE, codePointEscape);
}

/** Whether `text` holds a code point that {@link visibleText} would escape. */
export function hasUnsafeText(text: string): boolean {
  UNSAFE.lastIndex = 0;
  const found = UNSAFE.test(text);
  UNSAFE.lastIndex = 0;
  return found;
}

/**
 * `text` made safe inside a `//` line comment or a `/* … *\/` block comment (JSDoc included) of
 * TypeScript, JavaScript or WGSL: unsafe code points as `\u{…}`, and a star followed by a slash
 * written `*\/` so it cannot close a block comment. The result holds no line break: one comment line.
 */
export function commentText(text: string): string {
  return visibleText(text).replaceAll("*/", "*\\/");
}

/**
 * `text` as a TypeScript/JavaScript string literal (and valid JSON): `JSON.stringify`, which
 * escapes quotes, backslashes, C0 controls and lone surrogates, with the remaining unsafe code
 * points (DEL, C1, U+2028/U+2029, bidi controls, BOM) as `\uXXXX` escapes of the same value.
 */
export function stringLiteral(text: string): string {
  return JSON.stringify(text).replace(UNSAFE_AFTER_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** UNSAFE less what `JSON.stringify` already escapes (C0, lone surrogates): one BMP class, no `u` flag, fast on the specs' long WGSL strings. */
const UNSAFE_AFTER_JSON = /[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;

/** `U+2028 (line separator)`: how a diagnostic names a character a reader cannot see. */
export function describeCharacter(c: string): string {
  const cp = c.codePointAt(0) ?? 0;
  const name = CHARACTER_NAMES[cp];
  const code = `U+${cp.toString(16).toUpperCase().padStart(4, "0")}`;
  return name === undefined ? code : `${code} (${name})`;
}

const CHARACTER_NAMES: Record<number, string> = {
  0x00: "null",
  0x07: "bell",
  0x08: "backspace",
  0x0b: "vertical tab",
  0x0c: "form feed",
  0x1b: "escape",
  0x7f: "delete",
  0x85: "next line",
  0xa0: "no-break space",
  0x200e: "left-to-right mark",
  0x200f: "right-to-left mark",
  0x2028: "line separator",
  0x2029: "paragraph separator",
  0x202a: "left-to-right embedding",
  0x202b: "right-to-left embedding",
  0x202c: "pop directional formatting",
  0x202d: "left-to-right override",
  0x202e: "right-to-left override",
  0x2066: "left-to-right isolate",
  0x2067: "right-to-left isolate",
  0x2068: "first strong isolate",
  0x2069: "pop directional isolate",
  0xfeff: "byte order mark",
};
