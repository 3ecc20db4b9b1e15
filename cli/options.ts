/**
 * The CLI's commands as data: each names its options, so one parser serves them all, every
 * command prints its own usage (`estc build --help`), and a misspelt command or option gets a
 * "did you mean" (`estc bulid`, `--out-dri`). A new command (fmt, lsp) is one more table entry.
 */
import { visibleText } from "../compiler/escape.js";
import { closest } from "../compiler/suggest.js";

/** One `--name` option of a command: a flag, or one taking a value (from `choices` when given). */
export interface OptionSpec {
  name: string;
  /** The value's placeholder in the usage (`DIR`), absent for a flag. */
  value?: string;
  choices?: readonly string[];
  help: string;
}

/** What a command's usage says: its argument line, a one-line summary, its options. */
export interface CommandSpec {
  name: string;
  /** Positional arguments as the usage shows them (`FILE.est...`). */
  args: string;
  summary: string;
  options: readonly OptionSpec[];
  /** Lines after the options (examples, notes). */
  notes?: readonly string[];
}

/** Parsed arguments: option values (flags as "true"), positionals, or why they do not parse. */
export type Parsed = { opts: Record<string, string>; positional: string[]; error?: undefined } | { error: string };

/** Parses `args` against `spec`: `--name value`, `--name=value`, flags, and the rest positional. */
export function parseArgs(spec: CommandSpec, args: readonly string[]): Parsed {
  const opts: Record<string, string> = {};
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith("-") || a === "-") {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const name = a.replace(/^--?/, "").slice(0, eq < 0 ? undefined : eq - (a.startsWith("--") ? 2 : 1));
    const option = spec.options.find((o) => o.name === name);
    if (option === undefined || !a.startsWith("--")) {
      const guess = closest(name, spec.options.map((o) => o.name));
      return { error: `unknown option '${visibleText(a)}'${guess !== undefined ? ` — did you mean '--${guess}'?` : ""}` };
    }
    let value = "true";
    if (option.value !== undefined) {
      const next = eq >= 0 ? a.slice(eq + 1) : args[++i];
      if (next === undefined || (eq < 0 && next.startsWith("--"))) return { error: `--${name} needs a value (${option.value})` };
      value = next;
    } else if (eq >= 0) return { error: `--${name} takes no value` };
    if (option.choices !== undefined && !option.choices.includes(value)) {
      const guess = closest(value, option.choices);
      return { error: `--${name} must be ${option.choices.join(" or ")}, got '${visibleText(value)}'${guess !== undefined ? ` — did you mean '${guess}'?` : ""}` };
    }
    opts[name] = value;
  }
  return { opts, positional };
}

/** `estc NAME`'s own usage: its argument line, summary and options. */
export function commandUsage(spec: CommandSpec): string {
  const optionLine = (o: OptionSpec) => `--${o.name}${o.value !== undefined ? ` ${o.choices?.join("|") ?? o.value}` : ""}`;
  const width = Math.max(0, ...spec.options.map((o) => optionLine(o).length)) + 2;
  const lines = [`usage: estc ${spec.name}${spec.args === "" ? "" : ` ${spec.args}`}${spec.options.length > 0 ? " [options]" : ""}`, "", spec.summary];
  if (spec.options.length > 0) {
    lines.push("", "options:");
    for (const o of spec.options) lines.push(`  ${optionLine(o).padEnd(width)}${o.help}`);
  }
  if (spec.notes !== undefined) lines.push("", ...spec.notes);
  return lines.join("\n");
}

/** "did you mean 'build'?" for a misspelt command, or "". */
export function commandSuggestion(name: string, commands: readonly CommandSpec[]): string {
  const guess = closest(name, commands.map((c) => c.name));
  return guess === undefined ? "" : ` — did you mean '${guess}'?`;
}
