/**
 * NaN through `sign` and `step` in the torch runtime: NaN stays NaN (docs/language.md, "NaN"), as
 * on the CPU back end, where a mask cast alone gives sign(NaN) = -1 and step(NaN) = 0 — a number
 * the other back ends never produce, which once hid a NaN that reached a binary network's
 * activations behind finite gradients.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { torchPython } from "./python.js";

const py = torchPython();
const values = [Number.NaN, -0, 0, 1.5, -2, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];

describe.skipIf("missing" in py)(`torch runtime: NaN through sign and step${"missing" in py ? ` (skipped: ${py.missing})` : ""}`, () => {
  it("E.sign and E.step give NaN for NaN and the CPU back end's values elsewhere", () => {
    const script = `
import json, math, torch, estc_torch as E
x = torch.tensor([float(v) for v in ${JSON.stringify(values.map(String))}], dtype=torch.float32)
out = lambda t: [None if math.isnan(v) else v for v in t.tolist()]
print(json.dumps({"sign": out(E.sign(x)), "step": out(E.step(x))}))
`;
    const r = spawnSync((py as { python: string }).python, ["-c", script], {
      encoding: "utf8",
      env: { ...process.env, PYTHONPATH: path.resolve(import.meta.dirname, "..", "..", "runtime", "torch") },
    });
    expect(r.status, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout) as { sign: (number | null)[]; step: (number | null)[] };
    expect(got.sign).toEqual([null, 1, 1, 1, -1, 1, -1]);
    expect(got.step).toEqual([null, 0, 0, 1, 0, 1, 0]);
  });
});
