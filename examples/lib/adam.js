// Adam for the examples' host-side parameters (plain Float32Arrays): the compiled modules compute
// the losses and the gradients; the training loops own the state and update it here.

/**
 * @typedef {{ data: Float32Array, shape: number[] }} Param
 * @typedef {Record<string, Param>} Params
 * @typedef {{ lr: number, beta1?: number, beta2?: number, eps?: number, clip?: readonly string[] }} AdamOptions
 */

/**
 * Adam (Kingma & Ba 2015, arXiv:1412.6980, Algorithm 1, bias-corrected; eps outside the square
 * root as in PyTorch). `step` updates the parameters in place; the parameters named in `clip`
 * (latent binary weights) are then clipped to [-1, 1], as in BinaryConnect (Courbariaux et al.
 * 2015). `step(grads, lr)` takes the step with another learning rate (a schedule).
 * @param {Params} params
 * @param {AdamOptions} options
 */
export function adam(params, options) {
  const { lr, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, clip = [] } = options;
  /** @type {Record<string, { m: Float32Array, v: Float32Array }>} */
  const state = {};
  for (const [name, p] of Object.entries(params)) state[name] = { m: new Float32Array(p.data.length), v: new Float32Array(p.data.length) };
  let t = 0;
  return {
    /**
     * @param {Record<string, Float32Array>} grads
     * @param {number} [rate] this step's learning rate (default: the options' lr)
     */
    step(grads, rate = lr) {
      t++;
      const c1 = 1 - beta1 ** t;
      const c2 = 1 - beta2 ** t;
      for (const [name, p] of Object.entries(params)) {
        const g = grads[name];
        const { m, v } = state[name];
        const w = p.data;
        const clipped = clip.includes(name);
        for (let i = 0; i < w.length; i++) {
          m[i] = beta1 * m[i] + (1 - beta1) * g[i];
          v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
          let next = w[i] - (rate * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + eps);
          if (clipped) next = next > 1 ? 1 : next < -1 ? -1 : next;
          w[i] = next;
        }
      }
    },
  };
}
