/**
 * Plan pruning for the `wrt` option: a gradient plan cut down to the outputs a caller asked for,
 * without the steps that only feed the others. In a training loop the data's gradient (`x` of
 * `loss(x, w1, w2)`) is usually never read; dropping it removes the first layer's `ct @ w1ᵀ`, a
 * whole matrix product, the same cut JAX's `argnums` gets from XLA's dead-code pass.
 *
 * Plans are in single-assignment form: every buffer is written by exactly one step — the first
 * step that touches it — or filled from the caller (a plan input). So a step is needed when a
 * buffer it writes is needed, and a needed step needs every buffer it touches. A kept kernel that
 * also writes a buffer nobody needs (a fused kernel computing two gradients) still runs; the
 * executors allocate that buffer as scratch and free it after the step, as for any intermediate.
 */
import type { EntryPlan, Step } from "./plan.js";
import { stepBuffers } from "./plan-buffers.js";

/** The buffers step `s` of `plan` writes: a kernel's first touches, a structural step's `out`. */
export function stepWrites(plan: EntryPlan, s: number, firstTouch: ReadonlyMap<number, number>): number[] {
  const step: Step = plan.steps[s]!;
  if (step.op !== "kernel") return [step.out];
  return step.args.filter((b) => firstTouch.get(b) === s);
}

/** Buffer → the index of the first step that touches it, for buffers that are not plan inputs. */
export function firstTouches(plan: EntryPlan): Map<number, number> {
  const inputs = new Set(plan.inputs.map((i) => i.buffer));
  const first = new Map<number, number>();
  plan.steps.forEach((step, s) => {
    for (const b of stepBuffers(step)) if (!inputs.has(b) && !first.has(b)) first.set(b, s);
  });
  return first;
}

/**
 * `plan` returning only `plan.outputs[k]` for each `k` of `keep` (in that order), with the steps
 * and the inputs no kept output depends on removed (a caller need not pass a dropped input). The
 * buffer list stays as it is: a buffer no kept step touches is never allocated.
 */
export function prunePlan(plan: EntryPlan, keep: readonly number[]): EntryPlan {
  const outputs = keep.map((k) => plan.outputs[k]!);
  const firstTouch = firstTouches(plan);
  const needed = new Set(outputs);
  const kept: boolean[] = new Array(plan.steps.length).fill(false);
  for (let s = plan.steps.length - 1; s >= 0; s--) {
    if (!stepWrites(plan, s, firstTouch).some((b) => needed.has(b))) continue;
    kept[s] = true;
    for (const b of stepBuffers(plan.steps[s]!)) needed.add(b);
  }
  return {
    ...plan,
    inputs: plan.inputs.filter((i) => needed.has(i.buffer)),
    outputs,
    steps: plan.steps.filter((_, s) => kept[s]),
  };
}

const cache = new WeakMap<EntryPlan, Map<string, EntryPlan>>();

/** {@link prunePlan}, computed once per plan and set of kept outputs. */
export function prunedPlan(plan: EntryPlan, keep: readonly number[]): EntryPlan {
  if (keep.length === plan.outputs.length && keep.every((k, i) => k === i)) return plan;
  let byKey = cache.get(plan);
  if (byKey === undefined) cache.set(plan, (byKey = new Map()));
  const key = keep.join(",");
  let pruned = byKey.get(key);
  if (pruned === undefined) byKey.set(key, (pruned = prunePlan(plan, keep)));
  return pruned;
}
