/**
 * Naive convolution and pooling loops for tests, written from PyTorch's definitions (NCHW) and
 * independently of compiler/interpret-conv.ts and runtime/conv.ts: one output element at a time,
 * gathering its window.
 */

export interface Geometry {
  stride?: [number, number];
  padding?: [number, number];
  dilation?: [number, number];
  groups?: number;
}

/** out[b, o, i, j] = Σ x[b, c, i·s − p + u·d, j·s − p + v·d] · w[o, c − g·C', u, v] over the group's channels. */
export function naiveConv2d(x: ArrayLike<number>, xs: number[], w: ArrayLike<number>, ws: number[], g: Geometry = {}): { data: number[]; shape: number[] } {
  const [sh, sw] = g.stride ?? [1, 1];
  const [ph, pw] = g.padding ?? [0, 0];
  const [dh, dw] = g.dilation ?? [1, 1];
  const groups = g.groups ?? 1;
  const [B, C, H, W] = xs as [number, number, number, number];
  const [O, Cg, KH, KW] = ws as [number, number, number, number];
  const Ho = Math.floor((H + 2 * ph - dh * (KH - 1) - 1) / sh) + 1;
  const Wo = Math.floor((W + 2 * pw - dw * (KW - 1) - 1) / sw) + 1;
  const at = (b: number, c: number, h: number, v: number) => (h < 0 || h >= H || v < 0 || v >= W ? 0 : x[((b * C + c) * H + h) * W + v]!);
  const data: number[] = [];
  for (let b = 0; b < B; b++)
    for (let o = 0; o < O; o++) {
      const group = Math.floor(o / (O / groups));
      for (let i = 0; i < Ho; i++)
        for (let j = 0; j < Wo; j++) {
          let acc = 0;
          for (let c = 0; c < Cg; c++)
            for (let u = 0; u < KH; u++)
              for (let v = 0; v < KW; v++) acc += at(b, group * Cg + c, i * sh - ph + u * dh, j * sw - pw + v * dw) * w[((o * Cg + c) * KH + u) * KW + v]!;
          data.push(acc);
        }
    }
  return { data, shape: [B, O, Ho, Wo] };
}

/** max or mean of each window (padding skipped by max, counted as 0 by mean: PyTorch's defaults). */
export function naivePool2d(kind: "max" | "avg", x: ArrayLike<number>, xs: number[], kernel: [number, number], stride = kernel, padding: [number, number] = [0, 0]): { data: number[]; shape: number[] } {
  const [B, C, H, W] = xs as [number, number, number, number];
  const Ho = Math.floor((H + 2 * padding[0] - kernel[0]) / stride[0]) + 1;
  const Wo = Math.floor((W + 2 * padding[1] - kernel[1]) / stride[1]) + 1;
  const data: number[] = [];
  for (let p = 0; p < B * C; p++)
    for (let i = 0; i < Ho; i++)
      for (let j = 0; j < Wo; j++) {
        const inside: number[] = [];
        for (let u = 0; u < kernel[0]; u++)
          for (let v = 0; v < kernel[1]; v++) {
            const h = i * stride[0] - padding[0] + u;
            const c = j * stride[1] - padding[1] + v;
            if (h >= 0 && h < H && c >= 0 && c < W) inside.push(x[(p * H + h) * W + c]!);
          }
        data.push(kind === "max" ? Math.max(...inside) : inside.reduce((s, v) => s + v, 0) / (kernel[0] * kernel[1]));
      }
  return { data, shape: [B, C, Ho, Wo] };
}

/** A convolution test case: shapes, the .est geometry arguments and the same geometry as numbers. */
export interface ConvCase {
  name: string;
  xs: [number, number, number, number];
  ws: [number, number, number, number];
  /** The call's geometry arguments as written in .est. */
  args: string;
  g: Geometry;
}

/** Geometries every convolution test runs: defaults, stride, padding, dilation, groups, non-square kernels. */
export const convCases: ConvCase[] = [
  { name: "3x3, defaults", xs: [2, 3, 6, 5], ws: [4, 3, 3, 3], args: "", g: {} },
  { name: "stride 2", xs: [2, 2, 7, 6], ws: [3, 2, 3, 3], args: ", stride = 2", g: { stride: [2, 2] } },
  { name: "padding 1 (same size)", xs: [2, 2, 5, 5], ws: [3, 2, 3, 3], args: ", padding = 1", g: { padding: [1, 1] } },
  { name: "dilation 2", xs: [1, 2, 7, 7], ws: [2, 2, 3, 3], args: ", dilation = 2", g: { dilation: [2, 2] } },
  { name: "groups 2", xs: [2, 4, 5, 5], ws: [6, 2, 3, 3], args: ", groups = 2", g: { groups: 2 } },
  { name: "non-square kernel 2x3, stride [2, 1], padding [1, 0]", xs: [2, 3, 6, 7], ws: [2, 3, 2, 3], args: ", stride = [2, 1], padding = [1, 0]", g: { stride: [2, 1], padding: [1, 0] } },
  {
    name: "everything: stride 2, padding [2, 1], dilation [1, 2], groups 3, 3x2 kernel",
    xs: [2, 6, 8, 7],
    ws: [3, 2, 3, 2],
    args: ", stride = 2, padding = [2, 1], dilation = [1, 2], groups = 3",
    g: { stride: [2, 2], padding: [2, 1], dilation: [1, 2], groups: 3 },
  },
  { name: "1x1 kernel", xs: [3, 4, 3, 3], ws: [5, 4, 1, 1], args: "", g: {} },
];

/** The output shape of a case. */
export const convOutShape = (c: ConvCase) => naiveConv2d(new Array(c.xs.reduce((a, b) => a * b, 1)).fill(0), c.xs, new Array(c.ws.reduce((a, b) => a * b, 1)).fill(0), c.ws, c.g).shape;
/** `fn f(x, w)` returning the case's conv2d (B symbolic). */
export const convSrc = (c: ConvCase) => {
  const [, C, H, W] = c.xs;
  const o = convOutShape(c);
  return `fn f(x: f32[B, ${C}, ${H}, ${W}], w: f32[${c.ws.join(", ")}]) -> f32[B, ${o.slice(1).join(", ")}] { return conv2d(x, w${c.args}) }`;
};

/** Pooling test cases: both kinds, stride = kernel, padding, non-square windows. */
export interface PoolCase {
  name: string;
  kind: "max" | "avg";
  xs: [number, number, number, number];
  k: [number, number];
  s?: [number, number];
  p?: [number, number];
  args: string;
}
export const poolCases: PoolCase[] = [
  { name: "2x2 (stride = kernel)", kind: "max", xs: [2, 3, 6, 4], k: [2, 2], args: "2" },
  { name: "3x3 stride 2 padding 1", kind: "max", xs: [2, 2, 7, 6], k: [3, 3], s: [2, 2], p: [1, 1], args: "3, stride = 2, padding = 1" },
  { name: "2x3 stride [1, 2] (overlapping rows)", kind: "max", xs: [1, 2, 5, 7], k: [2, 3], s: [1, 2], args: "[2, 3], stride = [1, 2]" },
  { name: "2x2 (stride = kernel)", kind: "avg", xs: [2, 3, 6, 4], k: [2, 2], args: "2" },
  { name: "3x3 stride 2 padding 1 (padding counted)", kind: "avg", xs: [2, 2, 7, 6], k: [3, 3], s: [2, 2], p: [1, 1], args: "3, stride = 2, padding = 1" },
  { name: "2x3 stride [1, 2]", kind: "avg", xs: [1, 2, 5, 7], k: [2, 3], s: [1, 2], args: "[2, 3], stride = [1, 2]" },
];


/** `fn f(x)` returning the case's pooling (B symbolic). */
export function poolSrc(c: PoolCase): string {
  const n = c.xs.reduce((a, b) => a * b, 1);
  const o = naivePool2d(c.kind, new Array(n).fill(0), c.xs, c.k, c.s ?? c.k, c.p ?? [0, 0]).shape;
  return `fn f(x: f32[B, ${c.xs.slice(1).join(", ")}]) -> f32[B, ${o.slice(1).join(", ")}] { return ${c.kind}_pool2d(x, ${c.args}) }`;
}
