// Serves the built playground (playground/dist) on http://127.0.0.1:PORT and prints the URL:
// `npm run playground` builds it first. A static file server with node:http only, so the page
// works as it will on any static host. PORT defaults to 5178, or the next free port after it;
// HOST to 127.0.0.1 (set HOST=0.0.0.0 to reach it from another machine).
import { createReadStream, existsSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("./dist/", import.meta.url));
const host = process.env.HOST ?? "127.0.0.1";
const firstPort = Number(process.env.PORT ?? 5178);
const types = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".wasm": "application/wasm",
};

if (!existsSync(join(root, "index.html"))) {
  console.error(`estc playground: ${root} has no index.html; build it first with npm run playground:build`);
  process.exit(1);
}

/** The file under dist/ that a URL path names, or undefined when it would leave dist/ or is not a file. */
function fileFor(url) {
  let path;
  try {
    path = decodeURIComponent(new URL(url ?? "/", "http://x").pathname);
  } catch {
    return undefined;
  }
  const file = join(root, normalize(path.endsWith("/") ? `${path}index.html` : path));
  if (!file.startsWith(root) && `${file}${sep}` !== root) return undefined;
  return existsSync(file) && statSync(file).isFile() ? file : undefined;
}

const server = createServer((req, res) => {
  if (req.method !== "GET" && req.method !== "HEAD") return void res.writeHead(405).end();
  const file = fileFor(req.url);
  if (file === undefined) return void res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
  res.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream", "cache-control": "no-cache" });
  if (req.method === "HEAD") return void res.end();
  createReadStream(file).pipe(res);
});

function listen(port, triesLeft) {
  server.once("error", (e) => {
    if (e.code === "EADDRINUSE" && triesLeft > 0) return listen(port + 1, triesLeft - 1);
    console.error(`estc playground: cannot listen on ${host}:${port}: ${e.message}`);
    process.exit(1);
  });
  server.listen(port, host, () => {
    const shown = host === "0.0.0.0" ? "127.0.0.1" : host;
    console.log(`estc playground: http://${shown}:${port}/  (serving ${root}; Ctrl-C stops it)`);
  });
}
listen(firstPort, 20);
