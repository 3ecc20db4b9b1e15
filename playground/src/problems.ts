/**
 * The list of diagnostics under the editor, as `estc check` prints them (`main.est:9:12:
 * error[E2003]: …` and the hint); a click moves the cursor to the span. Each entry carries its
 * code, line and column as data attributes, which the browser tests read.
 */
import type { PlacedDiagnostic } from "./protocol.js";

/** Renders `list` into `root` (an empty list says the program is clean, with `ok`). */
export function showProblems(root: HTMLElement, list: PlacedDiagnostic[], ok: string, reveal: (offset: number) => void): void {
  root.replaceChildren();
  root.dataset.count = String(list.length);
  if (list.length === 0) {
    const li = root.appendChild(document.createElement("li"));
    li.className = "ok";
    li.textContent = ok;
    return;
  }
  for (const d of list) {
    const li = root.appendChild(document.createElement("li"));
    li.className = `problem ${d.severity}`;
    Object.assign(li.dataset, { code: d.code, line: String(d.line), col: String(d.col), file: d.file, severity: d.severity });
    const where = li.appendChild(document.createElement("span"));
    where.className = "where";
    where.textContent = `${d.file}:${d.line}:${d.col}`;
    const code = li.appendChild(document.createElement("span"));
    code.className = "code";
    code.textContent = `${d.severity}[${d.code}]`;
    li.appendChild(document.createElement("span")).textContent = d.message;
    if (d.hint !== undefined) {
      const hint = li.appendChild(document.createElement("div"));
      hint.className = "hint";
      hint.textContent = `hint: ${d.hint}`;
    }
    if (d.file === "main.est") {
      li.tabIndex = 0;
      li.title = "go to this place in the program";
      li.onclick = () => reveal(d.from);
    }
  }
}
