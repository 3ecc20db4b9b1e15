/**
 * Runs a plan's `conv2d` and `pool2d` steps on the CPU: picks the routine of runtime/conv.ts or
 * runtime/pool2d.ts for the step's mode and hands it the step's buffers and resolved shapes.
 */
import { conv2d, conv2dInputGrad, conv2dWeightGrad } from "./conv.js";
import type { Step } from "./plan.js";
import { avgPool2d, avgPool2dGrad, maxPool2d, maxPool2dGrad } from "./pool2d.js";

/** A plan step this module runs. */
export type ConvStep = Extract<Step, { op: "conv2d" | "pool2d" }>;

/** Runs `step`; `array(b)` is buffer b's f32 array, `shapes[b]` its resolved shape. */
export function runConvStep(step: ConvStep, array: (b: number) => Float32Array, shapes: readonly (readonly number[])[]): void {
  const shape = (b: number) => shapes[b]!;
  if (step.op === "conv2d") {
    const g = { stride: step.stride, padding: step.padding, dilation: step.dilation, groups: step.groups };
    switch (step.mode) {
      case "forward":
        return conv2d(array(step.a), shape(step.a), array(step.b), shape(step.b), array(step.out), shape(step.out), g);
      case "input_grad":
        return conv2dInputGrad(array(step.a), array(step.b), shape(step.b), array(step.out), shape(step.out), shape(step.a), g);
      case "weight_grad":
        return conv2dWeightGrad(array(step.a), shape(step.a), array(step.b), shape(step.b), array(step.out), shape(step.out), g);
    }
  }
  const g = { kernel: step.kernel, stride: step.stride, padding: step.padding };
  const second = () => {
    if (step.b === undefined) throw new Error(`estc internal error: a ${step.mode} pooling step needs a second operand`);
    return step.b;
  };
  switch (step.mode) {
    case "max":
      return maxPool2d(array(step.a), array(second()), shape(step.a), array(step.out), shape(step.out), g);
    case "max_grad":
      return maxPool2dGrad(array(step.a), shape(step.a), array(second()), shape(second()), array(step.out), g);
    case "avg":
      return avgPool2d(array(step.a), shape(step.a), array(step.out), shape(step.out), g);
    case "avg_grad":
      return avgPool2dGrad(array(step.a), shape(step.a), array(step.out), shape(step.out), g);
  }
}
