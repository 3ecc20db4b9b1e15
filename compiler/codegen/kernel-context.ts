/**
 * What every target's kernel printer (ts/, wgsl/, wasm/) asks of the generated module: where a
 * kernel finds a shape symbol or a runtime scalar.
 */

/** How a kernel names its inputs: dims, scalars and buffer parameters. */
export interface KernelContext {
  /** Index of a shape symbol in FunctionSpec.dims. */
  dimIndex(name: string): number;
  /** Index of a runtime scalar in FunctionSpec.scalars. */
  scalarIndex(name: string): number;
}
