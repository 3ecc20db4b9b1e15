/**
 * Colour for the CLI's diagnostics, applied to the rendered text only when it goes to a terminal:
 * `NO_COLOR` (any non-empty value, https://no-color.org) turns it off, `FORCE_COLOR` (any value
 * but "0" or "false", the empty string included, as Node's own tty module reads it) turns it on
 * for a pipe. The text is the same with or without colour, so tests and `--format
 * json` never see escape codes.
 */

/** Whether to colour output written to a stream with this `isTTY`, given the environment. */
export function wantsColour(isTTY: boolean | undefined, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env["NO_COLOR"] !== undefined && env["NO_COLOR"] !== "") return false;
  const force = env["FORCE_COLOR"];
  if (force !== undefined) return force !== "0" && force !== "false";
  return isTTY === true;
}

const paint = (code: string, text: string) => `\x1b[${code}m${text}\x1b[0m`;

/**
 * Diagnostics text with the location bold, `error[E…]` red, `warning[E…]` yellow, carets and
 * `hint:`/`note:` coloured; other lines unchanged.
 */
export function colourDiagnostics(text: string): string {
  return text
    .split("\n")
    .map((line) => {
      const head = /^(\S.*?:\d+:\d+: )(error|warning)(\[E\d{4}\])?(:.*)$/.exec(line);
      if (head !== null) return paint("1", head[1]!) + paint(head[2] === "error" ? "1;31" : "1;33", head[2]! + (head[3] ?? "")) + paint("1", head[4]!);
      const note = /^(\S.*?:\d+:\d+: )(note)(:.*)$/.exec(line);
      if (note !== null) return paint("1", note[1]!) + paint("1;36", note[2]!) + note[3];
      if (line.startsWith("hint: ")) return paint("1;36", "hint:") + line.slice(5);
      if (/^\s*\|\s*\^+\s*$/.test(line)) return line.replace(/\^+/, (carets) => paint("1;31", carets));
      if (/^estc: internal error/.test(line)) return paint("1;31", line);
      return line;
    })
    .join("\n");
}
