import { describe, expect, it } from "vitest";
import {
  EstcRuntimeError,
  MemoryStats,
  Tensor,
  cpu,
  createCpuDevice,
  formatInputMismatch,
  scalar,
  tensor,
  zeros,
} from "../../runtime/index.js";

const withCode = (code: string) => expect.objectContaining({ code });

describe("tensor()", () => {
  it("takes its dtype from the array type, f32 for a plain array", () => {
    expect(tensor(new Float32Array(6), [2, 3]).dtype).toBe("f32");
    expect(tensor(new Int32Array(6), [2, 3]).dtype).toBe("i32");
    expect(tensor(new Uint8Array(2), [2]).dtype).toBe("bool");
    const t = tensor([1, 2, 3, 4, 5, 6], [3, 2]);
    expect([t.dtype, t.size, t.shape, t.device]).toEqual(["f32", 6, [3, 2], "cpu"]);
    expect(tensor([1, -2], [2], "i32").dataSync()).toEqual(new Int32Array([1, -2]));
  });

  it("copies the data in and out", () => {
    const source = new Float32Array([1, 2]);
    const t = tensor(source, [2]);
    source[0] = 9;
    const out = t.dataSync();
    out[1] = 9;
    expect(t.dataSync()).toEqual(new Float32Array([1, 2]));
  });

  it("rejects a length that is not the shape's product with E6001", () => {
    expect(() => tensor([1, 2, 3], [2, 2])).toThrow(withCode("E6001"));
    expect(() => tensor([1, 2, 3], [2, 2])).toThrow("data has 3 elements but shape [2, 2] holds 4");
    expect(() => tensor([], [0, 5])).not.toThrow();
  });

  it("rejects a negative, fractional or infinite dim with E6002", () => {
    for (const shape of [[-1], [1.5], [Infinity], [NaN]]) {
      expect(() => zeros(shape)).toThrow(withCode("E6002"));
    }
  });

  it("rejects a dtype the data cannot hold with E6005", () => {
    expect(() => tensor(new Float32Array(2), [2], "i32")).toThrow(withCode("E6005"));
    expect(() => tensor([1.5], [1], "i32")).toThrow(withCode("E6005"));
    expect(() => tensor([2 ** 31], [1], "i32")).toThrow(withCode("E6005"));
    expect(() => tensor([2], [1], "bool")).toThrow(withCode("E6005"));
  });

  it("throws EstcRuntimeError, whose message carries the code", () => {
    const error = (() => {
      try {
        tensor([1], [2]);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(EstcRuntimeError);
    expect((error as Error).message).toMatch(/^error\[E6001\]: /);
  });
});

describe("zeros() and scalar()", () => {
  it("zeros is zero-filled in the dtype asked for", () => {
    expect(zeros([2, 2]).dataSync()).toEqual(new Float32Array(4));
    expect(zeros([3], "bool").dataSync()).toEqual(new Uint8Array(3));
  });

  it("a scalar has rank 0 and one element", async () => {
    const s = scalar(2.5);
    expect([s.shape, s.size]).toEqual([[], 1]);
    expect(await s.data()).toEqual(new Float32Array([2.5]));
  });
});

describe("storage and disposal", () => {
  it("counts cpu bytes on the shared device and gives them back on dispose", () => {
    const before = cpu().memory.bytesAllocated;
    const f = zeros([10]);
    const b = zeros([10], "bool");
    expect(cpu().memory.bytesAllocated - before).toBe(10 * 4 + 10 * 1);
    f.dispose();
    f.dispose();
    b.dispose();
    expect(cpu().memory.bytesAllocated).toBe(before);
    expect(() => f.dataSync()).toThrow(withCode("E6004"));
    expect(f.disposed).toBe(true);
  });

  it("reads a device tensor asynchronously only", async () => {
    let freed = 0;
    const t = new Tensor([2], "f32", {
      kind: "device",
      device: "webgpu",
      handle: {},
      read: async () => new Float32Array([3, 4]),
      free: () => void freed++,
    });
    expect(t.device).toBe("webgpu");
    expect(() => t.dataSync()).toThrow(withCode("E6006"));
    expect(await t.data()).toEqual(new Float32Array([3, 4]));
    t.dispose();
    expect(freed).toBe(1);
  });

  it("refuses cpu storage whose array does not fit the shape or dtype", () => {
    const device = createCpuDevice();
    const array = device.alloc("f32", 3);
    expect(() => new Tensor([2], "f32", { kind: "cpu", device, array })).toThrow(withCode("E6001"));
    expect(() => new Tensor([3], "i32", { kind: "cpu", device, array })).toThrow(withCode("E6005"));
  });
});

describe("MemoryStats", () => {
  it("tracks live, saved and peak bytes; reset starts a new peak window", () => {
    const m = new MemoryStats();
    m.track(100);
    m.track(50);
    m.release(100);
    m.trackSaved(20);
    expect([m.bytesAllocated, m.peakBytesAllocated, m.bytesSavedForBackward]).toEqual([
      50, 150, 20,
    ]);
    m.reset();
    expect([m.bytesAllocated, m.peakBytesAllocated]).toEqual([50, 50]);
    m.releaseSaved(20);
    expect(m.bytesSavedForBackward).toBe(0);
  });

  it("treats a release of more than is live as a runtime bug", () => {
    const m = new MemoryStats();
    m.track(8);
    expect(() => m.release(9)).toThrow(RangeError);
    expect(() => m.track(-1)).toThrow(RangeError);
  });

  it("a fresh cpu device counts only its own allocations", () => {
    const device = createCpuDevice();
    device.alloc("i32", 5);
    expect(device.memory.bytesAllocated).toBe(20);
    expect(() => device.alloc("f32", -1)).toThrow(withCode("E6002"));
  });
});

describe("formatInputMismatch", () => {
  it("prints types the way .est source writes them", () => {
    const message = formatInputMismatch(
      "x",
      {
        dtype: "f32",
        dims: [
          { name: "B", size: 2 },
          { name: "I", size: 3 },
        ],
      },
      { dtype: "f32", shape: [2, 4] },
    );
    expect(message).toBe("input 'x': expected f32[B=2, I=3], got f32[2, 4]");
    expect(formatInputMismatch("o", { dtype: "f32", dims: [] }, { dtype: "i32", shape: [3] })).toBe(
      "input 'o': expected f32, got i32[3]",
    );
  });
});
