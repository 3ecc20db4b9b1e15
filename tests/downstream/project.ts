/**
 * A user's project for the downstream test: `npm pack` of this checkout, a fresh folder outside
 * it, the README's "Use estc in your project" blocks written into it, and the tarball installed
 * as `npm install` would (from the npm cache `npm ci` filled; the registry when it is not there).
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";

/** The repository root. */
export const root = path.resolve(import.meta.dirname, "..", "..");

const exec = promisify(execFile);

/**
 * The environment of a user's shell: under `npm test`, npm's run-script variables name this
 * checkout (npm_config_local_prefix would make the project's `npm install` install here).
 */
function userEnv(): NodeJS.ProcessEnv {
  const npmRun = /^(npm_config_local_prefix|npm_package_.*|npm_lifecycle_.*|INIT_CWD)$/;
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !npmRun.test(k)));
}

/** Runs a command in `cwd`; rejects with its stdout and stderr in the message when it fails. */
export async function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<{ stdout: string; stderr: string }> {
  try {
    return await exec(command, args, { cwd, env: { ...userEnv(), ...env }, encoding: "utf8", maxBuffer: 32 << 20 });
  } catch (e) {
    const err = e as Error & { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(" ")} failed in ${cwd}:\n${err.message}\n${err.stdout ?? ""}\n${err.stderr ?? ""}`);
  }
}

/** The README section that the project follows, as fenced blocks and the file names given them. */
export interface ReadmeSection {
  text: string;
  /** `<!-- file: PATH … -->` then a fenced block: the file's content, by PATH. */
  files: Map<string, string>;
  /** The commands of the `<!-- run -->` block, comments after `#` removed. */
  commands: string[];
}

/** Reads "## Use estc in your project" from the README. */
export function readmeSection(): ReadmeSection {
  const readme = fs.readFileSync(path.join(root, "README.md"), "utf8");
  const start = readme.indexOf("## Use estc in your project");
  if (start < 0) throw new Error("README.md has no '## Use estc in your project' section");
  const end = readme.indexOf("\n## ", start + 1);
  const text = readme.slice(start, end < 0 ? undefined : end);
  const files = new Map<string, string>();
  for (const m of text.matchAll(/<!-- file: (\S+)[^>]*-->\n```\w*\n([\s\S]*?)```/g)) files.set(m[1]!, m[2]!);
  const runBlock = /<!-- run -->\n```sh\n([\s\S]*?)```/.exec(text);
  const commands = (runBlock?.[1] ?? "")
    .split("\n")
    .map((l) => l.replace(/#.*$/, "").trim())
    .filter((l) => l !== "");
  return { text, files, commands };
}

/** A packed estc installed into a fresh project folder. */
export interface InstalledProject {
  dir: string;
  tarball: string;
  /** Bytes under the project's node_modules right after `npm install` of the tarball. */
  installedBytes: number;
  dispose(): void;
}

/**
 * Packs the checkout (its `dist/` must be built: `npm test` builds it first) and installs the
 * tarball into a fresh `"type": "module"` project in the system's temp folder, far from any
 * node_modules of this checkout, so nothing resolves by accident.
 */
export async function installPackedEstc(packageJson: string): Promise<InstalledProject> {
  if (!fs.existsSync(path.join(root, "dist", "runtime", "index.js"))) {
    throw new Error("dist/ is not built: run 'npx tsc -p tsconfig.build.json' (npm test does) before this test");
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "estc-downstream-"));
  // --ignore-scripts: `prepare` would rebuild dist/, which npm test has just built.
  const { stdout } = await run("npm", ["pack", "--ignore-scripts", "--silent", "--pack-destination", work], root);
  const tarball = path.join(work, stdout.trim().split("\n").pop()!);
  const dir = path.join(work, "app");
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, "package.json"), packageJson);
  await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error", tarball], dir);
  // The README's `npm install -D typescript`, as the repository's pinned 5.9 (no download).
  fs.symlinkSync(path.join(root, "node_modules", "typescript"), path.join(dir, "node_modules", "typescript"), "dir");
  const bin = path.join(dir, "node_modules", ".bin");
  fs.symlinkSync(path.join("..", "typescript", "bin", "tsc"), path.join(bin, "tsc"));
  return { dir, tarball, installedBytes: folderBytes(path.join(dir, "node_modules")), dispose: () => fs.rmSync(work, { recursive: true, force: true }) };
}

/** Bytes of the regular files under `dir` (links not followed). */
export function folderBytes(dir: string): number {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += fs.statSync(path.join(entry.parentPath, entry.name)).size;
  }
  return total;
}
