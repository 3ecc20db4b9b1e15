/**
 * The generated code, as `estc build --emit js` would write it: the module (`main.js`, one
 * function per CPU kernel and one export per fn), its WGSL sibling (`main.wgsl.js`, every compute
 * shader) and the types (`main.d.ts`). One button per file above a read-only view.
 */
import { mountReadOnly } from "./editor.js";

/** The view's handle: show the files of the latest clean compile, or why there are none. */
export interface KernelsView {
  show(files: Record<string, string> | undefined, why: string): void;
}

const ORDER = [".js", ".wgsl.js", ".d.ts"];

/** Mounts the view in `root`. */
export function mountKernelsView(root: HTMLElement): KernelsView {
  const bar = root.appendChild(document.createElement("div"));
  bar.className = "file-tabs";
  const note = root.appendChild(document.createElement("p"));
  note.className = "note";
  const code = root.appendChild(document.createElement("div"));
  code.className = "code-view";
  const viewer = mountReadOnly(code, false);
  let files: Record<string, string> = {};
  let chosen = ".js";

  const select = (suffix: string) => {
    chosen = suffix;
    const name = Object.keys(files).find((f) => f.endsWith(suffix) && (suffix !== ".js" || !f.endsWith(".wgsl.js")));
    for (const b of bar.querySelectorAll("button")) b.classList.toggle("active", b.dataset.suffix === suffix);
    viewer.show(name === undefined ? "" : files[name]!);
    root.dataset.file = name ?? "";
  };

  return {
    show(next, why) {
      if (next === undefined) {
        note.textContent = `${why} The code below is from the last program that built.`;
        root.dataset.stale = "true";
        return;
      }
      root.dataset.stale = "false";
      files = next;
      note.textContent = `What estc build --emit js writes for this program: ${Object.keys(files).join(", ")}.`;
      bar.replaceChildren();
      for (const suffix of ORDER) {
        const name = Object.keys(files).find((f) => f.endsWith(suffix) && (suffix !== ".js" || !f.endsWith(".wgsl.js")));
        if (name === undefined) continue;
        const b = bar.appendChild(document.createElement("button"));
        b.textContent = suffix === ".wgsl.js" ? `${name} (WGSL)` : suffix === ".js" ? `${name} (JS kernels)` : name;
        b.dataset.suffix = suffix;
        b.onclick = () => select(suffix);
      }
      select(chosen);
    },
  };
}
