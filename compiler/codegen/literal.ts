/**
 * Prints the data half of a generated module — each fn's `defineFunction({...})` spec: plans,
 * buffer lists, WGSL sources — as TypeScript object literals laid out the way prettier lays
 * them out (a value on one line when it fits the width, else one entry per line with trailing
 * commas), so a build needs no formatter (formatting the specs with prettier was most of a
 * build's time).
 */

/** Source text to print as it is (a kernel function's name in the spec's `kernels` list). */
export class Code {
  constructor(readonly text: string) {}
}

/** A value the printer takes: JSON data, with `Code` for references and `undefined` entries left out. */
export type Literal = Code | string | number | boolean | null | undefined | readonly Literal[] | { readonly [key: string]: Literal };

import { stringLiteral } from "../escape.js";

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `value` as a literal starting at column `column` of a line indented by `indent` spaces. */
export function printLiteral(value: Literal, indent: number, column: number, width = 110): string {
  const flat = printFlat(value);
  // One line when the value and the comma after it fit.
  if (column + flat.length + 1 <= width || !isContainer(value)) return flat;
  const inner = " ".repeat(indent + 2);
  if (Array.isArray(value)) {
    const items = (value as readonly Literal[]).filter((v) => v !== undefined);
    if (items.every((v) => typeof v === "number")) return fillNumbers(items as number[], indent, width);
    return `[\n${items.map((v) => `${inner}${printLiteral(v, indent + 2, indent + 2, width)},`).join("\n")}\n${" ".repeat(indent)}]`;
  }
  const entries = Object.entries(value as { [key: string]: Literal }).filter(([, v]) => v !== undefined);
  const lines = entries.map(([k, v]) => {
    const key = `${propertyKey(k)}: `;
    return `${inner}${key}${printLiteral(v, indent + 2, indent + 2 + key.length, width)},`;
  });
  return `{\n${lines.join("\n")}\n${" ".repeat(indent)}}`;
}

function isContainer(value: Literal): boolean {
  return typeof value === "object" && value !== null && !(value instanceof Code);
}

function printFlat(value: Literal): string {
  if (value instanceof Code) return value.text;
  if (value === null) return "null";
  if (typeof value === "string") return stringLiteral(value);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (value === undefined) return "undefined";
  if (Array.isArray(value)) return `[${(value as readonly Literal[]).filter((v) => v !== undefined).map(printFlat).join(", ")}]`;
  const entries = Object.entries(value as { [key: string]: Literal }).filter(([, v]) => v !== undefined);
  return entries.length === 0 ? "{}" : `{ ${entries.map(([k, v]) => `${propertyKey(k)}: ${printFlat(v)}`).join(", ")} }`;
}

function propertyKey(key: string): string {
  return IDENTIFIER.test(key) ? key : stringLiteral(key);
}

/** A long list of numbers, as many per line as fit (prettier's fill). */
function fillNumbers(items: number[], indent: number, width: number): string {
  const inner = " ".repeat(indent + 2);
  const lines: string[] = [];
  let line = "";
  for (const n of items) {
    const piece = `${n},`;
    if (line !== "" && inner.length + line.length + 1 + piece.length > width) {
      lines.push(inner + line);
      line = piece;
    } else line = line === "" ? piece : `${line} ${piece}`;
  }
  if (line !== "") lines.push(inner + line);
  return `[\n${lines.join("\n")}\n${" ".repeat(indent)}]`;
}
