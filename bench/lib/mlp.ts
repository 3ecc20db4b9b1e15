/**
 * The binary-MLP training step (784 -> 512 -> 512 -> 10, batch 256): seeded data, the runner
 * contract every implementation fills, and the agreement check between them. The model is
 * bench/programs/mlp.est; the peers in tfjs.ts and jax.ts write the same thing by hand.
 */
import { rng } from "./workloads.js";

export const MLP = {
  batch: 256,
  sizes: [784, 512, 512, 10] as const,
  /** Pre-activations are divided by these (sqrt of the fan-in; 28 = sqrt(784)). */
  scales: [28, 22.627417, 22.627417] as const,
  /** The inputs every implementation differentiates: the weights, not the data (estc's `wrt`, jax's argnums). */
  wrt: ["w1", "w2", "w3"],
};

/** Inputs of one step: x, the latent weights and integer labels. */
export interface MlpData {
  batch: number;
  sizes: readonly [number, number, number, number];
  x: Float32Array;
  w: Float32Array[];
  labels: Int32Array;
}

/** The loss and the gradients of w1, w2, w3. */
export interface MlpResult {
  loss: number;
  grads: Float32Array[];
}

/** One implementation's training step. */
export interface MlpRunner {
  /** One valueAndGrad of the loss with respect to the three weight matrices. */
  step(): unknown;
  result(): Promise<MlpResult>;
  dispose(): void;
}

/** x ~ U(-sqrt 3, sqrt 3) (unit variance), w ~ U(-0.1, 0.1), labels uniform in 0..9. */
export function mlpData(seed = 7): MlpData {
  const r = rng(seed);
  const { batch, sizes } = MLP;
  const x = Float32Array.from({ length: batch * sizes[0] }, () => (2 * r() - 1) * Math.sqrt(3));
  const w = [0, 1, 2].map((l) => Float32Array.from({ length: sizes[l]! * sizes[l + 1]! }, () => 0.2 * r() - 0.1));
  const labels = Int32Array.from({ length: batch }, () => Math.floor(r() * sizes[3]));
  return { batch, sizes, x, w, labels };
}

/** FLOPs of one step: 3 forward matmuls, and 5 backward ones (no gradient for the input x). */
export function mlpFlops(d: MlpData): number {
  const [a, b, c, e] = d.sizes;
  const fwd = 2 * d.batch * (a * b + b * c + c * e);
  const bwd = 2 * fwd - 2 * d.batch * a * b;
  return fwd + bwd;
}

/** |loss - ref| / |ref| and, per gradient, ||g - ref|| / ||ref||. */
export function mlpAgreement(got: MlpResult, want: MlpResult): { loss: number; grads: number[] } {
  const rel = (a: Float32Array, b: Float32Array) => {
    let num = 0;
    let den = 0;
    for (let i = 0; i < b.length; i++) {
      num += (a[i]! - b[i]!) ** 2;
      den += b[i]! ** 2;
    }
    return Math.sqrt(num / den);
  };
  return {
    loss: Math.abs(got.loss - want.loss) / Math.abs(want.loss),
    grads: want.grads.map((g, k) => (got.grads[k]?.length === g.length ? rel(got.grads[k]!, g) : Infinity)),
  };
}
