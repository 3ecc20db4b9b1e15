/**
 * Dependency-free SVG charts (`estc/plot`): a line chart and a bar chart, each returned as the
 * text of a standalone SVG document. Used by `estc plot` and by the examples' training scripts.
 *
 * Conventions: every piece of user text is XML-escaped; a point whose coordinate is not finite
 * (or, with `logY`, whose y is not positive) is skipped and breaks the line there, so no `NaN`
 * ever reaches the SVG; coordinates are written with at most two decimals.
 */

/** One line of a line chart. */
export interface LineSeries {
  name: string;
  /** `[x, y]` pairs in data units, drawn in the given order. */
  points: readonly (readonly [number, number])[];
  /** Draw the line dashed (e.g. a surrogate gradient next to its forward function). */
  dashed?: boolean;
}

/** Options of {@link lineChart}. */
export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly LineSeries[];
  /** Pixel width of the whole SVG (default 640). */
  width?: number;
  /** Pixel height of the whole SVG (default 400). */
  height?: number;
  /** Fixed x range; default: the finite points' range, padded to nice ticks. */
  xDomain?: readonly [number, number];
  /** Fixed y range; default: the finite points' range, padded to nice ticks. */
  yDomain?: readonly [number, number];
  /** Logarithmic y axis (base 10); points with y <= 0 are skipped. */
  logY?: boolean;
}

/** One bar of a bar chart. */
export interface Bar {
  label: string;
  value: number;
  /** Half-length of the error bar (e.g. a standard error); drawn as value ± error. */
  error?: number;
}

/** Options of {@link barChart}. */
export interface BarChartOptions {
  title: string;
  yLabel: string;
  bars: readonly Bar[];
  width?: number;
  height?: number;
}

/** The plot area (inside the axes) of a chart of the given size, in pixels. */
export interface PlotArea {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Distinct colours (Tableau 10), cycled when there are more series. */
export const PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"] as const;

/**
 * Where a line chart of `width`×`height` pixels draws its data. The legend sits to the right, at
 * least 170 pixels wide and wider for long series names (about 6.5 pixels a character).
 */
export function lineChartArea(width = 640, height = 400, seriesNames: readonly string[] = []): PlotArea {
  const left = 70;
  const top = 40;
  const legend = Math.max(170, 56 + 7 * Math.max(0, ...seriesNames.map((s) => s.length)));
  return { left, top, width: Math.max(100, width - left - legend), height: height - top - 55 };
}

/** Escapes text for use in SVG element content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c]!);
}

/**
 * About `count` round tick values (steps of 1, 2 or 5 times a power of ten) covering [lo, hi];
 * the first tick is <= lo and the last >= hi.
 */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || hi < lo) throw new Error(`niceTicks: need finite lo <= hi, got [${lo}, ${hi}]`);
  if (hi === lo) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    return niceTicks(lo - pad, hi + pad, count);
  }
  const raw = (hi - lo) / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.ceil(hi / step - 1e-9);
  const ticks: number[] = [];
  for (let i = first; i <= last; i++) ticks.push(cleanNumber(i * step));
  return ticks;
}

/** Renders a multi-series line chart with axes, ticks, grid, axis labels and a legend. */
export function lineChart(options: LineChartOptions): string {
  const width = checkSize("width", options.width ?? 640, 300);
  const height = checkSize("height", options.height ?? 400, 200);
  const logY = options.logY === true;
  const area = lineChartArea(width, height, options.series.map((s) => s.name));
  const usable = options.series.map((s) => s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!logY || y > 0)));
  const xs = usable.flatMap((ps) => ps.map((p) => p[0]));
  const ys = usable.flatMap((ps) => ps.map((p) => (logY ? Math.log10(p[1]) : p[1])));
  const xTicks = options.xDomain ? niceTicksWithin(checkDomain("xDomain", options.xDomain, false)) : niceTicks(...extent(xs));
  const yDomain = options.yDomain ? checkDomain("yDomain", options.yDomain, logY) : undefined;
  const yTicks = logY ? logTicks(yDomain ? [Math.log10(yDomain[0]), Math.log10(yDomain[1])] : extent(ys)) : yDomain ? niceTicksWithin(yDomain) : niceTicks(...padded(extent(ys)));
  const x0 = options.xDomain ? options.xDomain[0] : xTicks[0]!;
  const x1 = options.xDomain ? options.xDomain[1] : xTicks[xTicks.length - 1]!;
  const [yLo, yHi] = extent(ys);
  // Log ticks under a decade may fall inside the data's range; the axis still covers all the data.
  const y0 = yDomain ? (logY ? Math.log10(yDomain[0]) : yDomain[0]) : Math.min(yTicks[0]!, yLo);
  const y1 = yDomain ? (logY ? Math.log10(yDomain[1]) : yDomain[1]) : Math.max(yTicks[yTicks.length - 1]!, yHi);
  const px = (x: number) => area.left + ((x - x0) / (x1 - x0)) * area.width;
  const py = (y: number) => area.top + area.height - (((logY ? Math.log10(y) : y) - y0) / (y1 - y0)) * area.height;
  const pyRaw = (v: number) => area.top + area.height - ((v - y0) / (y1 - y0)) * area.height;

  const out: string[] = [open(width, height), title(options.title, area.left + area.width / 2)];
  out.push(`<defs><clipPath id="plot-area"><rect x="${n(area.left)}" y="${n(area.top)}" width="${n(area.width)}" height="${n(area.height)}"/></clipPath></defs>`);
  for (const t of xTicks.filter((t) => t >= x0 - 1e-12 && t <= x1 + 1e-12)) {
    out.push(`<line class="grid" x1="${n(px(t))}" y1="${n(area.top)}" x2="${n(px(t))}" y2="${n(area.top + area.height)}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${n(px(t))}" y="${n(area.top + area.height + 18)}" text-anchor="middle" font-size="11">${escapeXml(formatTick(t))}</text>`);
  }
  for (const t of yTicks.filter((t) => t >= y0 - 1e-12 && t <= y1 + 1e-12)) {
    out.push(`<line class="grid" x1="${n(area.left)}" y1="${n(pyRaw(t))}" x2="${n(area.left + area.width)}" y2="${n(pyRaw(t))}" stroke="#e5e5e5"/>`);
    const label = logY ? formatTick(10 ** t) : formatTick(t);
    out.push(`<text x="${n(area.left - 8)}" y="${n(pyRaw(t) + 4)}" text-anchor="end" font-size="11">${escapeXml(label)}</text>`);
  }
  out.push(axes(area), axisLabels(options.xLabel, options.yLabel, area));
  options.series.forEach((s, i) => {
    const d = pathData(s.points, logY, px, py);
    if (d === "") return;
    const dash = s.dashed === true ? ` stroke-dasharray="6 4"` : "";
    out.push(`<path class="series" d="${d}" fill="none" stroke="${colour(i)}" stroke-width="2"${dash} clip-path="url(#plot-area)"><title>${escapeXml(s.name)}</title></path>`);
  });
  out.push(legend(options.series, area));
  out.push("</svg>");
  return out.join("\n") + "\n";
}

/** Renders a bar chart; bars with a non-finite value are left empty and labelled "n/a". */
export function barChart(options: BarChartOptions): string {
  const width = checkSize("width", options.width ?? Math.max(400, 90 + 70 * options.bars.length), 200);
  const height = checkSize("height", options.height ?? 400, 200);
  for (const b of options.bars) {
    if (b.error !== undefined && !(b.error >= 0) && !Number.isNaN(b.error)) throw new Error(`barChart: the error of bar '${b.label}' must be >= 0, got ${b.error}`);
  }
  const rotate = options.bars.length > 8 || options.bars.some((b) => b.label.length > 10);
  const area: PlotArea = { left: 70, top: 40, width: width - 90, height: height - 40 - (rotate ? 90 : 45) };
  const values = [0];
  for (const b of options.bars) {
    if (!Number.isFinite(b.value)) continue;
    const e = b.error !== undefined && Number.isFinite(b.error) ? b.error : 0;
    values.push(b.value - e, b.value + e);
  }
  const ticks = niceTicks(...extent(values));
  const y0 = ticks[0]!;
  const y1 = ticks[ticks.length - 1]!;
  const py = (v: number) => area.top + area.height - ((v - y0) / (y1 - y0)) * area.height;
  const out: string[] = [open(width, height), title(options.title, area.left + area.width / 2)];
  for (const t of ticks) {
    out.push(`<line class="grid" x1="${n(area.left)}" y1="${n(py(t))}" x2="${n(area.left + area.width)}" y2="${n(py(t))}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${n(area.left - 8)}" y="${n(py(t) + 4)}" text-anchor="end" font-size="11">${escapeXml(formatTick(t))}</text>`);
  }
  const slot = area.width / Math.max(1, options.bars.length);
  options.bars.forEach((b, i) => {
    const cx = area.left + slot * (i + 0.5);
    const labelY = area.top + area.height + 16;
    const anchor = rotate ? `text-anchor="end" transform="rotate(-35 ${n(cx)} ${n(labelY)})"` : `text-anchor="middle"`;
    out.push(`<text x="${n(cx)}" y="${n(labelY)}" ${anchor} font-size="11">${escapeXml(b.label)}</text>`);
    if (!Number.isFinite(b.value)) {
      out.push(`<text x="${n(cx)}" y="${n(py(0) - 4)}" text-anchor="middle" font-size="10" fill="#888">n/a</text>`);
      return;
    }
    const top = Math.min(py(b.value), py(0));
    const h = Math.abs(py(b.value) - py(0));
    const w = slot * 0.6;
    out.push(`<rect class="bar" x="${n(cx - w / 2)}" y="${n(top)}" width="${n(w)}" height="${n(h)}" fill="${colour(i)}"><title>${escapeXml(`${b.label}: ${formatValue(b.value)}${b.error !== undefined && Number.isFinite(b.error) ? ` ± ${formatValue(b.error)}` : ""}`)}</title></rect>`);
    if (b.error !== undefined && Number.isFinite(b.error) && b.error > 0) {
      const lo = py(b.value - b.error);
      const hi = py(b.value + b.error);
      const cap = Math.min(8, w / 4);
      out.push(`<path class="error-bar" d="M${n(cx)} ${n(lo)}V${n(hi)}M${n(cx - cap)} ${n(lo)}H${n(cx + cap)}M${n(cx - cap)} ${n(hi)}H${n(cx + cap)}" stroke="#333" stroke-width="1.5" fill="none"/>`);
    }
  });
  out.push(axes(area), axisLabels("", options.yLabel, area), "</svg>");
  return out.join("\n") + "\n";
}

// ---- pieces -------------------------------------------------------------------------------------

function open(width: number, height: number): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">\n` +
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`
  );
}

function title(text: string, cx: number): string {
  return `<text class="title" x="${n(cx)}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(text)}</text>`;
}

function axes(a: PlotArea): string {
  const bottom = a.top + a.height;
  return `<path class="axes" d="M${n(a.left)} ${n(a.top)}V${n(bottom)}H${n(a.left + a.width)}" stroke="#333" fill="none"/>`;
}

function axisLabels(xLabel: string, yLabel: string, a: PlotArea): string {
  const parts: string[] = [];
  if (xLabel !== "") parts.push(`<text x="${n(a.left + a.width / 2)}" y="${n(a.top + a.height + 40)}" text-anchor="middle" font-size="12">${escapeXml(xLabel)}</text>`);
  const cy = a.top + a.height / 2;
  if (yLabel !== "") parts.push(`<text x="16" y="${n(cy)}" text-anchor="middle" font-size="12" transform="rotate(-90 16 ${n(cy)})">${escapeXml(yLabel)}</text>`);
  return parts.join("\n");
}

function legend(series: readonly LineSeries[], a: PlotArea): string {
  const x = a.left + a.width + 16;
  return series
    .map((s, i) => {
      const y = a.top + 10 + i * 20;
      const dash = s.dashed === true ? ` stroke-dasharray="6 4"` : "";
      return (
        `<line x1="${n(x)}" y1="${n(y)}" x2="${n(x + 26)}" y2="${n(y)}" stroke="${colour(i)}" stroke-width="2"${dash}/>` +
        `<text x="${n(x + 32)}" y="${n(y + 4)}" font-size="12">${escapeXml(s.name)}</text>`
      );
    })
    .join("\n");
}

/** Path data for a series; a skipped point ends the current run, the next usable one starts a new one. */
function pathData(points: LineSeries["points"], logY: boolean, px: (x: number) => number, py: (y: number) => number): string {
  let d = "";
  let pen = false;
  for (const [x, y] of points) {
    if (!Number.isFinite(x) || !Number.isFinite(y) || (logY && y <= 0)) {
      pen = false;
      continue;
    }
    d += `${pen ? "L" : "M"}${n(px(x))} ${n(py(y))}`;
    pen = true;
  }
  return d;
}

function colour(i: number): string {
  return PALETTE[i % PALETTE.length]!;
}

function extent(values: number[]): [number, number] {
  if (values.length === 0) return [0, 1];
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

/** The range widened by 5% on each side, so lines at the extremes do not sit on the frame. */
function padded([lo, hi]: [number, number]): [number, number] {
  const pad = (hi - lo) * 0.05;
  return [lo - pad, hi + pad];
}

/** Nice ticks for a fixed domain (only the ones inside it are drawn). */
function niceTicksWithin([lo, hi]: readonly [number, number]): number[] {
  return niceTicks(lo, hi);
}

/** Ticks in log10 units: whole decades, or nice linear ticks when the range spans under one decade. */
function logTicks([lo, hi]: readonly [number, number]): number[] {
  const first = Math.floor(lo + 1e-9);
  const last = Math.ceil(hi - 1e-9);
  if (last - first >= 2 || (last - first === 1 && hi - lo > 0.5)) {
    const ticks: number[] = [];
    const stride = Math.max(1, Math.ceil((last - first) / 8));
    for (let e = first; e <= last; e += stride) ticks.push(e);
    if (ticks[ticks.length - 1]! < hi) ticks.push(ticks[ticks.length - 1]! + stride);
    return ticks;
  }
  // Under a decade: ticks at nice values in data units, mapped to log10 units.
  const linear = niceTicks(10 ** lo, 10 ** hi).filter((t) => t > 0);
  return linear.length >= 2 ? linear.map(Math.log10) : [first, first + 1];
}

function checkDomain(name: string, d: readonly [number, number], positive: boolean): [number, number] {
  if (!Number.isFinite(d[0]) || !Number.isFinite(d[1]) || !(d[0] < d[1])) throw new Error(`lineChart: ${name} must be two finite numbers [lo, hi] with lo < hi, got [${d[0]}, ${d[1]}]`);
  if (positive && d[0] <= 0) throw new Error(`lineChart: with logY, yDomain must be positive, got [${d[0]}, ${d[1]}]`);
  return [d[0], d[1]];
}

function checkSize(name: string, v: number, min: number): number {
  if (!Number.isFinite(v) || v < min) throw new Error(`chart ${name} must be a finite number >= ${min} pixels, got ${v}`);
  return v;
}

/** A pixel coordinate with at most two decimals. */
function n(v: number): string {
  return cleanNumber(Math.round(v * 100) / 100).toString();
}

function cleanNumber(v: number): number {
  const r = Number.parseFloat(v.toPrecision(12));
  return Object.is(r, -0) ? 0 : r;
}

function formatTick(v: number): string {
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(0).replace("e+", "e");
  return cleanNumber(v).toString();
}

function formatValue(v: number): string {
  return Number.parseFloat(v.toPrecision(4)).toString();
}
