/** The estc runtime: what generated modules import. */
export const runtimeVersion = "0.1.0";
