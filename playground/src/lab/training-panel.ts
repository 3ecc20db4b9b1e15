/**
 * The training panel (DOM, no framework): Start/Stop buttons, a device choice, a status line and a
 * live loss curve. Start asks the worker for the training module (training-module.ts), imports it
 * linked to the page's runtime (link-module.ts), picks `webgpu()` (navigator.gpu) or falls back to
 * `cpu()`, and runs the DOM-free loop (training.ts), redrawing the curve at most once per frame.
 *
 * For tests the element carries data-state ("idle" | "building" | "running" | "stopped" | "done" |
 * "error"), data-device ("webgpu" | "cpu"), data-losses (JSON, one loss per step, 6 significant
 * digits), data-source ("editor" | "quickstart"), and the numbers as the `labLosses` property.
 */
import { lineChart } from "../../../cli/svg.js";
import { importGeneratedModule } from "./link-module.js";
import type { TrainingModuleResult } from "./training-module.js";
import { trainQuickstart, type TrainingRuntime } from "./training.js";
import { numbers } from "./plot-view.js";

/** The part of `estc/runtime` the panel uses besides the loop's `tensor`. */
export interface PanelRuntime extends TrainingRuntime {
  cpu(): unknown;
  webgpu(options?: object): Promise<unknown>;
}

/** Options of {@link mountTrainingPanel}. */
export interface TrainingPanelOptions {
  /** `estc/runtime` as the page imported it; the generated module is linked to the same URL. */
  runtime: PanelRuntime;
  runtimeUrl: string;
  /** Posts `lab/training-module` with the editor's text and resolves with the worker's reply. */
  requestModule(): Promise<TrainingModuleResult>;
  /** The plot's slider values (PlotView.values); `o` among them is passed to loss when it takes o. */
  scalars(): Record<string, number>;
  /** Epochs of 10 steps each (default 30, as train.js). */
  epochs?: number;
}

/** What {@link mountTrainingPanel} returns. */
export interface TrainingPanel {
  /** Starts a run (as the Start button); resolves when it ends. */
  start(): Promise<void>;
  /** Asks a running run to stop after its current step. */
  stop(): void;
  destroy(): void;
}

/** The panel element as tests see it. */
export type TrainingElement = HTMLElement & { labLosses?: number[] };

let panels = 0;

/** Fills `element` (an empty block element) with the panel. */
export function mountTrainingPanel(element: TrainingElement, options: TrainingPanelOptions): TrainingPanel {
  const doc = element.ownerDocument;
  const win = doc.defaultView;
  const uid = `lab-loss-${++panels}`;
  element.classList.add("lab-training");
  element.innerHTML = "";
  const controls = doc.createElement("div");
  controls.className = "lab-training-controls";
  const startButton = button(doc, "start", "Train");
  const stopButton = button(doc, "stop", "Stop");
  stopButton.disabled = true;
  const deviceSelect = doc.createElement("select");
  deviceSelect.dataset["role"] = "device";
  for (const [value, label] of [["auto", "WebGPU, else CPU"], ["cpu", "CPU"]]) {
    const o = doc.createElement("option");
    o.value = value!;
    o.textContent = label!;
    deviceSelect.append(o);
  }
  controls.append(startButton, stopButton, deviceSelect);
  const status = doc.createElement("div");
  status.className = "lab-training-status";
  status.setAttribute("role", "status");
  const chart = doc.createElement("div");
  chart.className = "lab-training-chart";
  element.append(controls, status, chart);

  let losses: number[] = [];
  let stopAsked = false;
  let running = false;
  let frame: number | undefined;
  // One adapter gives one device: the WebGPU device is requested once and kept.
  let gpu: Promise<{ device: unknown } | { reason: string }> | undefined;

  const setState = (state: string, text: string) => {
    element.dataset["state"] = state;
    status.textContent = text;
  };
  setState("idle", "Trains the quickstart's binary layer (examples/quickstart) in this page.");

  const redraw = () => {
    element.labLosses = losses;
    element.dataset["losses"] = numbers(losses);
    if (frame !== undefined) return;
    const paint = () => {
      frame = undefined;
      if (losses.length === 0) return;
      // A cross-entropy is never negative: the axis starts at 0 instead of padding below the data.
      const top = Math.max(0, ...losses.filter(Number.isFinite));
      const yDomain: [number, number] = [0, top > 0 ? top * 1.05 : 1];
      const svg = lineChart({ title: "training loss", xLabel: "step", yLabel: "loss", width: 480, height: 280, yDomain, series: [{ name: "loss", points: losses.map((l, i) => [i, l] as [number, number]) }] });
      chart.innerHTML = svg.replace(/plot-area/g, uid);
    };
    frame = win !== null ? win.requestAnimationFrame(paint) : (setTimeout(paint, 16) as unknown as number);
  };

  const pickDevice = async (): Promise<{ device: unknown; name: string; note: string }> => {
    if (deviceSelect.value === "cpu") return { device: options.runtime.cpu(), name: "cpu", note: "" };
    gpu ??= options.runtime.webgpu().then(
      (device) => ({ device }),
      (e: unknown) => ({ reason: e instanceof Error ? e.message.split("\n")[0]! : String(e) }),
    );
    const got = await gpu;
    if ("device" in got) return { device: got.device, name: "webgpu", note: "" };
    return { device: options.runtime.cpu(), name: "cpu", note: ` (WebGPU unavailable: ${got.reason})` };
  };

  const start = async () => {
    if (running) return;
    running = true;
    stopAsked = false;
    startButton.disabled = true;
    stopButton.disabled = false;
    losses = [];
    chart.innerHTML = "";
    redraw();
    try {
      setState("building", "Compiling the training module…");
      const built = await options.requestModule();
      if (!built.ok) {
        setState("error", built.reason);
        return;
      }
      element.dataset["source"] = built.source;
      const mod = await importGeneratedModule(built.js, built.wgslJs, built.name, options.runtimeUrl);
      const { device, name, note } = await pickDevice();
      element.dataset["device"] = name;
      const whose = built.source === "editor" ? "the editor's loss" : `the quickstart's loss${built.note !== undefined ? ` (the editor's program: ${built.note})` : ""}`;
      setState("running", `Training ${whose} on ${name}${note}…`);
      const epochs = options.epochs ?? 30;
      const result = await trainQuickstart({
        runtime: options.runtime,
        module: mod as never,
        device,
        epochs,
        lossScalars: built.scalars.map((s) => s.name),
        scalars: options.scalars,
        shouldStop: () => stopAsked,
        onStep: (r) => {
          losses.push(r.loss);
          redraw();
          const o = r.scalars["o"] !== undefined ? `, o ${r.scalars["o"].toFixed(2)}` : "";
          status.textContent = `Training ${whose} on ${name}${note}: epoch ${r.epoch + 1}/${epochs}, step ${r.step + 1}, loss ${r.loss.toFixed(4)}${o}`;
        },
        onEpoch: (epoch, acc) => {
          element.dataset["accuracy"] = String(acc);
          status.textContent += ` — test accuracy ${(100 * acc).toFixed(1)}% after epoch ${epoch + 1}`;
        },
      });
      const last = result.accuracies[result.accuracies.length - 1];
      const tail = last !== undefined ? `, test accuracy ${(100 * last).toFixed(1)}%` : "";
      setState(result.stopped ? "stopped" : "done", `${result.stopped ? "Stopped" : "Done"} after ${result.losses.length} steps on ${name}${note}: loss ${(result.losses[result.losses.length - 1] ?? NaN).toFixed(4)}${tail}.`);
    } catch (e) {
      setState("error", `Training failed: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      running = false;
      startButton.disabled = false;
      stopButton.disabled = true;
    }
  };

  const onStart = () => void start();
  const onStop = () => {
    stopAsked = true;
  };
  startButton.addEventListener("click", onStart);
  stopButton.addEventListener("click", onStop);
  return {
    start,
    stop: onStop,
    destroy() {
      stopAsked = true;
      startButton.removeEventListener("click", onStart);
      stopButton.removeEventListener("click", onStop);
      if (frame !== undefined && win !== null) win.cancelAnimationFrame(frame);
      element.innerHTML = "";
    },
  };
}

function button(doc: Document, action: string, label: string): HTMLButtonElement {
  const b = doc.createElement("button");
  b.type = "button";
  b.dataset["action"] = action;
  b.textContent = label;
  return b;
}
