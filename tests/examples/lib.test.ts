// The examples' shared helpers (examples/lib): progress lines, Markdown tables, option parsing,
// seeded randomness and the synthetic tasks, each against values worked out by hand.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { ArgsError, tryParseArgs, usage } from "../../examples/lib/args.js";
import { accuracy, batches, gather, mulberry32, prototypeTask, Rng, teacherTask } from "../../examples/lib/data.js";
import { formatElapsed, formatProgress, progress } from "../../examples/lib/progress.js";
import { markdownTable } from "../../examples/lib/table.js";

/** A fake stream that records what is written. */
function sink(isTTY: boolean) {
  const chunks: string[] = [];
  const stream = { isTTY, write: (s: string) => (chunks.push(s), true) } as unknown as NodeJS.WritableStream & { isTTY: boolean };
  return { stream, chunks };
}

describe("progress", () => {
  it("formats the bar, percent, info and elapsed time", () => {
    expect(formatProgress("train", 4, 10, "epoch 4/10 acc 0.91", 3.24, 10)).toBe("train [####......]  40% epoch 4/10 acc 0.91 (3.2s)");
    expect(formatProgress("", 10, 10, "", 0, 4)).toBe("[####] 100% (0.0s)");
    expect(formatElapsed(125.7)).toBe("2m05s");
  });

  it("prints one line per 10% when not a terminal, and a final line on done()", () => {
    const { stream, chunks } = sink(false);
    let t = 0;
    const p = progress("run", 20, { stream, width: 10, now: () => t });
    for (let i = 1; i <= 20; i++) {
      t = i * 100;
      p.tick(`step ${i}`);
    }
    p.done();
    p.done(); // idempotent
    // ticks 2, 4, ..., 18 cross a decile (9 lines; 20/20 is left to done()), then the final line
    expect(chunks).toHaveLength(10);
    expect(chunks[0]).toBe("run [#.........]  10% step 2 (0.2s)\n");
    expect(chunks[4]).toBe("run [#####.....]  50% step 10 (1.0s)\n");
    expect(chunks[9]).toBe("run [##########] 100% step 20 (2.0s)\n");
  });

  it("redraws in place on a terminal", () => {
    const { stream, chunks } = sink(true);
    const p = progress("x", 4, { stream, width: 4, now: () => 0 });
    p.tick("a");
    p.tick();
    p.done("end");
    expect(chunks).toEqual(["\r\x1b[2Kx [#...]  25% a (0.0s)", "\r\x1b[2Kx [##..]  50% a (0.0s)", "\r\x1b[2Kx [####] 100% end (0.0s)\n"]);
  });
});

describe("markdownTable", () => {
  it("pads columns and right-aligns numeric ones", () => {
    const table = markdownTable(
      ["estimator", "acc", "note"],
      [
        ["STE", 0.91234567, "a"],
        ["ReSTE", 12, "longer note"],
      ],
    );
    expect(table).toBe(
      [
        "| estimator |    acc | note        |",
        "| --------- | -----: | ----------- |",
        "| STE       | 0.9123 | a           |",
        "| ReSTE     |     12 | longer note |",
      ].join("\n"),
    );
  });

  it("escapes pipes and rejects ragged rows", () => {
    expect(markdownTable(["a"], [["x|y"]])).toBe("| a    |\n| ---- |\n| x\\|y |");
    expect(() => markdownTable(["a", "b"], [["only one"]])).toThrow(/row 0 has 1 cells, expected 2/);
  });
});

describe("parseArgs", () => {
  const defaults = { epochs: 10, lr: 0.05, estimator: "all", verbose: false, batchSize: 64 };

  it("reads --name value, --name=value, flags, numbers, --smoke and --out", () => {
    const o = tryParseArgs(["--epochs", "3", "--lr=1e-3", "--verbose", "--smoke", "--out", "/tmp/x", "--batch-size", "-8"], defaults);
    expect(o).toEqual({ epochs: 3, lr: 0.001, estimator: "all", verbose: true, smoke: true, out: "/tmp/x", batchSize: -8 });
    expect(tryParseArgs([], defaults)).toEqual({ ...defaults, smoke: false, out: undefined });
    expect(tryParseArgs(["--verbose=false", "--no-smoke", "--estimator=ReSTE"], defaults)).toMatchObject({ verbose: false, smoke: false, estimator: "ReSTE" });
    expect(tryParseArgs(["--help"], defaults).help).toBe(true);
  });

  it("rejects unknown options, missing and malformed values", () => {
    expect(() => tryParseArgs(["--epoch", "3"], defaults)).toThrow(ArgsError);
    expect(() => tryParseArgs(["--epoch", "3"], defaults)).toThrow(/unknown option '--epoch'.*--epochs/);
    expect(() => tryParseArgs(["--epochs"], defaults)).toThrow(/'--epochs' needs a value/);
    expect(() => tryParseArgs(["--epochs", "ten"], defaults)).toThrow(/'--epochs' needs a number, got 'ten'/);
    expect(() => tryParseArgs(["--verbose=maybe"], defaults)).toThrow(/is a flag/);
    expect(() => tryParseArgs(["stray"], defaults)).toThrow(/unexpected argument 'stray'/);
    expect(usage(defaults)).toContain("--batch-size N  (default 64)");
    expect(usage(defaults, { program: "x.js", help: { lr: "step size" } })).toMatch(/^usage: node x\.js \[options\][^]*--lr N  step size\n/);
  });

  it("exits with code 2 and a message on stderr for an unknown option", () => {
    const script = `import { parseArgs } from "./examples/lib/args.js"; parseArgs(process.argv.slice(1), { epochs: 1 }); console.log("unreachable");`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script, "--", "--bogus"], { encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("error: unknown option '--bogus'");
    expect(r.stdout).toBe("");
  });
});

describe("data", () => {
  it("mulberry32 reproduces the reference stream", () => {
    // mulberry32(1): the first output of the published algorithm
    expect(mulberry32(1)()).toBe(0.6270739405881613);
    const a = mulberry32(42);
    const b = mulberry32(42);
    for (let i = 0; i < 100; i++) expect(a()).toBe(b());
  });

  it("normal() has mean 0 and variance 1 within 3 standard errors", () => {
    const rng = new Rng(7);
    const n = 20000;
    let s = 0;
    let s2 = 0;
    let s4 = 0;
    for (let i = 0; i < n; i++) {
      const z = rng.normal();
      s += z;
      s2 += z * z;
      s4 += z ** 4;
    }
    expect(Math.abs(s / n)).toBeLessThan(3 / Math.sqrt(n)); // se of the mean: 1/sqrt(n)
    expect(Math.abs(s2 / n - 1)).toBeLessThan(3 * Math.sqrt(2 / n)); // Var(z²) = 2
    expect(Math.abs(s4 / n - 3)).toBeLessThan(3 * Math.sqrt(96 / n)); // E z⁴ = 3, Var(z⁴) = 105 - 9
  });

  it("shuffles and batches cover every index once", () => {
    const rng = new Rng(3);
    const p = rng.permutation(50);
    expect([...p].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    const bs = batches(10, 4, new Rng(1));
    expect(bs.map((b) => b.length)).toEqual([4, 4, 2]);
    expect([...bs.flatMap((b) => [...b])].sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(batches(10, 4, undefined, { dropLast: true }).map((b) => [...b])).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
    ]);
    expect(() => batches(10, 0)).toThrow(/batchSize/);
  });

  it("gather copies rows and labels; accuracy counts argmax hits", () => {
    const split = { x: Float32Array.from([0, 1, 10, 11, 20, 21]), y: Int32Array.from([5, 6, 7]), n: 3, features: 2 };
    const g = gather(split, [2, 0]);
    expect([...g.x]).toEqual([20, 21, 0, 1]);
    expect([...g.y]).toEqual([7, 5]);
    expect(() => gather(split, [3])).toThrow(/outside/);
    expect(accuracy([0.1, 0.9, 0.8, 0.2, 0.5, 0.5], [1, 1, 0], 2)).toBeCloseTo(2 / 3, 12);
  });

  it("the prototype task puts each example near its class prototype", () => {
    const task = prototypeTask({ classes: 4, features: 256, noise: 0.5, trainSize: 200, testSize: 50, seed: 9 });
    expect(task.train.x.length).toBe(200 * 256);
    // Nearest-centroid on the train means classifies the test set almost perfectly at this noise.
    const mean = Array.from({ length: 4 }, () => new Float64Array(256));
    const count = new Array(4).fill(0);
    for (let b = 0; b < 200; b++) {
      count[task.train.y[b]]++;
      for (let i = 0; i < 256; i++) mean[task.train.y[b]][i] += task.train.x[b * 256 + i];
    }
    const scores = new Float64Array(50 * 4);
    for (let b = 0; b < 50; b++)
      for (let k = 0; k < 4; k++) for (let i = 0; i < 256; i++) scores[b * 4 + k] += (mean[k][i] / count[k]) * task.test.x[b * 256 + i];
    expect(accuracy(scores, task.test.y, 4)).toBe(1);
  });

  it("the teacher task is deterministic and uses every class", () => {
    const a = teacherTask({ trainSize: 500, testSize: 100, seed: 5 });
    const b = teacherTask({ trainSize: 500, testSize: 100, seed: 5 });
    expect(a.train.y).toEqual(b.train.y);
    expect(a.test.x).toEqual(b.test.x);
    expect(new Set(a.train.y).size).toBe(10);
    expect(teacherTask({ trainSize: 500, testSize: 100, seed: 6 }).train.y).not.toEqual(a.train.y);
  });
});
