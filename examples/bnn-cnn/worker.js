// One training run of train.js in its own thread (--jobs > 1): the data arrive in shared memory,
// progress and the result go back as messages.
import { parentPort, workerData } from "node:worker_threads";
import { ESTIMATORS } from "./model.js";
import { trainOne } from "./run.js";

const { name, data, config } = workerData;
const estimator = ESTIMATORS.find((e) => e.name === name);
if (!estimator || !parentPort) throw new Error(`worker.js: no estimator '${name}' or not in a worker`);
const port = parentPort;
try {
  const result = await trainOne(estimator, data, config, (info) => port.postMessage({ kind: "tick", info }));
  port.postMessage({ kind: "result", result });
} catch (error) {
  port.postMessage({ kind: "error", message: error instanceof Error ? error.message : String(error) });
}
