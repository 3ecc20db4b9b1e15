/**
 * Process entry point of `estc`: runs the CLI, writes its output (diagnostics coloured only on a
 * terminal, see ./colour.ts), sets the exit code. Ctrl-C stops `estc build --watch` cleanly.
 */
import { colourDiagnostics, wantsColour } from "./colour.js";
import { runCliAsync } from "./estc.js";

const colourOut = wantsColour(process.stdout.isTTY);
const colourErr = wantsColour(process.stderr.isTTY);
const io = {
  stdout: (text: string) => void process.stdout.write(colourOut ? colourDiagnostics(text) : text),
  stderr: (text: string) => void process.stderr.write(colourErr ? colourDiagnostics(text) : text),
};
const stop = new AbortController();
const onSigint = () => stop.abort();
process.once("SIGINT", onSigint);
process.once("SIGTERM", onSigint);

const outcome = await runCliAsync(process.argv.slice(2), io, stop.signal);
process.off("SIGINT", onSigint);
process.off("SIGTERM", onSigint);
if (outcome.stdout !== "") io.stdout(outcome.stdout);
if (outcome.stderr !== "") io.stderr(outcome.stderr);
process.exitCode = outcome.code;
