// Command-line options for the examples: `--name value`, `--name=value`, boolean `--flag` /
// `--no-flag`, numbers checked as numbers, and the two every example has: `--smoke` and `--out DIR`.
// The defaults object is the schema: an option's type is its default's type (undefined = string).

/**
 * @typedef {string | number | boolean | undefined} OptionValue
 * @typedef {Record<string, OptionValue>} Defaults
 */

/** A mistake on the command line (unknown option, missing or malformed value). */
export class ArgsError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = "ArgsError";
  }
}

/**
 * `batchSize` -> `batch-size`.
 * @param {string} key
 */
const toFlag = (key) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
/**
 * `batch-size` -> `batchSize`.
 * @param {string} flag
 */
const toKey = (flag) => flag.replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase());

/**
 * @typedef {object} UsageOptions
 * @property {string} [program] the script name shown in the usage (default train.js)
 * @property {Record<string, string>} [help] one line per option key, shown instead of its default
 */

/**
 * The usage text listing every option with its default (or its `help` line).
 * @param {Defaults} defaults
 * @param {string | UsageOptions} [info] the program name, or { program, help }
 * @returns {string}
 */
export function usage(defaults, info = {}) {
  const { program = "train.js", help = {} } = typeof info === "string" ? { program: info } : info;
  const all = withCommon(defaults);
  /** @type {Record<string, string>} */
  const common = { smoke: "a tiny run of the same code path", out: "the output directory" };
  const lines = Object.entries(all).map(([key, value]) => {
    const kind = typeof value === "boolean" ? "" : typeof value === "number" ? " N" : " VALUE";
    const text = help[key] ?? common[key];
    const shown = text !== undefined ? `  ${text}` : value === undefined || typeof value === "boolean" ? "" : `  (default ${value})`;
    return `  --${toFlag(key)}${kind}${shown}`;
  });
  return `usage: node ${program} [options]\n${lines.join("\n")}\n  --help`;
}

/**
 * @template {Defaults} T
 * @param {T} defaults
 * @returns {T & { smoke: boolean, out: string | undefined }}
 */
function withCommon(defaults) {
  return /** @type {T & { smoke: boolean, out: string | undefined }} */ ({ smoke: false, out: undefined, ...defaults });
}

/**
 * Parses `argv` (without node and the script) against `defaults`; throws ArgsError on a mistake.
 * `--help` gives `{ help: true }` in the result.
 * @template {Defaults} T
 * @param {readonly string[]} argv
 * @param {T} defaults
 * @returns {T & { smoke: boolean, out: string | undefined, help?: boolean }}
 */
export function tryParseArgs(argv, defaults) {
  /** @type {Record<string, OptionValue>} */
  const options = { ...withCommon(defaults) };
  const known = new Set(Object.keys(options));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--help" || arg === "-h") {
      options.help = true;
      continue;
    }
    if (!arg.startsWith("--") || arg === "--") {
      throw new ArgsError(`unexpected argument '${arg}' (options start with --)`);
    }
    const eq = arg.indexOf("=");
    const flag = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    let inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
    let key = toKey(flag);
    let negated = false;
    if (!known.has(key) && flag.startsWith("no-") && typeof options[toKey(flag.slice(3))] === "boolean") {
      key = toKey(flag.slice(3));
      negated = true;
    }
    if (!known.has(key)) {
      const names = [...known].map((k) => `--${toFlag(k)}`).join(", ");
      throw new ArgsError(`unknown option '--${flag}' (known: ${names}, --help)`);
    }
    const current = withCommon(defaults)[key];
    if (typeof current === "boolean") {
      if (negated && inline !== undefined) throw new ArgsError(`option '--${flag}' takes no value`);
      if (inline === undefined) options[key] = !negated;
      else if (inline === "true" || inline === "1") options[key] = true;
      else if (inline === "false" || inline === "0") options[key] = false;
      else throw new ArgsError(`option '--${flag}' is a flag: expected true or false, got '${inline}'`);
      continue;
    }
    if (inline === undefined) {
      if (i + 1 >= argv.length) throw new ArgsError(`option '--${flag}' needs a value`);
      inline = argv[++i];
    }
    if (typeof current === "number") {
      const value = inline.trim() === "" ? NaN : Number(inline);
      if (!Number.isFinite(value)) throw new ArgsError(`option '--${flag}' needs a number, got '${inline}'`);
      options[key] = value;
    } else {
      options[key] = inline;
    }
  }
  return /** @type {T & { smoke: boolean, out: string | undefined, help?: boolean }} */ (options);
}

/**
 * Parses the command line; on a mistake prints `error: ...` and the usage to stderr and exits with
 * code 2; on `--help` prints the usage and exits with code 0.
 * @template {Defaults} T
 * @param {readonly string[]} argv usually `process.argv.slice(2)`
 * @param {T} defaults
 * @param {string | UsageOptions} [info] the program name shown in the usage, or { program, help }
 * @returns {T & { smoke: boolean, out: string | undefined }}
 */
export function parseArgs(argv, defaults, info) {
  try {
    const options = tryParseArgs(argv, defaults);
    if (options.help) {
      process.stdout.write(`${usage(defaults, info)}\n`);
      process.exit(0);
    }
    return options;
  } catch (error) {
    if (!(error instanceof ArgsError)) throw error;
    process.stderr.write(`error: ${error.message}\n${usage(defaults, info)}\n`);
    process.exit(2);
  }
}
