/** Shared assertions for the numeric tests. */
import { expect } from "vitest";

/** Elementwise closeness with a relative tolerance (absolute below magnitude 1), naming the element. */
export function expectClose(got: ArrayLike<number> | undefined, want: readonly number[], tol: number, what: string): void {
  expect(got, what).toBeDefined();
  const g = Array.from(got!);
  expect(g.length, what).toBe(want.length);
  g.forEach((v, i) => {
    expect(Math.abs(v - want[i]!), `${what}, element ${i}: got ${v}, want ${want[i]}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(want[i]!)));
  });
}

/**
 * ulps between two f32 values: how many representable f32 lie between them (0 when equal, +0
 * and -0 included; NaN equals NaN and is Infinity ulps from anything else).
 */
export function ulps(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b) ? 0 : Infinity;
  if (a === b) return 0;
  const i = new Int32Array(new Float32Array([a, b]).buffer);
  const key = (x: number) => (x < 0 ? -2147483648 - x : x);
  return Math.abs(key(i[0]!) - key(i[1]!));
}
