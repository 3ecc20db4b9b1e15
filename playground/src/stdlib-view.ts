/**
 * The stdlib browser: the module list (`std/binary`, …, with each module's estimators and fns
 * counted) and a read-only, highlighted view of the one clicked. It reads the same bundled text
 * the compiler in the worker imports from.
 */
import { mountReadOnly } from "./editor.js";
import { stdlibModules } from "./stdlib.js";

function counts(text: string): string {
  const estimators = (text.match(/^estimator\s/gm) ?? []).length;
  const fns = (text.match(/^fn\s/gm) ?? []).length;
  return `${estimators} estimator${estimators === 1 ? "" : "s"}, ${fns} fn${fns === 1 ? "" : "s"}`;
}

/** Mounts the browser in `root`; `open(id)` shows a module, as a click on it does. */
export function mountStdlibView(root: HTMLElement): { open(id: string): void } {
  const list = root.appendChild(document.createElement("ul"));
  list.className = "module-list";
  const code = root.appendChild(document.createElement("div"));
  code.className = "code-view";
  const viewer = mountReadOnly(code, true);
  const open = (id: string) => {
    const text = stdlibModules.get(id);
    if (text === undefined) return;
    viewer.show(text);
    root.dataset.module = id;
    for (const li of list.querySelectorAll("li")) li.classList.toggle("active", li.dataset.module === id);
  };
  for (const [id, text] of stdlibModules) {
    const li = list.appendChild(document.createElement("li"));
    li.dataset.module = id;
    li.tabIndex = 0;
    li.appendChild(document.createElement("code")).textContent = id;
    li.appendChild(document.createElement("span")).textContent = counts(text);
    li.onclick = () => open(id);
    li.onkeydown = (e) => {
      if (e.key === "Enter") open(id);
    };
  }
  const first = stdlibModules.keys().next();
  if (first.done !== true) open(first.value);
  return { open };
}
