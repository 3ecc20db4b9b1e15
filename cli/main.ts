/**
 * Process entry point of `estc`: runs the CLI, writes its output (diagnostics coloured only on a
 * terminal, see ./colour.ts), sets the exit code. Ctrl-C stops `estc build --watch` cleanly.
 *
 * The commands that compile run on a worker thread with a 256 MB stack. Chevrotain's parser
 * spends about fourteen rule calls per parenthesis, so on the main thread's ~1 MB stack a
 * program stops near 200 nested parentheses (chains of operators are walked with loops,
 * grammar/chains.ts); on the worker's, the front end's own limit (E1002 past 20,000 nested
 * brackets, grammar/index.ts) comes first. The worker sends its output here as it
 * goes (watch mode) and is told when Ctrl-C arrives. Commands that need the main thread run
 * here: `lsp` reads stdin, `doctor` loads Dawn's native module.
 */
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import type { CliOutcome } from "./estc.js";

const COMPILING = new Set(["check", "build", "explain", "plot", "fmt"]);
/** Reserved, not committed: the operating system maps stack pages as they are touched. */
const STACK_MB = 256;

/** What the worker sends: output as it happens, then the outcome. */
type WorkerMessage = { kind: "stdout" | "stderr"; text: string } | { kind: "done"; outcome: CliOutcome };

if (isMainThread) {
  const { colourDiagnostics, wantsColour } = await import("./colour.js");
  const colourOut = wantsColour(process.stdout.isTTY);
  const colourErr = wantsColour(process.stderr.isTTY);
  const io = {
    stdout: (text: string) => void process.stdout.write(colourOut ? colourDiagnostics(text) : text),
    stderr: (text: string) => void process.stderr.write(colourErr ? colourDiagnostics(text) : text),
  };
  const stop = new AbortController();
  const onSigint = () => stop.abort();
  const args = process.argv.slice(2);
  // Only a watch waits for Ctrl-C to stop cleanly; any other command keeps Node's default (exit at once).
  if (args.includes("--watch")) {
    process.once("SIGINT", onSigint);
    process.once("SIGTERM", onSigint);
  }
  const outcome = COMPILING.has(args[0] ?? "") ? await onWorker(args, io, stop.signal) : await (await import("./estc.js")).runCliAsync(args, io, stop.signal);
  process.off("SIGINT", onSigint);
  process.off("SIGTERM", onSigint);
  if (outcome.stdout !== "") io.stdout(outcome.stdout);
  if (outcome.stderr !== "") io.stderr(outcome.stderr);
  process.exitCode = outcome.code;
} else {
  const { runCliAsync } = await import("./estc.js");
  const port = parentPort!;
  const stop = new AbortController();
  port.on("message", (m) => {
    if (m === "abort") stop.abort();
  });
  // The port alone must not keep the worker alive once the command is done.
  port.unref();
  const send = (m: WorkerMessage) => port.postMessage(m);
  const io = { stdout: (text: string) => send({ kind: "stdout", text }), stderr: (text: string) => send({ kind: "stderr", text }) };
  send({ kind: "done", outcome: await runCliAsync(workerData as string[], io, stop.signal) });
}

/** Runs the CLI on a worker with a deep stack; a worker that dies without an answer is an internal error. */
function onWorker(args: string[], io: { stdout(text: string): void; stderr(text: string): void }, signal: AbortSignal): Promise<CliOutcome> {
  return new Promise((resolve) => {
    let answered = false;
    const worker = new Worker(new URL(import.meta.url), { workerData: args, resourceLimits: { stackSizeMb: STACK_MB } });
    signal.addEventListener("abort", () => worker.postMessage("abort"), { once: true });
    worker.on("message", (m: WorkerMessage) => {
      if (m.kind === "done") {
        answered = true;
        resolve(m.outcome);
      } else io[m.kind](m.text);
    });
    const died = (why: string) => {
      if (answered) return;
      answered = true;
      resolve({ stdout: "", stderr: `estc: internal error — this is a bug in estc, not in your program.\nPlease report it with the command you ran and the message below:\n\n${why}\n`, code: 2 });
    };
    worker.on("error", (e) => died(e.stack ?? e.message));
    worker.on("exit", (code) => died(`the compiler thread exited with code ${code} before it answered`));
  });
}
