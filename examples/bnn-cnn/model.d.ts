// Types for model.js.
import type { Tensor } from "estc/runtime";
import type { Params } from "../lib/adam.js";
export interface Estimator {
  name: string;
  loss: string;
  stats: string;
  eval: string;
  binary: boolean;
  annealed: boolean;
}
export const ESTIMATORS: Estimator[];
export const BINARY: string[];
export const STATS_INPUTS: string[];
export const STATS_NAMES: string[];
export type { Params };
export interface Shape {
  c1: number;
  c2: number;
  classes: number;
  seed: number;
}
export function initParams(shape: Shape): Params;
export function paramTensors(params: Params, names?: readonly string[]): Record<string, Tensor>;
export function cosineLr(lr: number, t: number, total: number): number;
