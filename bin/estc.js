#!/usr/bin/env node
// The estc command: the compiled CLI lives in dist/ (built by `npm ci` through `prepare`).
import("../dist/cli/main.js").catch((e) => {
  process.stderr.write(
    `estc: cannot start (${e && e.message ? e.message : e}).\n` +
      "If you are in a checkout, run `npm ci` (or `npm run build`) first.\n",
  );
  process.exitCode = 2;
});
