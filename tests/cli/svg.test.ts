/**
 * `estc/plot` (cli/svg.ts): the SVG text is well formed (tags balance, attributes quoted, no
 * stray `<` or `&`), a point at a known data coordinate lands on the pixel the documented plot
 * area predicts, text is escaped, non-finite points are skipped (no NaN in the output and the
 * line breaks there), bars and error bars sit where their values say, and bad options throw
 * clear errors.
 */
import { describe, expect, it } from "vitest";
import { barChart, escapeXml, lineChart, lineChartArea, niceTicks, PALETTE } from "../../cli/svg.js";

/** Checks the text is a single well-formed element tree; returns the element names in document order. */
function parseTags(svg: string): string[] {
  const names: string[] = [];
  const stack: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/y;
  let i = 0;
  while (i < svg.length) {
    const lt = svg.indexOf("<", i);
    const text = svg.slice(i, lt < 0 ? svg.length : lt);
    // Text between tags may hold only entities, never a bare `&`.
    expect(/&(?!(amp|lt|gt|quot|apos);)/.test(text), `bare & in text ${JSON.stringify(text)}`).toBe(false);
    if (lt < 0) break;
    tag.lastIndex = lt;
    const m = tag.exec(svg);
    expect(m, `malformed tag at ${JSON.stringify(svg.slice(lt, lt + 60))}`).not.toBeNull();
    const [whole, close, name, , selfClose] = m!;
    if (close === "/") expect(stack.pop(), `closing </${name}>`).toBe(name);
    else {
      names.push(name!);
      if (selfClose !== "/") stack.push(name!);
    }
    i = lt + whole.length;
  }
  expect(stack, "unclosed elements").toEqual([]);
  return names;
}

/** The pixel coordinates of a path's points, one array per `M…L…` run. */
function runs(d: string): [number, number][][] {
  return d
    .split("M")
    .filter((r) => r !== "")
    .map((r) => r.split("L").map((p) => p.trim().split(/\s+/).map(Number) as [number, number]));
}

function seriesPaths(svg: string): string[] {
  return [...svg.matchAll(/<path class="series" d="([^"]*)"/g)].map((m) => m[1]!);
}

describe("lineChart", () => {
  const chart = lineChart({
    title: "f & g",
    xLabel: "x",
    yLabel: "y",
    width: 600,
    height: 400,
    xDomain: [0, 10],
    yDomain: [0, 100],
    series: [
      { name: "up", points: [[0, 0], [2.5, 25], [10, 100]] },
      { name: "down", points: [[0, 100], [10, 0]], dashed: true },
    ],
  });

  it("is a well-formed SVG document", () => {
    const names = parseTags(chart);
    expect(names[0]).toBe("svg");
    expect(chart).toContain('xmlns="http://www.w3.org/2000/svg"');
    expect(names.filter((n) => n === "path").length).toBeGreaterThanOrEqual(3);
  });

  it("maps a data coordinate to the pixel the plot area predicts", () => {
    const a = lineChartArea(600, 400, ["up", "down"]);
    // x = 2.5 of [0, 10] is a quarter across; y = 25 of [0, 100] is a quarter up from the bottom.
    const want: [number, number] = [a.left + 0.25 * a.width, a.top + a.height - 0.25 * a.height];
    const [first] = runs(seriesPaths(chart)[0]!);
    expect(first).toHaveLength(3);
    expect(first![1]![0]).toBeCloseTo(want[0], 2);
    expect(first![1]![1]).toBeCloseTo(want[1], 2);
    expect(first![0]).toEqual([a.left, a.top + a.height]);
    expect(first![2]).toEqual([a.left + a.width, a.top]);
  });

  it("draws dashed series dashed, in distinct colours, with a legend entry each", () => {
    expect(chart).toMatch(/<path class="series"[^>]*stroke="#4e79a7"(?![^>]*dasharray)/);
    expect(chart).toMatch(/<path class="series"[^>]*stroke="#f28e2b"[^>]*stroke-dasharray/);
    expect(chart).toContain(">up</text>");
    expect(chart).toContain(">down</text>");
    expect(new Set(PALETTE).size).toBe(PALETTE.length);
  });

  it("escapes text", () => {
    const svg = lineChart({ title: `<b>"a" & 'b'</b>`, xLabel: "x<y", yLabel: "p&q", series: [{ name: "</svg>", points: [[0, 1], [1, 2]] }] });
    parseTags(svg);
    expect(svg).toContain("&lt;b&gt;&quot;a&quot; &amp; &apos;b&apos;&lt;/b&gt;");
    expect(svg).toContain("x&lt;y");
    expect(svg).toContain("&lt;/svg&gt;");
    expect(svg.match(/<\/svg>/g)).toHaveLength(1);
    expect(escapeXml("&&")).toBe("&amp;&amp;");
  });

  it("skips non-finite points and breaks the line there", () => {
    const svg = lineChart({
      title: "gaps",
      xLabel: "x",
      yLabel: "y",
      xDomain: [0, 4],
      yDomain: [0, 4],
      series: [{ name: "s", points: [[0, 0], [1, 1], [2, NaN], [3, 3], [Infinity, 1], [4, 4]] }],
    });
    expect(svg).not.toMatch(/NaN|Infinity/);
    parseTags(svg);
    const parts = runs(seriesPaths(svg)[0]!);
    expect(parts.map((p) => p.length)).toEqual([2, 1, 1]);
  });

  it("chooses a domain from the data when none is given, and never emits NaN for empty or constant data", () => {
    const flat = lineChart({ title: "flat", xLabel: "x", yLabel: "y", series: [{ name: "c", points: [[1, 5], [2, 5]] }] });
    expect(flat).not.toMatch(/NaN|Infinity/);
    const empty = lineChart({ title: "empty", xLabel: "x", yLabel: "y", series: [{ name: "none", points: [[NaN, 1]] }] });
    expect(empty).not.toMatch(/NaN|Infinity/);
    expect(seriesPaths(empty)).toEqual([]);
    parseTags(empty);
  });

  it("puts decades at equal spacing with logY and skips y <= 0", () => {
    const svg = lineChart({
      title: "log",
      xLabel: "x",
      yLabel: "y",
      logY: true,
      width: 600,
      height: 400,
      xDomain: [0, 2],
      yDomain: [1, 100],
      series: [{ name: "s", points: [[0, 1], [1, 10], [1.5, 0], [2, 100]] }],
    });
    expect(svg).not.toMatch(/NaN|Infinity/);
    const a = lineChartArea(600, 400, ["s"]);
    const parts = runs(seriesPaths(svg)[0]!);
    expect(parts.map((p) => p.length)).toEqual([2, 1]);
    expect(parts[0]![1]![1]).toBeCloseTo(a.top + a.height / 2, 2);
    expect(parts[1]![0]![1]).toBeCloseTo(a.top, 2);
  });

  it("widens the legend for long series names", () => {
    expect(lineChartArea(640, 400, ["a"]).width).toBe(640 - 70 - 170);
    expect(lineChartArea(640, 400, ["x".repeat(40)]).width).toBe(640 - 70 - (56 + 280));
  });

  it("rejects bad options with a clear message", () => {
    const base = { title: "t", xLabel: "x", yLabel: "y", series: [] };
    expect(() => lineChart({ ...base, xDomain: [1, 1] })).toThrow(/xDomain must be two finite numbers/);
    expect(() => lineChart({ ...base, yDomain: [0, 1], logY: true })).toThrow(/yDomain must be positive/);
    expect(() => lineChart({ ...base, width: NaN })).toThrow(/width must be a finite number/);
  });
});

describe("niceTicks", () => {
  it("covers the range with 1-2-5 steps", () => {
    expect(niceTicks(0, 10)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(-2, 2)).toEqual([-2, -1, 0, 1, 2]);
    expect(niceTicks(0.13, 0.87)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]); // step 0.148 rounds up to 0.2
    expect(niceTicks(3, 3)[0]).toBeLessThan(3);
  });
});

describe("barChart", () => {
  const svg = barChart({
    title: "acc <%>",
    yLabel: "accuracy",
    width: 400,
    height: 400,
    bars: [
      { label: "STE", value: 0.5, error: 0.1 },
      { label: "ReSTE", value: 1 },
      { label: "broken", value: NaN },
    ],
  });

  it("is well formed, escaped and NaN-free", () => {
    parseTags(svg);
    expect(svg).toContain("acc &lt;%&gt;");
    expect(svg).not.toMatch(/NaN|Infinity/);
    expect(svg).toContain(">n/a</text>");
  });

  it("draws bar heights proportional to the values and error bars spanning value ± error", () => {
    const rects = [...svg.matchAll(/<rect class="bar" x="([^"]+)" y="([^"]+)" width="([^"]+)" height="([^"]+)"/g)].map((m) => m.slice(1).map(Number));
    expect(rects).toHaveLength(2);
    const [ste, reste] = rects as [number[], number[]];
    // Both bars rest on y = 0, so their bottoms agree and the heights are in ratio 0.5 : 1.
    expect(ste[1]! + ste[3]!).toBeCloseTo(reste[1]! + reste[3]!, 1);
    expect(ste[3]! / reste[3]!).toBeCloseTo(0.5, 2);
    const err = svg.match(/<path class="error-bar" d="M([\d.]+) ([\d.]+)V([\d.]+)/);
    expect(err).not.toBeNull();
    const zero = reste[1]! + reste[3]!;
    const perUnit = reste[3]!; // pixels per unit of value
    expect(Number(err![2])).toBeCloseTo(zero - 0.4 * perUnit, 1);
    expect(Number(err![3])).toBeCloseTo(zero - 0.6 * perUnit, 1);
    expect(svg.match(/class="error-bar"/g)).toHaveLength(1);
  });

  it("rejects a negative error", () => {
    expect(() => barChart({ title: "t", yLabel: "y", bars: [{ label: "a", value: 1, error: -1 }] })).toThrow(/must be >= 0/);
  });
});
