/**
 * The playground page: wires the editor, the compiler worker, the problems list, the lab's plot
 * and training panel (./lab/), the generated-code view, the stdlib browser and the program in the
 * URL. Timings: a compile 200 ms after the last keystroke, curves 120 ms after the cursor stops,
 * the URL 400 ms after an edit.
 */
import "./style.css";
import { CompilerClient } from "./compiler-client.js";
import { mountEditor } from "./editor.js";
import { mountKernelsView } from "./kernels-view.js";
import { mountPlotView } from "./lab/plot-view.js";
import type { CurveResult } from "./lab/curves.js";
import type { TrainingModuleResult } from "./lab/training-module.js";
import { mountTrainingPanel } from "./lab/training-panel.js";
import { showProblems } from "./problems.js";
import type { CompileReply } from "./protocol.js";
import { linkRuntime } from "./runtime-link.js";
import { decodeProgram, encodeProgram } from "./share.js";
import { starters } from "./starters.js";
import { mountStdlibView } from "./stdlib-view.js";

function byId<T extends HTMLElement>(id: string): T {
  return document.getElementById(id) as T;
}

function debounce(ms: number, run: () => void): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(run, ms);
  };
}

const status = byId<HTMLSpanElement>("status");
const client = new CompilerClient((message) => {
  status.textContent = `the compiler stopped (a bug in estc, please report it): ${message}`;
  status.dataset.state = "crash";
});
const problems = byId<HTMLUListElement>("problems");
const kernels = mountKernelsView(byId("tab-kernels"));
mountStdlibView(byId("tab-stdlib"));

// ---------------------------------------------------------------- the program and the URL

let writtenHash = "";
const initial = (await decodeProgram(location.hash)) ?? starters[0]!.text;
writtenHash = location.hash;

const editor = mountEditor(byId("editor"), initial, {
  onChange: () => {
    scheduleCompile();
    scheduleHash();
  },
  onCursor: () => scheduleCurves(),
});

const scheduleHash = debounce(400, async () => {
  writtenHash = await encodeProgram(editor.text());
  history.replaceState(null, "", writtenHash);
});

window.addEventListener("hashchange", async () => {
  if (location.hash === writtenHash) return;
  const text = await decodeProgram(location.hash);
  if (text !== undefined && text !== editor.text()) editor.setText(text);
});

const starterSelect = byId<HTMLSelectElement>("starter");
for (const s of starters) starterSelect.add(new Option(s.label, s.id));
const initialStarter = starters.find((s) => s.text === initial);
if (initialStarter === undefined) starterSelect.add(new Option("(a shared program)", ""), 0);
starterSelect.value = initialStarter?.id ?? "";
starterSelect.onchange = () => {
  const s = starters.find((x) => x.id === starterSelect.value);
  if (s !== undefined) editor.setText(s.text);
};

byId<HTMLButtonElement>("share").onclick = async (ev) => {
  writtenHash = await encodeProgram(editor.text());
  history.replaceState(null, "", writtenHash);
  const button = ev.currentTarget as HTMLButtonElement;
  try {
    await navigator.clipboard.writeText(location.href);
    button.textContent = "Link copied";
  } catch {
    button.textContent = "Link in the address bar";
  }
  setTimeout(() => (button.textContent = "Copy link"), 2000);
};

// ---------------------------------------------------------------- compile: diagnostics and code

let compiles = 0;
async function compile(): Promise<void> {
  const text = editor.text();
  const reply = await client.latest<CompileReply>({ type: "compile", text });
  if (reply === undefined || text !== editor.text()) return;
  compiles++;
  editor.showDiagnostics(reply.diagnostics);
  const errors = reply.diagnostics.filter((d) => d.severity === "error").length;
  const warnings = reply.diagnostics.length - errors;
  showProblems(problems, reply.diagnostics, "No problems: the program checks and builds.", editor.reveal);
  kernels.show(reply.files, errors > 0 ? `The program has ${errors} error${errors === 1 ? "" : "s"}.` : "Nothing was built.");
  if (reply.crash !== undefined) {
    status.textContent = `estc crashed (a bug in estc, please report it): ${reply.crash}`;
    status.dataset.state = "crash";
  } else {
    const counts = errors + warnings === 0 ? "no problems" : [errors > 0 ? `${errors} error${errors === 1 ? "" : "s"}` : "", warnings > 0 ? `${warnings} warning${warnings === 1 ? "" : "s"}` : ""].filter(Boolean).join(", ");
    status.textContent = `checked and built in ${Math.round(reply.ms)} ms · ${counts}`;
    status.dataset.state = errors > 0 ? "errors" : "ok";
  }
  status.dataset.compiles = String(compiles);
  void curves();
}
const scheduleCompile = debounce(200, () => void compile());

// ---------------------------------------------------------------- the lab: plot and training

const plot = mountPlotView(byId("plot"), { onScalars: () => void curves() });

/** Asks for the curves at the cursor, with the sliders' values (the lab drops them when the item changed). */
async function curves(): Promise<void> {
  const reply = await client.latest<{ result: CurveResult }>({ type: "lab/curves", text: editor.text(), offset: editor.view.state.selection.main.head, ...plot.request() });
  if (reply !== undefined) plot.show(reply.result);
}
const scheduleCurves = debounce(120, () => void curves());

const trainingRoot = byId("training");
linkRuntime().then(
  ({ runtime, runtimeUrl }) =>
    mountTrainingPanel(trainingRoot, {
      runtime,
      runtimeUrl,
      requestModule: async () => (await client.request<{ result: TrainingModuleResult }>({ type: "lab/training-module", text: editor.text() })).result,
      scalars: () => plot.values(),
    }),
  (e: unknown) => {
    trainingRoot.textContent = `The runtime did not load in this browser, so training is off: ${e instanceof Error ? e.message : String(e)}`;
    trainingRoot.dataset.state = "error";
  },
);

// ---------------------------------------------------------------- tabs

const tabs = [...document.querySelectorAll<HTMLButtonElement>("nav.tabs button")];
for (const tab of tabs) {
  tab.onclick = () => {
    for (const t of tabs) {
      t.classList.toggle("active", t === tab);
      byId(`tab-${t.dataset.tab}`).hidden = t !== tab;
    }
  };
}

void compile();

// The editor's view, for the browser console and the tests (tests/playground/playground.test.ts).
(window as unknown as { playground: { view: typeof editor.view } }).playground = { view: editor.view };
