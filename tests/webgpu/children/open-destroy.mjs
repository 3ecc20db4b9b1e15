// Opens a WebGPU device and destroys it with nothing run on it; the process must then exit 0
// (tests/webgpu/lifetimes.test.ts runs this in a child process).
import { webgpu } from "estc/runtime";

const device = await webgpu();
device.destroy();
process.stdout.write("destroyed\n");
