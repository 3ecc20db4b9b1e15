/** Process entry point of `estc`: runs the CLI and sets the exit code. */
import { runCliAsync } from "./estc.js";

const outcome = await runCliAsync(process.argv.slice(2));
if (outcome.stdout !== "") process.stdout.write(outcome.stdout);
if (outcome.stderr !== "") process.stderr.write(outcome.stderr);
process.exitCode = outcome.code;
