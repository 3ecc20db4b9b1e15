/**
 * The compiler worker: the page posts the editor's text and gets back the diagnostics of
 * parse → resolve → check → lower → autodiff (what `estc build` would report) and, when there are
 * no errors, the generated module's files. It also answers the lab's messages (./lab/messages.ts:
 * the curves of the item under the cursor, the training module). Running here keeps typing in
 * the editor smooth however long a compile takes.
 */
import { moduleTexts } from "../../compiler/build.js";
import type { Diagnostic, Span } from "../../compiler/diagnostics.js";
import type { SourceMap } from "../../compiler/source.js";
import { handleLabMessage, labContext } from "./lab/messages.js";
import quickstart from "../../examples/quickstart/binary.est?raw";
import { displayFile, MAIN_FILE, playgroundHost } from "./host.js";
import type { CompileReply, CompileRequest, PlacedDiagnostic } from "./protocol.js";

let current = "";
const host = playgroundHost(() => current);
const lab = labContext(host, MAIN_FILE, quickstart);

/** Where a span lies, for the editor (offsets) and for people (line and column). */
function place(span: Span, sources: SourceMap): { file: string; from: number; to: number; line: number; col: number } {
  const { line, col } = sources.get(span.file)?.position(span.start) ?? { line: 1, col: 1 };
  return { file: displayFile(span.file), from: span.start, to: Math.max(span.end, span.start), line, col };
}

function placed(d: Diagnostic, sources: SourceMap): PlacedDiagnostic {
  const out: PlacedDiagnostic = { code: d.code, severity: d.severity, message: d.message, ...place(d.span, sources), related: (d.related ?? []).map((r) => ({ message: r.message, ...place(r.span, sources) })) };
  if (d.hint !== undefined) out.hint = d.hint;
  return out;
}

async function compile(req: CompileRequest): Promise<CompileReply> {
  const start = performance.now();
  current = req.text;
  try {
    const t = await moduleTexts(MAIN_FILE, "js", host);
    const reply: CompileReply = { type: "compile", id: req.id, diagnostics: t.diagnostics.map((d) => placed(d, t.sources)), ms: performance.now() - start };
    if (t.files !== undefined) reply.files = t.files;
    return reply;
  } catch (e) {
    // An exception here is a bug in estc, not in the program: the page says so as such.
    return { type: "compile", id: req.id, diagnostics: [], ms: performance.now() - start, crash: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
  }
}

async function handle(msg: { type?: string }): Promise<void> {
  const labReply = await handleLabMessage(lab, msg);
  if (labReply !== undefined) self.postMessage(labReply);
  else if (msg.type === "compile") self.postMessage(await compile(msg as CompileRequest));
}

// One message at a time, in order: a compile reads the host's one main file while it runs.
let queue = Promise.resolve();
self.onmessage = (ev: MessageEvent) => {
  queue = queue.then(() => handle(ev.data as { type?: string }));
};
