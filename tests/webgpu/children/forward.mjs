// Runs fn `name` of a generated module forward on a WebGPU device, in a process of its own so a
// shader compiler crash fails one test instead of the worker. argv: module, fn, JSON array x
// (the fn's one f32[N] input). Prints the result's elements as a JSON array.
import { pathToFileURL } from "node:url";
import { tensor, webgpu } from "estc/runtime";

const [modulePath, name, xs] = process.argv.slice(2);
const mod = await import(pathToFileURL(modulePath).href);
const device = await webgpu();
const x = JSON.parse(xs);
const y = await mod[name].forward({ x: tensor(x, [x.length]) }, { device });
process.stdout.write(`${JSON.stringify([...(await y.data())])}\n`);
device.destroy();
