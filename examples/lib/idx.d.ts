// Types for idx.js.
export class IdxError extends Error {}
export interface IdxArray {
  data: Uint8Array;
  shape: number[];
}
export interface MnistSplit {
  images: Float32Array;
  labels: Int32Array;
  n: number;
  rows: number;
  cols: number;
}
export const IDX_IMAGES_MAGIC: number;
export const IDX_LABELS_MAGIC: number;
export function parseIdx(bytes: Uint8Array, name?: string): IdxArray;
export function readIdx(path: string, expectedMagic?: number): IdxArray;
export function loadIdxPair(imagesPath: string, labelsPath: string): MnistSplit;
export function loadMnist(dir: string): { train: MnistSplit; test: MnistSplit };
