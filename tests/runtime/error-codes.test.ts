/**
 * The runtime's one table of error codes (runtime/errors.ts) against what is built from it and
 * what is written about it: the per-module views (`CallErrorCode`, `KernelErrorCode`,
 * `WebGpuErrorCode`) must hand out the table's codes under the table's names, and
 * docs/language.md §8 must list every row with the same meaning and no E6 code the table lacks.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runtimeErrors, type RuntimeErrorName } from "../../runtime/errors.js";
import {
  CallErrorCode,
  EstcRuntimeError,
  KernelErrorCode,
  RuntimeErrorCode,
  WebGpuErrorCode,
} from "../../runtime/index.js";

const root = path.resolve(import.meta.dirname, "../..");
type Row = (typeof runtimeErrors)[RuntimeErrorName];
const rows = Object.entries(runtimeErrors) as [RuntimeErrorName, Row][];

/** The text of §8 Diagnostics, up to the next top-level section. */
function diagnosticsSection(): string {
  const doc = fs.readFileSync(path.join(root, "docs/language.md"), "utf8");
  const start = doc.indexOf("\n## 8. Diagnostics");
  const end = doc.indexOf("\n## ", start + 1);
  expect(start).toBeGreaterThan(0);
  return doc.slice(start, end < 0 ? undefined : end);
}

describe("runtime error codes (runtime/errors.ts)", () => {
  it("gives every failure its own E6xxx code and a one-line meaning", () => {
    const codes = rows.map(([, row]) => row.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const [name, row] of rows) {
      expect(row.code, name).toMatch(/^E6\d{3}$/);
      expect(row.meaning, name).not.toMatch(/\n|^\s*$/);
    }
  });

  it("RuntimeErrorCode maps every short name, and only those, to its row's code", () => {
    expect(Object.keys(RuntimeErrorCode).sort()).toEqual(rows.map(([name]) => name).sort());
    for (const [name, row] of rows) expect(RuntimeErrorCode[name]).toBe(row.code);
    expect(Object.isFrozen(RuntimeErrorCode)).toBe(true);
  });

  it("the module views hand out the table's code under the table's name", () => {
    const views: Record<string, Record<string, string>> = {
      CallErrorCode,
      KernelErrorCode,
      WebGpuErrorCode,
    };
    const aliases: Record<string, RuntimeErrorName> = { noAdapter: "backendUnavailable" };
    for (const [view, codes] of Object.entries(views)) {
      for (const [name, code] of Object.entries(codes)) {
        const row = runtimeErrors[(aliases[name] ?? name) as RuntimeErrorName];
        expect(row?.code, `${view}.${name}`).toBe(code);
      }
    }
    const kernelNames = ["gatherIndexOutOfRange", "nmGroupMismatch"];
    expect(Object.keys(KernelErrorCode).sort()).toEqual(kernelNames);
    expect(WebGpuErrorCode.noAdapter).toBe("E6015");
  });

  it("EstcRuntimeError prints and carries the code it is given", () => {
    const error = new EstcRuntimeError(KernelErrorCode.nmGroupMismatch, "m = 3");
    expect(error.code).toBe("E6016");
    expect(error.message).toBe("error[E6016]: m = 3");
  });
});

describe("docs/language.md §8 lists the runtime codes", () => {
  const section = diagnosticsSection();

  it.each(rows.map(([name, row]) => [row.code, name, row.meaning]))(
    "%s (%s) appears with the table's meaning",
    (code, _name, meaning) => {
      expect(section).toContain(`| ${code} | runtime: ${meaning} |`);
    },
  );

  it("names no E6 code the table lacks", () => {
    const documented = [...section.matchAll(/^\| (E6\d{3}) \|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual(rows.map(([, row]) => row.code).sort());
  });
});
