/**
 * `estc build --watch` as a user runs it (the built binary, spawned): the first build, a rebuild
 * when a file the entry imports changes (the new output computes the new formula), a rebuild with
 * an error (the diagnostic printed at the imported file's line, the last good output kept
 * byte for byte), a fixed file building again, and Ctrl-C (SIGINT) ending it with exit 0.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "..", "..");

/** Collects a child's output and waits until it matches. */
class Watcher {
  stdout = "";
  stderr = "";
  constructor(readonly child: ChildProcess) {
    child.stdout!.on("data", (b: Buffer) => (this.stdout += b.toString()));
    child.stderr!.on("data", (b: Buffer) => (this.stderr += b.toString()));
  }

  /** Resolves when `stream`'s text matches `re` `count` times; rejects after `ms`. */
  async until(stream: "stdout" | "stderr", re: RegExp, count: number, ms = 30_000): Promise<void> {
    const start = Date.now();
    while ((this[stream].match(new RegExp(re.source, "g"))?.length ?? 0) < count) {
      if (Date.now() - start > ms) throw new Error(`timed out waiting for ${re} x${count} on ${stream}:\n--- stdout\n${this.stdout}\n--- stderr\n${this.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** Runs `f` of the built module on x = [1, 2, 3] on the CPU, in a fresh node (no module cache). */
async function run(file: string): Promise<number[]> {
  const script = `import { tensor } from "estc/runtime";
const { f } = await import(${JSON.stringify(pathToFileURL(file).href)});
const y = await f.forward({ x: tensor(new Float32Array([1, 2, 3]), [3]) });
console.log(JSON.stringify(Array.from(await y.data())));`;
  const runner = path.join(path.dirname(file), "..", "run.mjs");
  fs.writeFileSync(runner, script);
  return JSON.parse(execFileSync(process.execPath, [runner], { encoding: "utf8" })) as number[];
}

describe("Ctrl-C", () => {
  it("ends a command that is not a watch at once (estc lsp, waiting on stdin), as Node's default does", async () => {
    const child = spawn(process.execPath, [path.join(root, "bin/estc.js"), "lsp"], { stdio: ["pipe", "pipe", "pipe"] });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_code, signal) => resolve(signal)));
    await new Promise((r) => setTimeout(r, 1500)); // loaded and waiting for a client
    child.kill("SIGINT");
    const signal = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r("still running"), 5000))]);
    child.kill("SIGKILL");
    expect(signal).toBe("SIGINT");
  });
});

describe("estc build --watch", () => {
  it("rebuilds on a change to an imported file, keeps the last good output on an error, stops on SIGINT", async () => {
    const dir = fs.mkdtempSync(path.join(root, "tests/.tmp/watch-"));
    const layer = path.join(dir, "layer.est");
    fs.writeFileSync(path.join(dir, "main.est"), 'import { scale } from "./layer"\n\nfn f(x: f32[N]) -> f32[N] { return scale(x) }\n');
    fs.writeFileSync(layer, "fn scale(x: f32[N]) -> f32[N] { return 2 * x }\n");
    const out = path.join(dir, "out/main.js");
    const child = spawn(process.execPath, [path.join(root, "bin/estc.js"), "build", "main.est", "--out-dir", "out", "--emit", "js", "--watch"], { cwd: dir, env: { ...process.env, NO_COLOR: "1" } });
    const w = new Watcher(child);
    try {
      await w.until("stdout", /built main\.est in \d+ ms: out\/main\.js, out\/main\.d\.ts, out\/main\.wgsl\.js/, 1);
      expect(await run(out)).toEqual([2, 4, 6]);

      // mtime granularity: make sure the edit is seen as a change.
      await new Promise((r) => setTimeout(r, 20));
      fs.writeFileSync(layer, "fn scale(x: f32[N]) -> f32[N] { return 3 * x + 1 }\n");
      await w.until("stdout", /built main\.est in \d+ ms/, 2);
      expect(await run(out)).toEqual([4, 7, 10]);
      const good = fs.readFileSync(out, "utf8");

      const broken = "fn scale(x: f32[N]) -> f32[N] { return 3 * y }\n";
      fs.writeFileSync(layer, broken);
      await w.until("stderr", /build failed in \d+ ms; the last good output is kept/, 1);
      // E2002 (unknown name) at the imported file's line and the column of `y`.
      expect(w.stderr).toContain(`layer.est:1:${broken.indexOf("y }") + 1}: error[E2002]: unknown`);
      expect(fs.readFileSync(out, "utf8")).toBe(good);
      expect(await run(out)).toEqual([4, 7, 10]);

      fs.writeFileSync(layer, "fn scale(x: f32[N]) -> f32[N] { return x - 1 }\n");
      await w.until("stdout", /built main\.est in \d+ ms/, 3);
      expect(await run(out)).toEqual([0, 1, 2]);
      expect(w.stdout).not.toMatch(/\x1b\[/); // NO_COLOR

      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
      child.kill("SIGINT");
      expect(await exited).toBe(0);
      expect(w.stdout).toMatch(/stopped watching\n$/);
    } finally {
      child.kill("SIGKILL");
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
