/**
 * `node:fs`, `node:url`, `node:module` and `node:worker_threads` for the browser bundle (aliased
 * in ../../vite.config.ts). The compiler modules the page loads import them only for the Node
 * host and for writing outputs, which the page never calls; a call that slips through says so
 * instead of failing somewhere inside an undefined.
 */
function unavailable(name: string): () => never {
  return () => {
    throw new Error(`${name} is not available in the browser (estc playground)`);
  };
}

export const existsSync = (): boolean => false;
export const realpathSync = unavailable("fs.realpathSync");
export const statSync = unavailable("fs.statSync");
export const readFileSync = unavailable("fs.readFileSync");
export const readdirSync = unavailable("fs.readdirSync");
export const accessSync = unavailable("fs.accessSync");
export const writeFileSync = unavailable("fs.writeFileSync");
export const mkdirSync = unavailable("fs.mkdirSync");
export const openSync = unavailable("fs.openSync");
export const closeSync = unavailable("fs.closeSync");
export const writeSync = unavailable("fs.writeSync");
export const fsyncSync = unavailable("fs.fsyncSync");
export const renameSync = unavailable("fs.renameSync");
export const rmSync = unavailable("fs.rmSync");
export const constants = { R_OK: 4, W_OK: 2, F_OK: 0 };
export const fileURLToPath = (u: string | URL): string => new URL(String(u)).pathname;
export const pathToFileURL = (p: string): URL => new URL(`file://${p}`);
export const createRequire = unavailable("module.createRequire");
export const isMainThread = true;
export const parentPort = null;
export const workerData = undefined;
export const Worker = unavailable("worker_threads.Worker");
export default { existsSync, realpathSync, statSync, readFileSync, readdirSync, accessSync, writeFileSync, mkdirSync, constants };
