// Types for mnist.js.
export const FASHION_MNIST_DIR: string;
export const FASHION_MNIST_INSTALL: string;
export const FASHION_MNIST_MEAN: number;
export const FASHION_MNIST_STD: number;
export interface PixelStats {
  mean: number;
  std: number;
}
export interface ImageSplit {
  images: Float32Array;
  labels: Int32Array;
  n: number;
}
export interface ImageData {
  dir: string;
  name: string;
  train: ImageSplit;
  test: ImageSplit;
  rows: number;
  cols: number;
  normalise: "standard" | "unit";
  stats: PixelStats;
}
export interface LoadImageOptions {
  dir?: string;
  defaultDir?: string;
  normalise?: "standard" | "unit";
  trainLimit?: number;
  testLimit?: number;
}
export function pixelStats(values: ArrayLike<number>): PixelStats;
export function standardise(values: ArrayLike<number>, stats: PixelStats): Float32Array;
export function loadImageData(options?: LoadImageOptions): ImageData | { missing: string };
