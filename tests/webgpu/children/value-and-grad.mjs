// Runs fn `name` of a generated module's valueAndGrad on a WebGPU device, in a process of its own
// so a shader compiler crash or hang fails one test instead of the worker. argv: module, fn,
// JSON array x (the fn's one f32[N] input, named x). Prints
// { value, grad, ms } with the gradient's elements and the call's wall time, pipelines included.
import { pathToFileURL } from "node:url";
import { tensor, webgpu } from "estc/runtime";

const [modulePath, name, xs] = process.argv.slice(2);
const mod = await import(pathToFileURL(modulePath).href);
const device = await webgpu();
const x = JSON.parse(xs);
const start = performance.now();
const { value, grads } = await mod[name].valueAndGrad({ x: tensor(x, [x.length]) }, { device });
const out = { value: (await value.data())[0], grad: [...(await grads.x.data())] };
process.stdout.write(`${JSON.stringify({ ...out, ms: Math.round(performance.now() - start) })}\n`);
device.destroy();
