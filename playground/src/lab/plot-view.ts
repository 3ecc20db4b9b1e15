/**
 * The plot view (DOM, no framework): the estimator's or fn's forward (solid) and backward
 * (dashed) as an SVG chart drawn by `estc plot`'s own chart code (cli/svg.ts), its name and doc
 * summary above, one slider per runtime scalar below. A slider move calls `onScalars` at most once
 * per animation frame; the page posts `lab/curves` with the values and hands the reply to `show`.
 *
 * For tests and for the training panel the element carries what it shows: data-state
 * ("empty" | "plot" | "reason"), data-name, data-xs / data-forward / data-backward (JSON, 6
 * significant digits, null for a non-finite value), data-scalars (JSON of the slider values), and
 * the last plot as the `labPlot` property.
 */
import { lineChart } from "../../../cli/svg.js";
import type { CurvePlot, CurveResult, SliderSpec } from "./curves.js";

/** What {@link mountPlotView} returns. */
export interface PlotView {
  /** Draws a plot, or shows why there is none (the last plot stays, greyed, under the reason). */
  show(result: CurveResult): void;
  /** The shown item's slider values by scalar name (what the training panel reads for `o`). */
  values(): Record<string, number>;
  /**
   * The fields to spread into a `lab/curves` request: the slider values and the item they belong
   * to, so that moving the cursor to another item does not carry ClippedSTE's t into ReSTE's.
   */
  request(): { scalars: Record<string, number>; item?: string; grid: { lo: number; hi: number } };
  /** Removes the view's content and listeners. */
  destroy(): void;
}

/** Options of {@link mountPlotView}. */
export interface PlotViewOptions {
  /** Called when a slider (or the x range) changed, at most once per animation frame, with the slider values. */
  onScalars(values: Record<string, number>): void;
  /** The chart's size in pixels (default 640 × 360). */
  width?: number;
  height?: number;
}

/** The plot element as tests see it. */
export type PlotElement = HTMLElement & { labPlot?: CurvePlot };

let views = 0;

/**
 * Fills `element` (an empty block element, e.g. a `<div>`) with a header, the chart and the
 * sliders. Each slider is `<input type="range" name=S data-scalar=S>` with its value printed beside it;
 * the x range is two number inputs (`input[data-role=lo]`, `input[data-role=hi]`, default -2 and 2).
 */
export function mountPlotView(element: PlotElement, options: PlotViewOptions): PlotView {
  const doc = element.ownerDocument;
  const uid = `lab-plot-${++views}`;
  element.classList.add("lab-plot");
  element.innerHTML = "";
  const header = doc.createElement("div");
  header.className = "lab-plot-header";
  const title = doc.createElement("strong");
  const summary = doc.createElement("span");
  summary.className = "lab-plot-summary";
  header.append(title, " ", summary);
  const chart = doc.createElement("div");
  chart.className = "lab-plot-chart";
  const reason = doc.createElement("div");
  reason.className = "lab-plot-reason";
  reason.setAttribute("role", "status");
  const sliders = doc.createElement("div");
  sliders.className = "lab-plot-sliders";
  const range = doc.createElement("div");
  range.className = "lab-plot-range";
  const grid = { lo: -2, hi: 2 };
  const bound = (role: "lo" | "hi") => {
    const input = doc.createElement("input");
    input.type = "number";
    input.step = "any";
    input.value = String(grid[role]);
    input.dataset["role"] = role;
    input.style.width = "5em";
    input.title = role === "lo" ? "the x range's left end" : "the x range's right end";
    return input;
  };
  const loInput = bound("lo");
  const hiInput = bound("hi");
  range.append("x from ", loInput, " to ", hiInput);
  element.append(header, chart, reason, range, sliders);
  element.dataset["state"] = "empty";
  reason.textContent = "Put the cursor on an estimator or a fn to plot it.";

  let current: Record<string, number> = {};
  let shown: SliderSpec[] = [];
  let item: string | undefined;
  let frame: number | undefined;
  const win = doc.defaultView;

  const schedule = () => {
    element.dataset["scalars"] = JSON.stringify(current);
    if (frame !== undefined) return;
    const fire = () => {
      frame = undefined;
      options.onScalars({ ...current });
    };
    frame = win !== null ? win.requestAnimationFrame(fire) : (setTimeout(fire, 16) as unknown as number);
  };

  // A range is taken when both ends are finite and lo < hi; otherwise the inputs are marked and the plot keeps its range.
  const onRange = () => {
    const lo = Number(loInput.value);
    const hi = Number(hiInput.value);
    const ok = loInput.value.trim() !== "" && hiInput.value.trim() !== "" && Number.isFinite(lo) && Number.isFinite(hi) && lo < hi;
    range.classList.toggle("lab-plot-range-invalid", !ok);
    if (!ok) return;
    grid.lo = lo;
    grid.hi = hi;
    schedule();
  };
  loInput.addEventListener("change", onRange);
  hiInput.addEventListener("change", onRange);

  const buildSliders = (specs: SliderSpec[]) => {
    sliders.innerHTML = "";
    for (const s of specs) {
      const row = doc.createElement("label");
      row.className = "lab-slider";
      const name = doc.createElement("span");
      name.className = "lab-slider-name";
      name.textContent = s.name;
      const input = doc.createElement("input");
      input.type = "range";
      input.name = s.name;
      input.dataset["scalar"] = s.name;
      input.title = rangeNote(s);
      const value = doc.createElement("output");
      value.className = "lab-slider-value";
      input.addEventListener("input", () => {
        const v = Number(input.value);
        current[s.name] = v;
        value.textContent = formatValue(v, s.dtype);
        schedule();
      });
      row.append(name, input, value);
      sliders.append(row);
    }
  };

  const setSliders = (specs: SliderSpec[]) => {
    const same = specs.length === shown.length && specs.every((s, i) => s.name === shown[i]!.name && s.min === shown[i]!.min && s.max === shown[i]!.max && s.step === shown[i]!.step);
    if (!same) buildSliders(specs);
    shown = specs;
    current = {};
    specs.forEach((s, i) => {
      const row = sliders.children[i] as HTMLElement;
      const input = row.querySelector("input")!;
      input.min = String(s.min);
      input.max = String(s.max);
      input.step = String(s.step);
      // A slider being dragged already shows its value; setting it again would fight the pointer.
      if (doc.activeElement !== input) input.value = String(s.value);
      row.querySelector("output")!.textContent = formatValue(s.value, s.dtype);
      current[s.name] = s.value;
    });
    element.dataset["scalars"] = JSON.stringify(current);
  };

  const draw = (p: CurvePlot) => {
    const pairs = (ys: number[]) => p.xs.map((x, i) => [x, ys[i]!] as [number, number]);
    const svg = lineChart({
      title: p.title,
      xLabel: "x",
      yLabel: p.kind === "estimator" ? "value / surrogate gradient" : "value / derivative",
      width: options.width ?? 640,
      height: options.height ?? 360,
      xDomain: [p.xs[0]!, p.xs[p.xs.length - 1]!],
      series: [
        { name: p.forwardLabel, points: pairs(p.forward) },
        { name: p.backwardLabel, points: pairs(p.backward), dashed: true },
      ],
    });
    // Two charts in one document must not share the clip path's id.
    chart.innerHTML = svg.replace(/plot-area/g, uid);
  };

  return {
    show(result) {
      if (!result.ok) {
        element.dataset["state"] = "reason";
        element.classList.add("lab-plot-stale");
        reason.textContent = result.reason;
        return;
      }
      const p = result.plot;
      element.classList.remove("lab-plot-stale");
      reason.textContent = "";
      title.textContent = p.title;
      summary.textContent = p.summary;
      draw(p);
      setSliders(p.scalars);
      item = itemKey(p);
      element.labPlot = p;
      element.dataset["state"] = "plot";
      element.dataset["name"] = p.name;
      element.dataset["xs"] = numbers(p.xs);
      element.dataset["forward"] = numbers(p.forward);
      element.dataset["backward"] = numbers(p.backward);
    },
    values: () => ({ ...current }),
    request: () => (item === undefined ? { scalars: { ...current }, grid: { ...grid } } : { scalars: { ...current }, item, grid: { ...grid } }),
    destroy() {
      if (frame !== undefined && win !== null) win.cancelAnimationFrame(frame);
      element.innerHTML = "";
    },
  };
}

/** The key of a plotted item, as CurveRequest.item expects it: `estimator ReSTE`, `fn f`. */
export function itemKey(p: Pick<CurvePlot, "kind" | "name">): string {
  return `${p.kind} ${p.name}`;
}

/** A JSON array of numbers with 6 significant digits; a non-finite value is null. */
export function numbers(values: readonly number[]): string {
  return JSON.stringify(values.map((v) => (Number.isFinite(v) ? Number.parseFloat(v.toPrecision(6)) : null)));
}

function formatValue(v: number, dtype: SliderSpec["dtype"]): string {
  if (dtype === "bool") return v !== 0 ? "true" : "false";
  return dtype === "i32" ? String(Math.round(v)) : Number.parseFloat(v.toPrecision(4)).toString();
}

/** The slider's tooltip: where its range comes from. */
function rangeNote(s: SliderSpec): string {
  const end = (side: "min" | "max", v: number) => `${side} ${v}${s.from[side] === "require" ? " (require)" : ""}`;
  return `${s.name}: default ${s.default}; ${end("min", s.min)}, ${end("max", s.max)}`;
}
