// Types for progress.js (the examples are plain JavaScript; tests import them from TypeScript).
export interface ProgressOptions {
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  tty?: boolean;
  width?: number;
  now?: () => number;
}
export interface Progress {
  tick(info?: string): void;
  done(info?: string): void;
}
export function formatElapsed(seconds: number): string;
export function formatProgress(label: string, count: number, total: number, info: string, seconds: number, width?: number): string;
export function progress(label: string, total: number, options?: ProgressOptions): Progress;
