/** Process entry point of `estc`: runs the CLI and sets the exit code. */
import { runCli } from "./estc.js";

const outcome = runCli(process.argv.slice(2));
if (outcome.stdout !== "") process.stdout.write(outcome.stdout);
if (outcome.stderr !== "") process.stderr.write(outcome.stderr);
process.exitCode = outcome.code;
