// The lab's worker messages (playground/src/lab/messages.ts) and slider ranges (sliders.ts).
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import type { CompilerHost } from "../../compiler/resolve.js";
import { nodeHost } from "../../compiler/resolve.js";
import { handleLabMessage, labContext } from "../../playground/src/lab/messages.js";
import { sliderSpec } from "../../playground/src/lab/sliders.js";

const root = path.resolve(import.meta.dirname, "../..");
const file = path.join(root, "playground-lab-editor.est");
const quickstart = fs.readFileSync(path.join(root, "examples/quickstart/binary.est"), "utf8");

describe("handleLabMessage", () => {
  const ctx = labContext(nodeHost(root), file, quickstart);

  it("answers lab/curves with the request's id, and leaves other messages to the worker", async () => {
    const text = `import { ClippedSTE } from "std/binary"\n`;
    const reply = await handleLabMessage(ctx, { type: "lab/curves", id: 7, text, offset: 12, scalars: { t: 0.5 }, item: "estimator ClippedSTE", grid: { lo: -1, hi: 1, points: 5 } });
    expect(reply?.type).toBe("lab/curves");
    expect(reply?.id).toBe(7);
    const r = reply!.result as { ok: true; plot: { xs: number[]; backward: number[] } };
    expect(r.plot.xs).toEqual([-1, -0.5, 0, 0.5, 1]);
    expect(r.plot.backward).toEqual([0, 1, 1, 1, 0]);
    expect(await handleLabMessage(ctx, { type: "check", id: 1 })).toBeUndefined();
    expect(await handleLabMessage(ctx, null)).toBeUndefined();
  });

  it("ignores slider values that belong to another item", async () => {
    const text = `import { ClippedSTE, SteHeaviside } from "std/binary"\n`;
    const reply = await handleLabMessage(ctx, { type: "lab/curves", id: 1, text, offset: text.indexOf("SteHeaviside"), scalars: { clip: 0.5 }, item: "estimator ClippedSTE" });
    const r = reply!.result as { ok: true; plot: { scalars: { name: string; value: number }[] } };
    expect(r.plot.scalars).toEqual([expect.objectContaining({ name: "clip", value: 1 })]);
  });

  it("turns an exception inside the compiler into a reason instead of leaving the page waiting", async () => {
    const broken: CompilerHost = { ...nodeHost(root), readFile: () => { throw new Error("disk on fire"); } };
    const reply = await handleLabMessage(labContext(broken, file, quickstart), { type: "lab/training-module", id: 3, text: "" });
    expect(reply).toEqual({ type: "lab/training-module", id: 3, result: { ok: false, reason: "internal error in estc (please report it): disk on fire" } });
  });
});

describe("sliderSpec", () => {
  it("gives an i32 scalar integer ends and step 1, a bool 0..1", () => {
    expect(sliderSpec({ name: "k", dtype: "i32", default: 2 })).toMatchObject({ min: 0, max: 4, step: 1, value: 2 });
    expect(sliderSpec({ name: "k", dtype: "i32", default: 2 }, 2.6).value).toBe(3);
    expect(sliderSpec({ name: "b", dtype: "bool", default: 1 }, 5)).toMatchObject({ min: 0, max: 1, step: 1, value: 1 });
  });

  it("keeps a max-only require bound and clamps to require bounds only", () => {
    const s = sliderSpec({ name: "p", dtype: "f32", default: 0.5, max: 1 });
    expect(s).toMatchObject({ min: 0, max: 1, from: { min: "default", max: "require" } });
    expect(sliderSpec({ name: "p", dtype: "f32", default: 0.5, max: 1 }, 3).value).toBe(1);
    // Outside a made-up range the value is kept and the range widens to hold it.
    expect(sliderSpec({ name: "t", dtype: "f32", default: 1 }, 5)).toMatchObject({ value: 5, max: 5 });
  });

  it("around a negative or zero default", () => {
    expect(sliderSpec({ name: "b", dtype: "f32", default: -0.3 })).toMatchObject({ min: -1, max: 0 });
    expect(sliderSpec({ name: "b", dtype: "f32", default: 0 })).toMatchObject({ min: -1, max: 1, step: 0.01 });
  });
});
