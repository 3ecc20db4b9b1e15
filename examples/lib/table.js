// Markdown tables for the examples' printed results and results.md: columns padded to one width,
// numeric columns right-aligned (`---:`), so the table reads well both raw and rendered.

/**
 * @typedef {string | number | boolean | null | undefined} Cell
 */

/**
 * Formats one cell: numbers keep up to 4 significant decimals unless already a string.
 * @param {Cell} value
 * @returns {string}
 */
export function formatCell(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") {
    if (Number.isInteger(value)) return String(value);
    if (!Number.isFinite(value)) return String(value);
    return Math.abs(value) >= 1e-3 || value === 0 ? String(Number(value.toFixed(4))) : value.toExponential(2);
  }
  return String(value).replace(/\|/g, "\\|").replace(/\n/g, " ");
}

/**
 * A Markdown table. A column whose non-empty cells all look numeric is right-aligned.
 * @param {string[]} headers
 * @param {Cell[][]} rows each row has `headers.length` cells
 * @returns {string} the table, lines joined by "\n", no trailing newline
 */
export function markdownTable(headers, rows) {
  if (headers.length === 0) throw new Error("markdownTable: no columns");
  rows.forEach((row, r) => {
    if (row.length !== headers.length) {
      throw new Error(`markdownTable: row ${r} has ${row.length} cells, expected ${headers.length} (${headers.join(", ")})`);
    }
  });
  const cells = rows.map((row) => row.map(formatCell));
  const head = headers.map((h) => formatCell(h));
  const numeric = head.map((_, c) => {
    const column = cells.map((row) => row[c]).filter((s) => s !== "");
    return column.length > 0 && column.every((s) => /^[-+]?(\d[\d,]*\.?\d*|\.\d+)(e[-+]?\d+)?\s*(%|ms|s|x)?$/i.test(s));
  });
  const widths = head.map((h, c) => Math.max(3, h.length, ...cells.map((row) => row[c].length)));
  const pad = (/** @type {string} */ s, /** @type {number} */ c) => (numeric[c] ? s.padStart(widths[c]) : s.padEnd(widths[c]));
  const line = (/** @type {string[]} */ row) => `| ${row.map(pad).join(" | ")} |`;
  const rule = `| ${widths.map((w, c) => (numeric[c] ? "-".repeat(w - 1) + ":" : "-".repeat(w))).join(" | ")} |`;
  return [line(head), rule, ...cells.map(line)].join("\n");
}
