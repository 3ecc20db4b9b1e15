/**
 * A real Chromium for tests: finds the executable, launches it headless with WebGPU on
 * (SwiftShader's Vulkan driver where there is no GPU), serves files over HTTP on 127.0.0.1 and
 * collects what a page reports as errors. puppeteer-core drives it and downloads no browser: the
 * executable is the system's (`apt-get install chromium`, which .ci/run does) or $CHROME_PATH.
 *
 * Used by the runtime's browser suite (tests/browser/*.test.ts) and the playground's tests.
 */
import { existsSync, promises as fs } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize, resolve, sep } from "node:path";
import puppeteer, { type Browser, type ConsoleMessage, type HTTPRequest, type Page } from "puppeteer-core";

/** Where Chromium is looked for when $CHROME_PATH is unset, in order (Debian, Ubuntu, Chrome). */
export const CHROMIUM_CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"] as const;

/**
 * The Chromium executable: $CHROME_PATH when set (it must exist), else the first of
 * {@link CHROMIUM_CANDIDATES} that exists. Returns `{ path }` or `{ missing }` with a sentence a
 * skipped test can print as its reason.
 */
export function findChromium(): { path: string } | { missing: string } {
  const fromEnv = process.env["CHROME_PATH"];
  if (fromEnv !== undefined && fromEnv !== "") {
    return existsSync(fromEnv) ? { path: fromEnv } : { missing: `$CHROME_PATH is ${fromEnv}, which does not exist` };
  }
  const path = CHROMIUM_CANDIDATES.find((p) => existsSync(p));
  if (path !== undefined) return { path };
  return {
    missing:
      `no Chromium at ${CHROMIUM_CANDIDATES.join(", ")} and $CHROME_PATH is unset ` +
      "(install it with 'apt-get install --no-install-recommends chromium', as .ci/run does)",
  };
}

/**
 * The command-line flags tests launch Chromium with. `--no-sandbox`: CI runs as root, where
 * Chromium's sandbox refuses to start. `--enable-unsafe-webgpu`: without it headless Linux
 * Chromium gives no adapter at all; with it, on a machine without a GPU, `requestAdapter()`
 * returns SwiftShader's Vulkan adapter (`isFallbackAdapter: true`). `--disable-dev-shm-usage`:
 * containers often give /dev/shm 64 MB, which a renderer moving tensors outgrows.
 */
export const CHROMIUM_ARGS = ["--no-sandbox", "--enable-unsafe-webgpu", "--disable-dev-shm-usage"] as const;

/** Options of {@link launchChromium}. */
export interface LaunchOptions {
  /** Flags added to {@link CHROMIUM_ARGS}. */
  args?: string[];
  /** Milliseconds to wait for the browser to start (60 s by default: a loaded 2-core machine is slow). */
  timeoutMs?: number;
  /** Milliseconds one protocol call (a `page.evaluate`) may take; puppeteer's default is 180 s. */
  protocolTimeoutMs?: number;
}

/**
 * Launches headless Chromium with {@link CHROMIUM_ARGS}; throws with {@link findChromium}'s
 * reason when there is none (tests should check `findChromium()` first and skip). Close the
 * browser in `afterAll`.
 */
export async function launchChromium(options: LaunchOptions = {}): Promise<Browser> {
  const found = findChromium();
  if ("missing" in found) throw new Error(found.missing);
  return puppeteer.launch({
    executablePath: found.path,
    headless: true,
    args: [...CHROMIUM_ARGS, ...(options.args ?? [])],
    timeout: options.timeoutMs ?? 60_000,
    ...(options.protocolTimeoutMs === undefined ? {} : { protocolTimeout: options.protocolTimeoutMs }),
  });
}

/** Content types by extension; a browser refuses ES modules and Wasm served under another one. */
const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".wasm": "application/wasm",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".est": "text/plain; charset=utf-8",
  ".wgsl": "text/plain; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".ttf": "font/ttf",
  ".woff2": "font/woff2",
};

/** Options of {@link startStaticServer}. */
export interface StaticServerOptions {
  /** URL prefix (`/gen/`) → a directory served under it; `/` → the default root. Longest prefix wins. */
  mounts: Record<string, string>;
  /** Exact URL paths answered with this text (an HTML page built by the test, say); checked first. */
  pages?: Record<string, string>;
  /**
   * Sends COOP/COEP headers so pages are cross-origin isolated (`crossOriginIsolated`, and with it
   * SharedArrayBuffer). Off by default, which is what most sites serve.
   */
  crossOriginIsolated?: boolean;
}

/** A running static server: its origin (`http://127.0.0.1:PORT`) and how to stop it. */
export interface StaticServer {
  readonly origin: string;
  readonly port: number;
  /** URL paths requested that were answered 404, for tests that want none. */
  readonly notFound: string[];
  close(): Promise<void>;
}

/**
 * Serves files on 127.0.0.1 at a port the OS picks (so parallel test files never collide),
 * without caching, refusing paths that climb out of a mount. Only GET and HEAD.
 */
export async function startStaticServer(options: StaticServerOptions): Promise<StaticServer> {
  const mounts = Object.entries(options.mounts)
    .map(([prefix, dir]) => [prefix.endsWith("/") ? prefix : `${prefix}/`, resolve(dir)] as const)
    .sort((a, b) => b[0].length - a[0].length);
  const notFound: string[] = [];
  const headers = (type: string): Record<string, string> => ({
    "content-type": type,
    "cache-control": "no-store",
    ...(options.crossOriginIsolated === true
      ? { "cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp" }
      : {}),
  });
  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
      if (req.method !== "GET" && req.method !== "HEAD") {
        res.writeHead(405).end();
        return;
      }
      const page = options.pages?.[path];
      // Every page asks for one; an empty answer keeps a 404 for it out of the collected errors.
      if (page === undefined && path === "/favicon.ico") {
        res.writeHead(204, headers("image/x-icon")).end();
        return;
      }
      if (page !== undefined) {
        res.writeHead(200, headers(CONTENT_TYPES[extname(path)] ?? CONTENT_TYPES[".html"]!)).end(req.method === "HEAD" ? undefined : page);
        return;
      }
      const file = resolveFile(mounts, path);
      const body = file === undefined ? undefined : await fs.readFile(file).catch(() => undefined);
      if (file === undefined || body === undefined) {
        notFound.push(path);
        res.writeHead(404, headers("text/plain")).end(`not found: ${path}`);
        return;
      }
      res.writeHead(200, headers(CONTENT_TYPES[extname(file)] ?? "application/octet-stream")).end(req.method === "HEAD" ? undefined : body);
    })().catch((e: unknown) => {
      res.writeHead(500).end(String(e));
    });
  });
  await new Promise<void>((settle, fail) => {
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => settle());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    notFound,
    close: () =>
      new Promise<void>((settle) => {
        server.closeAllConnections();
        server.close(() => settle());
      }),
  };
}

/** The file a URL path names under the longest matching mount, or undefined when it would leave it. */
function resolveFile(mounts: readonly (readonly [string, string])[], path: string): string | undefined {
  const mount = mounts.find(([prefix]) => path.startsWith(prefix) || `${path}/` === prefix);
  if (mount === undefined) return undefined;
  const [prefix, dir] = mount;
  const rest = normalize(path.slice(prefix.length) || "index.html");
  const file = join(dir, rest.endsWith(sep) ? `${rest}index.html` : rest);
  return file === dir || file.startsWith(dir + sep) ? file : undefined;
}

/**
 * An HTML page whose import map maps `imports` (`{ "estc/runtime": "/dist/runtime/index.js" }`)
 * and which then runs `moduleSource` (an ES module; may be empty) — how a site without a bundler
 * loads the runtime and generated modules. Under vitest, a function given to `page.evaluate`
 * cannot `import()` (vitest rewrites import() in test code into a helper the page lacks): let
 * `moduleSource` put what the tests call on globalThis, and wait for it with `waitForFunction`.
 */
export function importMapPage(imports: Record<string, string>, moduleSource = "", title = "estc test"): string {
  const map = JSON.stringify({ imports }, null, 2);
  return [
    "<!doctype html>",
    `<html><head><meta charset="utf-8"><title>${title}</title>`,
    `<script type="importmap">\n${map}\n</script>`,
    moduleSource === "" ? "" : `<script type="module">\n${moduleSource}\n</script>`,
    "</head><body></body></html>",
  ].join("\n");
}

/** What went wrong in a page while it was watched: console errors, uncaught exceptions, failed loads. */
export interface PageErrors {
  /** One line per problem, in the order they happened (`console.error: ...`, `pageerror: ...`, `requestfailed: ...`). */
  readonly errors: string[];
  /** Stops watching (the lines stay). */
  stop(): void;
}

/**
 * Starts collecting `page`'s problems: `console.error` (and, with `warnings`, `console.warn`)
 * messages, uncaught exceptions and unhandled rejections (`pageerror`), and requests that failed
 * or were answered with status >= 400 (a module a page could not load). Call before `goto`.
 */
export function collectPageErrors(page: Page, options: { warnings?: boolean } = {}): PageErrors {
  const errors: string[] = [];
  const onConsole = (m: ConsoleMessage) => {
    if (m.type() === "error" || (options.warnings === true && m.type() === "warn")) {
      const at = m.location().url;
      errors.push(`console.${m.type()}: ${m.text()}${at === undefined || at === "" ? "" : ` (${at})`}`);
    }
  };
  const onPageError = (e: unknown) => errors.push(`pageerror: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  const onFailed = (r: HTTPRequest) => errors.push(`requestfailed: ${r.url()} (${r.failure()?.errorText ?? "?"})`);
  const onResponse = (r: { status(): number; url(): string }) => {
    if (r.status() >= 400) errors.push(`http ${r.status()}: ${r.url()}`);
  };
  page.on("console", onConsole);
  page.on("pageerror", onPageError);
  page.on("requestfailed", onFailed);
  page.on("response", onResponse);
  return {
    errors,
    stop: () => {
      page.off("console", onConsole);
      page.off("pageerror", onPageError);
      page.off("requestfailed", onFailed);
      page.off("response", onResponse);
    },
  };
}
