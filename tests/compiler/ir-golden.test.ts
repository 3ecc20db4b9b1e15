/**
 * Golden IR: the IR of a few programs after lower, autodiff, optimize and schedule, compared
 * with tests/baselines/ir/*.txt (ESTC_ACCEPT=1 rewrites them; review the diff). Every stage's
 * output also passes the IR invariant checks.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { explainFile } from "../../compiler/build.js";
import { nodeHost } from "../../compiler/resolve.js";
import { optimize } from "../../compiler/optimize.js";
import { verifyGraph } from "../../compiler/verify.js";
import { compileFn } from "../helpers/compile.js";

const root = path.resolve(import.meta.dirname, "..", "..");
const baselines = path.join(root, "tests/baselines/ir");
const programs = ["examples/quickstart/binary.est", "tests/cases/ir/mlp.est", "tests/cases/ir/reinforce.est", "tests/cases/ir/cnn.est"];

describe("golden IR", () => {
  for (const file of programs) {
    for (const stage of ["lower", "autodiff", "optimize", "schedule"] as const) {
      it(`${file} after ${stage}`, () => {
        const r = explainFile(file, stage, undefined, nodeHost(root));
        expect(r.diagnostics).toEqual([]);
        const target = path.join(baselines, `${path.basename(file, ".est")}.${stage}.txt`);
        if (process.env["ESTC_ACCEPT"] === "1") {
          fs.mkdirSync(baselines, { recursive: true });
          fs.writeFileSync(target, r.text + "\n");
        }
        expect(r.text + "\n").toBe(fs.readFileSync(target, "utf8"));
      });
    }
  }
});

describe("IR invariants hold after every stage", () => {
  for (const file of programs) {
    it(file, () => {
      const text = fs.readFileSync(path.join(root, file), "utf8").replace(/"\.\//g, '"./');
      for (const name of [...text.matchAll(/^fn (\w+)/gm)].map((m) => m[1]!)) {
        const fn = compileFn(text, name);
        const roots = [...fn.lowered.outputs, ...Object.values(fn.grads), ...Object.values(fn.valueAndGrad ?? {})];
        expect(verifyGraph(fn.lowered.outputs)).toEqual([]);
        expect(verifyGraph(roots)).toEqual([]);
        expect(verifyGraph(optimize(fn.lowered.graph, roots))).toEqual([]);
      }
    });
  }
});
