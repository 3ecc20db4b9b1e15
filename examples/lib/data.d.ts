// Types for data.js.
export interface Split {
  x: Float32Array;
  y: Int32Array;
  n: number;
  features: number;
}
export interface Task {
  train: Split;
  test: Split;
  features: number;
  classes: number;
  description: string;
}
export function mulberry32(seed: number): () => number;
export class Rng {
  constructor(seed: number);
  next(): number;
  uniform(lo?: number, hi?: number): number;
  normal(mean?: number, sd?: number): number;
  int(n: number): number;
  shuffle<A extends { length: number; [i: number]: any }>(array: A): A;
  permutation(n: number): Int32Array;
  normals(n: number, sd?: number): Float32Array;
}
export function prototypeTask(options?: { classes?: number; features?: number; noise?: number; trainSize?: number; testSize?: number; seed?: number }): Task;
export function teacherTask(options?: {
  classes?: number;
  features?: number;
  hidden?: number;
  trainSize?: number;
  testSize?: number;
  labelNoise?: number;
  seed?: number;
}): Task;
export function batches(n: number, batchSize: number, rng?: Rng, options?: { dropLast?: boolean }): Int32Array[];
export function gather(split: Split, indices: ArrayLike<number>): Split;
export function argmaxRows(logits: ArrayLike<number>, classes: number): Int32Array;
export function accuracy(logits: ArrayLike<number>, labels: ArrayLike<number>, classes: number): number;
