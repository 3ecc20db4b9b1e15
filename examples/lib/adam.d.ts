// Types for adam.js.
export interface Param {
  data: Float32Array;
  shape: number[];
}
export type Params = Record<string, Param>;
export interface AdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  clip?: readonly string[];
}
export function adam(params: Params, options: AdamOptions): { step(grads: Record<string, Float32Array>, rate?: number): void };
