/**
 * The program editor: CodeMirror 6 with `.est` highlighting, the compiler's diagnostics as lint
 * marks (pushed from the worker's replies, not pulled by a linter), and callbacks for edits and
 * cursor moves. Each mark shows `error[E2003]`, the message and the hint.
 */
import { basicSetup } from "codemirror";
import { EditorState, type Extension } from "@codemirror/state";
import { EditorView, keymap } from "@codemirror/view";
import { indentWithTab } from "@codemirror/commands";
import { lintGutter, setDiagnostics, type Diagnostic as LintDiagnostic } from "@codemirror/lint";
import { estHighlight, estLanguage } from "./est-language.js";
import type { PlacedDiagnostic } from "./protocol.js";

/** What the page hears from the editor. */
export interface EditorEvents {
  /** The text changed (every keystroke; the page debounces). */
  onChange(text: string): void;
  /** The cursor moved or the text changed: the cursor's offset. */
  onCursor(offset: number): void;
}

/** The page's editor. */
export interface ProgramEditor {
  view: EditorView;
  text(): string;
  /** Replaces the whole program (a starter, a shared link), keeping the undo history. */
  setText(text: string): void;
  /** Shows the diagnostics of the program's current text. */
  showDiagnostics(list: PlacedDiagnostic[]): void;
  /** Moves the cursor to `offset` and scrolls it into view. */
  reveal(offset: number): void;
}

function renderMessage(d: PlacedDiagnostic): () => Node {
  return () => {
    const box = document.createElement("div");
    box.className = "lint-message";
    const head = box.appendChild(document.createElement("div"));
    const code = head.appendChild(document.createElement("strong"));
    code.textContent = `${d.severity}[${d.code}]`;
    head.append(` ${d.message}`);
    if (d.hint !== undefined) box.appendChild(document.createElement("div")).textContent = `hint: ${d.hint}`;
    for (const r of d.related) box.appendChild(document.createElement("div")).textContent = `${r.file}:${r.line}:${r.col}: ${r.message}`;
    return box;
  };
}

/** A diagnostic as CodeMirror's lint wants it: a non-empty range inside the document. */
function toLint(d: PlacedDiagnostic, length: number): LintDiagnostic {
  // A diagnostic in another file (a stdlib module) is shown at the top of the program.
  const inMain = d.file === "main.est";
  let from = inMain ? Math.min(d.from, length) : 0;
  let to = inMain ? Math.min(d.to, length) : 0;
  if (to <= from) {
    // An empty span (end of file, a missing token) still gets a visible mark of one character.
    if (from < length) to = from + 1;
    else from = Math.max(0, length - 1);
  }
  const where = inMain ? "" : ` (in ${d.file}:${d.line}:${d.col})`;
  return { from, to: Math.max(to, from), severity: d.severity, message: `${d.message}${where}${d.hint !== undefined ? `\nhint: ${d.hint}` : ""}`, renderMessage: renderMessage(d) };
}

/** Mounts the editor in `parent` with `initial` as its program. */
export function mountEditor(parent: HTMLElement, initial: string, events: EditorEvents, extra: Extension[] = []): ProgramEditor {
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: initial,
      extensions: [
        basicSetup,
        keymap.of([indentWithTab]),
        estLanguage,
        estHighlight,
        lintGutter(),
        EditorView.lineWrapping,
        EditorView.updateListener.of((u) => {
          if (u.docChanged) events.onChange(u.state.doc.toString());
          if (u.docChanged || u.selectionSet) events.onCursor(u.state.selection.main.head);
        }),
        ...extra,
      ],
    }),
  });
  return {
    view,
    text: () => view.state.doc.toString(),
    setText: (text) => view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text }, selection: { anchor: 0 } }),
    showDiagnostics: (list) => view.dispatch(setDiagnostics(view.state, list.map((d) => toLint(d, view.state.doc.length)))),
    reveal: (offset) => {
      view.dispatch({ selection: { anchor: Math.min(offset, view.state.doc.length) }, scrollIntoView: true });
      view.focus();
    },
  };
}

/** A read-only CodeMirror view (generated code, stdlib modules); `est` highlights `.est` and wraps its long comments. */
export function mountReadOnly(parent: HTMLElement, est: boolean): { show(text: string): void; view: EditorView } {
  const view = new EditorView({
    parent,
    state: EditorState.create({ doc: "", extensions: [basicSetup, EditorState.readOnly.of(true), EditorView.editable.of(false), ...(est ? [estLanguage, estHighlight, EditorView.lineWrapping] : [])] }),
  });
  return { view, show: (text) => view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } }) };
}
