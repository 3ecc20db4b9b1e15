// Types for args.js.
export type OptionValue = string | number | boolean | undefined;
export type Defaults = Record<string, OptionValue>;
export type Parsed<T extends Defaults> = T & { smoke: boolean; out: string | undefined };
export class ArgsError extends Error {}
export interface UsageOptions {
  program?: string;
  help?: Record<string, string>;
}
export function usage(defaults: Defaults, info?: string | UsageOptions): string;
export function tryParseArgs<T extends Defaults>(argv: readonly string[], defaults: T): Parsed<T> & { help?: boolean };
export function parseArgs<T extends Defaults>(argv: readonly string[], defaults: T, info?: string | UsageOptions): Parsed<T>;
