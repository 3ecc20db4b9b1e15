/**
 * Test helper: a Language Server Protocol client that spawns `node bin/estc.js lsp --stdio` (as
 * vscode-languageclient starts it; dist/ is built first when missing or older than the sources)
 * and speaks JSON-RPC to it over the child's stdin/stdout, as an editor does.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import {
  createMessageConnection,
  StreamMessageReader,
  StreamMessageWriter,
  type MessageConnection,
  type PublishDiagnosticsParams,
} from "vscode-languageserver/node";

export const root = path.resolve(import.meta.dirname, "..", "..");

function newest(dir: string): number {
  let t = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newest(full));
    else if (e.name.endsWith(".ts")) t = Math.max(t, fs.statSync(full).mtimeMs);
  }
  return t;
}

/** Builds dist/ when it is missing or older than any source file the server uses. */
export function ensureBuilt(): void {
  const built = path.join(root, "dist/lsp/server.js");
  const sources = Math.max(...["cli", "compiler", "grammar", "runtime", "lsp"].map((d) => newest(path.join(root, d))));
  if (fs.existsSync(built) && fs.statSync(built).mtimeMs >= sources) return;
  const tsc = spawnSync(process.execPath, [path.join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], { cwd: root, encoding: "utf8" });
  if (tsc.status !== 0) throw new Error(`tsc -p tsconfig.build.json failed:\n${tsc.stdout}${tsc.stderr}`);
}

/** A running server and a connection to it. */
export class LspClient {
  readonly connection: MessageConnection;
  private readonly child: ChildProcess;
  private readonly diagnostics = new Map<string, PublishDiagnosticsParams[]>();
  private readonly waiters: { uri: string; pred: (p: PublishDiagnosticsParams) => boolean; resolve: (p: PublishDiagnosticsParams) => void }[] = [];
  stderr = "";

  constructor(readonly workspace: string) {
    this.child = spawn(process.execPath, [path.join(root, "bin/estc.js"), "lsp", "--stdio"], { cwd: workspace, stdio: ["pipe", "pipe", "pipe"] });
    this.child.stderr!.on("data", (d: Buffer) => (this.stderr += d.toString()));
    this.connection = createMessageConnection(new StreamMessageReader(this.child.stdout!), new StreamMessageWriter(this.child.stdin!));
    this.connection.onNotification("textDocument/publishDiagnostics", (p: PublishDiagnosticsParams) => {
      this.diagnostics.set(p.uri, [...(this.diagnostics.get(p.uri) ?? []), p]);
      for (const w of [...this.waiters]) {
        if (w.uri === p.uri && w.pred(p)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(p);
        }
      }
    });
    this.connection.listen();
  }

  /** initialize + initialized; returns the server's capabilities. */
  async start(): Promise<Record<string, unknown>> {
    const r = (await this.connection.sendRequest("initialize", {
      processId: process.pid,
      rootUri: pathToFileURL(this.workspace).href,
      capabilities: {},
      workspaceFolders: [{ uri: pathToFileURL(this.workspace).href, name: "ws" }],
    })) as { capabilities: Record<string, unknown> };
    await this.connection.sendNotification("initialized", {});
    return r.capabilities;
  }

  /** The URI of a workspace file; a URI (`untitled:…`) is returned as it is. */
  uri(file: string): string {
    return /^[a-z]+:/.test(file) ? file : pathToFileURL(path.join(this.workspace, file)).href;
  }

  /** Opens `file` with `text` (the editor's copy; the disk is not read for it). */
  async open(file: string, text: string): Promise<void> {
    await this.connection.sendNotification("textDocument/didOpen", { textDocument: { uri: this.uri(file), languageId: "est", version: 1, text } });
  }

  /** The next diagnostics published for `file` that satisfy `pred` (or an earlier one that did). */
  diagnosticsFor(file: string, pred: (p: PublishDiagnosticsParams) => boolean = () => true): Promise<PublishDiagnosticsParams> {
    const uri = this.uri(file);
    const seen = (this.diagnostics.get(uri) ?? []).find(pred);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      this.waiters.push({ uri, pred, resolve });
      setTimeout(() => reject(new Error(`no matching diagnostics for ${file}; stderr: ${this.stderr}`)), 20_000);
    });
  }

  request<T>(method: string, file: string, extra: Record<string, unknown> = {}): Promise<T> {
    return this.connection.sendRequest(method, { textDocument: { uri: this.uri(file) }, ...extra }) as Promise<T>;
  }

  /** shutdown + exit; resolves with the server's exit code. */
  async stop(): Promise<number | null> {
    const exited = new Promise<number | null>((resolve) => this.child.once("exit", (code) => resolve(code)));
    await this.connection.sendRequest("shutdown");
    await this.connection.sendNotification("exit");
    const code = await exited;
    this.connection.dispose();
    return code;
  }
}
