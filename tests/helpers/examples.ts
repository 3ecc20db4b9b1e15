/**
 * Test helpers for examples/NAME: build the example exactly as `npm run example:NAME` does (the
 * build half of that script, read from package.json, so the tests cannot drift from it), then
 * run its train.js with given arguments in a child Node process.
 */
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { expect } from "vitest";

const root = path.resolve(import.meta.dirname, "..", "..");
const scripts = (JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;

/** The two halves of `example:NAME`: `node ARGS… && node TRAIN`. */
function script(name: string): { build: string[]; train: string } {
  const text = scripts[`example:${name}`];
  if (text === undefined) throw new Error(`package.json has no script example:${name}`);
  const [build, train] = text.split(" && ").map((part) => part.split(" "));
  if (build?.[0] !== "node" || train?.[0] !== "node" || train.length !== 2) throw new Error(`example:${name} is not 'node … && node TRAIN': ${text}`);
  return { build: build.slice(1), train: train[1]! };
}

/** Runs node with `args` from the repository root (5 minutes at most: builds are slow on 2 shared cores). */
function node(args: string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, args, { cwd: root, encoding: "utf8", timeout: 300_000 });
}

/** Builds the example's `.est` as its npm script does; fails the test with estc's output if it does not build cleanly. */
export function buildExample(name: string): void {
  const built = node(script(name).build);
  expect(built.stderr, `estc build for example:${name}`).toBe("");
  expect(built.status, `estc build for example:${name}: ${built.stdout}`).toBe(0);
}

/** Runs the example's train.js with `args` (e.g. `--smoke --out DIR`). */
export function runExample(name: string, args: string[]): SpawnSyncReturns<string> {
  return node([script(name).train, ...args]);
}
