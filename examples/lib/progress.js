// A progress bar for the examples: redrawn in place on stderr when it is a terminal, one line per
// ~10% otherwise (CI logs, pipes), so a long run shows it is alive without flooding a log.

/**
 * @typedef {object} ProgressOptions
 * @property {NodeJS.WritableStream & { isTTY?: boolean }} [stream] where to draw (default process.stderr)
 * @property {boolean} [tty] force the in-place bar (true) or the line-per-10% mode (false)
 * @property {number} [width] bar width in characters (default 20)
 * @property {() => number} [now] clock in milliseconds (default performance.now; for tests)
 */

/**
 * @typedef {object} Progress
 * @property {(info?: string) => void} tick advance by one step; `info` is shown after the bar
 * @property {(info?: string) => void} done finish the bar (prints the final line once)
 */

/**
 * Formats seconds as `12.3s` or `2m05s`.
 * @param {number} seconds
 * @returns {string}
 */
export function formatElapsed(seconds) {
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const m = Math.floor(seconds / 60);
  const s = Math.floor(seconds - 60 * m);
  return `${m}m${String(s).padStart(2, "0")}s`;
}

/**
 * One progress line: `label [#####.....] 40% epoch 4/10 acc 0.91 (3.2s)`.
 * @param {string} label
 * @param {number} count
 * @param {number} total
 * @param {string} info
 * @param {number} seconds elapsed
 * @param {number} width
 * @returns {string}
 */
export function formatProgress(label, count, total, info, seconds, width = 20) {
  const fraction = total > 0 ? Math.min(1, count / total) : 1;
  const filled = Math.round(fraction * width);
  const bar = "#".repeat(filled) + ".".repeat(width - filled);
  const percent = `${Math.floor(100 * fraction)}%`.padStart(4);
  const parts = [label, `[${bar}]`, percent];
  if (info) parts.push(info);
  parts.push(`(${formatElapsed(seconds)})`);
  return parts.filter((p) => p !== "").join(" ");
}

/**
 * Starts a progress display for `total` steps.
 * @param {string} label shown before the bar
 * @param {number} total number of `tick()` calls expected
 * @param {ProgressOptions} [options]
 * @returns {Progress}
 */
export function progress(label, total, options = {}) {
  if (!Number.isFinite(total) || total < 0) throw new RangeError(`progress: total must be a count >= 0, got ${total}`);
  const stream = options.stream ?? process.stderr;
  const tty = options.tty ?? Boolean(stream.isTTY);
  const width = options.width ?? 20;
  const now = options.now ?? (() => performance.now());
  const start = now();
  let count = 0;
  let lastDecile = 0;
  let lastInfo = "";
  let finished = false;
  const line = () => formatProgress(label, count, total, lastInfo, (now() - start) / 1000, width);

  return {
    tick(info) {
      if (finished) return;
      count++;
      if (info !== undefined) lastInfo = info;
      if (tty) {
        stream.write(`\r\x1b[2K${line()}`);
        return;
      }
      const decile = total > 0 ? Math.floor((10 * Math.min(count, total)) / total) : 10;
      if (decile > lastDecile && count < total) {
        lastDecile = decile;
        stream.write(`${line()}\n`);
      }
    },
    done(info) {
      if (finished) return;
      finished = true;
      if (info !== undefined) lastInfo = info;
      count = Math.max(count, total);
      stream.write(tty ? `\r\x1b[2K${line()}\n` : `${line()}\n`);
    },
  };
}
