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
