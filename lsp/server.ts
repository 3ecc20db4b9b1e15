/**
 * `estc lsp`: the Language Server over stdio (vscode-languageserver). Capabilities:
 * diagnostics as you type (`estc check`'s, over the open editors' text), hover (lsp/hover.ts),
 * go to definition across files and into `std/`, completion (lsp/completion.ts), document
 * symbols (lsp/symbols.ts) and formatting (`estc fmt`'s printer, grammar/format.ts).
 * Every open document is re-checked, after a short pause in typing, when any of them changes,
 * since one may import another.
 */
import * as path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  createConnection,
  DiagnosticSeverity,
  StreamMessageReader,
  StreamMessageWriter,
  TextDocuments,
  TextDocumentSyncKind,
  type Connection,
  type Diagnostic as LspDiagnostic,
  type Location,
} from "vscode-languageserver/node";
import { TextDocument } from "vscode-languageserver-textdocument";
import type { Diagnostic, Span } from "../compiler/diagnostics.js";
import type { ImportDecl } from "../grammar/ast.js";
import { formatSource } from "../grammar/format.js";
import { analyze, modulePath, overlayHost, spanPath, type Analysis } from "./analysis.js";
import { completions } from "./completion.js";
import { hoverText } from "./hover.js";
import { targetAt } from "./locate.js";
import { referent, type Referent } from "./refer.js";
import { documentSymbols } from "./symbols.js";

/** Milliseconds of quiet after an edit before the open documents are checked again. */
const settleMs = 150;

/** What `serveStdio` resolves to once the client has said `exit` (the CLI's outcome shape). */
export interface ServerOutcome {
  stdout: string;
  stderr: string;
  code: number;
}

/** Serves the protocol on this process's stdin and stdout until the client exits. */
export function serveStdio(args: string[]): Promise<ServerOutcome> {
  // vscode-languageclient adds --stdio; stdio is the only transport.
  const unknown = args.find((a) => a !== "--stdio");
  if (unknown !== undefined) return Promise.resolve({ stdout: "", stderr: `estc lsp: unknown option '${unknown}' (it speaks LSP on stdin/stdout)\n`, code: 1 });
  const connection = createConnection(new StreamMessageReader(process.stdin), new StreamMessageWriter(process.stdout));
  return new Promise((resolve) => {
    let shutDown = false;
    connection.onShutdown(() => {
      shutDown = true;
    });
    connection.onExit(() => resolve({ stdout: "", stderr: "", code: shutDown ? 0 : 1 }));
    new EstLanguageServer(connection).listen();
  });
}

/** The handlers, over one connection. */
export class EstLanguageServer {
  private readonly documents = new TextDocuments(TextDocument);
  private root = process.cwd();
  private timer: NodeJS.Timeout | undefined;
  private readonly cache = new Map<string, Analysis>();
  private cacheKey = "";

  constructor(private readonly connection: Connection) {}

  /** Registers every handler and starts listening. */
  listen(): void {
    const c = this.connection;
    c.onInitialize((params) => {
      const folder = params.workspaceFolders?.[0]?.uri ?? params.rootUri;
      if (folder !== null && folder !== undefined && folder.startsWith("file:")) this.root = fileURLToPath(folder);
      return {
        capabilities: {
          textDocumentSync: TextDocumentSyncKind.Incremental,
          hoverProvider: true,
          definitionProvider: true,
          completionProvider: { triggerCharacters: [" "] },
          documentSymbolProvider: true,
          documentFormattingProvider: true,
        },
        serverInfo: { name: "estc", version: "0.1.0" },
      };
    });
    this.documents.onDidOpen(() => this.schedule(0));
    this.documents.onDidChangeContent(() => this.schedule(settleMs));
    this.documents.onDidClose((e) => void c.sendDiagnostics({ uri: e.document.uri, diagnostics: [] }));
    c.onHover((p) => this.withTarget(p.textDocument.uri, p.position, (a, r) => ({ contents: { kind: "markdown", value: hoverText(a, r) } })));
    c.onDefinition((p) => this.withTarget(p.textDocument.uri, p.position, (a, r) => this.definition(a, r)));
    c.onCompletion((p) => {
      const doc = this.documents.get(p.textDocument.uri);
      const bySpace = p.context?.triggerCharacter === " ";
      return doc === undefined ? [] : completions(this.analysis(doc), doc, doc.offsetAt(p.position), bySpace);
    });
    c.onDocumentSymbol((p) => {
      const doc = this.documents.get(p.textDocument.uri);
      return doc === undefined ? [] : documentSymbols(this.analysis(doc).entry?.ast ?? { kind: "Module", file: "", items: [], span: { file: "", start: 0, end: 0 } }, doc);
    });
    c.onDocumentFormatting((p) => {
      const doc = this.documents.get(p.textDocument.uri);
      if (doc === undefined) return [];
      const r = formatSource(doc.getText(), doc.uri);
      if (r.text === undefined || r.text === doc.getText()) return [];
      return [{ range: { start: { line: 0, character: 0 }, end: doc.positionAt(doc.getText().length) }, newText: r.text }];
    });
    this.documents.listen(c);
    c.listen();
  }

  // ---------------------------------------------------------------- analysis

  /**
   * The file path a document stands for. An unsaved editor (`untitled:Untitled-1`) gets a name in
   * the workspace folder, so its relative imports resolve from there.
   */
  private pathOf(uri: string): string {
    if (uri.startsWith("file:")) return fileURLToPath(uri);
    return path.join(this.root, `${uri.replace(/[^A-Za-z0-9_-]+/g, "_")}.est`);
  }

  /** The URI of a path: an open document's own URI when one stands for it. */
  private uriOf(abs: string): string {
    return this.documents.all().find((d) => this.pathOf(d.uri) === abs)?.uri ?? pathToFileURL(abs).href;
  }

  private host() {
    return overlayHost((abs) => this.documents.all().find((d) => this.pathOf(d.uri) === abs)?.getText(), this.root);
  }

  /** The analysis of `doc`, reused until any open document changes (hover, completion and symbols ask often). */
  private analysis(doc: TextDocument): Analysis {
    const key = this.documents
      .all()
      .map((d) => `${d.uri}@${d.version}`)
      .join(" ");
    if (key !== this.cacheKey) {
      this.cache.clear();
      this.cacheKey = key;
    }
    let a = this.cache.get(doc.uri);
    if (a === undefined) {
      a = analyze(this.pathOf(doc.uri), this.host());
      this.cache.set(doc.uri, a);
    }
    return a;
  }

  private schedule(ms: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      for (const doc of this.documents.all()) {
        try {
          this.publish(doc);
        } catch (e) {
          // A bug in estc must not take the server (and every open editor's checking) down.
          this.connection.console.error(`estc: internal error while checking ${doc.uri}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
        }
      }
    }, ms);
  }

  /** Sends the document's diagnostics: its own, and a summary of an imported module's at the import. */
  private publish(doc: TextDocument): void {
    const a = this.analysis(doc);
    const self = this.pathOf(doc.uri);
    const own = a.diagnostics.filter((d) => spanPath(d.span.file, a.host) === self);
    const elsewhere = a.diagnostics.filter((d) => spanPath(d.span.file, a.host) !== self && d.severity === "error");
    const diagnostics = [...own.map((d) => this.toLsp(a, d)), ...this.importedErrors(a, elsewhere)];
    void this.connection.sendDiagnostics({ uri: doc.uri, version: doc.version, diagnostics });
  }

  /**
   * Errors in imported modules, one diagnostic per module at the import that brings it in (the
   * first import when it comes in indirectly), each error a related location to jump to.
   */
  private importedErrors(a: Analysis, errors: Diagnostic[]): LspDiagnostic[] {
    const imports = (a.entry?.ast.items ?? []).filter((i): i is ImportDecl => i.kind === "Import");
    if (a.entry === undefined || imports.length === 0) return [];
    const byFile = new Map<string, Diagnostic[]>();
    for (const d of errors) byFile.set(d.span.file, [...(byFile.get(d.span.file) ?? []), d]);
    return [...byFile].map(([file, list]) => {
      const abs = spanPath(file, a.host);
      const direct = imports.find((decl) => {
        const r = referent(a, a.entry!, { kind: "importPath", decl, span: decl.fromSpan });
        return r?.kind === "module" && modulePath(r.module, a.host) === abs;
      });
      const at = (direct ?? imports[0]!).fromSpan;
      const first = list[0]!;
      const count = list.length === 1 ? "an error" : `${list.length} errors`;
      return {
        range: this.range(a, at),
        severity: DiagnosticSeverity.Error,
        code: first.code,
        source: "estc",
        message: `${file} has ${count}; the first: ${first.message}`,
        relatedInformation: list.slice(0, 20).map((d) => ({ location: this.location(a, d.span), message: `error[${d.code}]: ${d.message}` })),
      };
    });
  }

  private toLsp(a: Analysis, d: Diagnostic): LspDiagnostic {
    const out: LspDiagnostic = {
      range: this.range(a, d.span),
      severity: d.severity === "error" ? DiagnosticSeverity.Error : DiagnosticSeverity.Warning,
      code: d.code,
      source: "estc",
      message: d.hint === undefined ? d.message : `${d.message}\nhint: ${d.hint}`,
    };
    if (d.related !== undefined && d.related.length > 0) {
      out.relatedInformation = d.related.map((r) => ({ location: this.location(a, r.span), message: r.message }));
    }
    return out;
  }

  // ---------------------------------------------------------------- positions

  /** A span as a Location; the file's text comes from the editor when open, else from disk. */
  private location(a: Analysis, span: Span): Location {
    const abs = spanPath(span.file, a.host);
    return { uri: this.uriOf(abs), range: this.range(a, span) };
  }

  private range(a: Analysis, span: Span): Location["range"] {
    const abs = spanPath(span.file, a.host);
    const text = a.host.readFile(abs) ?? a.sources.get(span.file)?.text ?? "";
    const doc = TextDocument.create("file:///x", "est", 0, text);
    return { start: doc.positionAt(span.start), end: doc.positionAt(span.end) };
  }

  private withTarget<T>(uri: string, position: { line: number; character: number }, f: (a: Analysis, r: Referent) => T): T | null {
    const doc = this.documents.get(uri);
    if (doc === undefined) return null;
    const a = this.analysis(doc);
    if (a.entry === undefined) return null;
    const target = targetAt(a.entry.ast, doc.offsetAt(position));
    const r = target === undefined ? undefined : referent(a, a.entry, target);
    return r === undefined ? null : f(a, r);
  }

  private definition(a: Analysis, r: Referent): Location | null {
    switch (r.kind) {
      case "item":
        return this.location(a, r.symbol.decl.name.span);
      case "local":
        return this.location(a, r.local.binding.span);
      case "module":
        return { uri: this.uriOf(modulePath(r.module, a.host)), range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } } };
      default:
        return null;
    }
  }
}
