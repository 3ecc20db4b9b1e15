// Types for table.js.
export type Cell = string | number | boolean | null | undefined;
export function formatCell(value: Cell): string;
export function markdownTable(headers: string[], rows: Cell[][]): string;
