/**
 * The messages between the page and its compiler worker (besides the lab's, which
 * ./lab/messages.ts defines). Every request carries an id that its reply echoes; the page drops
 * a reply older than its latest request of that type, so a slow compile never overwrites a newer one.
 */

/** page → worker: check and build the editor's program. */
export interface CompileRequest {
  type: "compile";
  id: number;
  text: string;
}

/** A diagnostic placed for the editor: offsets into its file and 1-based line/column. */
export interface PlacedDiagnostic {
  code: string;
  severity: "error" | "warning";
  message: string;
  hint?: string;
  /** `main.est`, or `std/NAME.est` for a diagnostic inside a stdlib module. */
  file: string;
  from: number;
  to: number;
  line: number;
  col: number;
  related: { message: string; file: string; from: number; to: number; line: number; col: number }[];
}

/** worker → page: the diagnostics and, when every stage passed, the generated module's files. */
export interface CompileReply {
  type: "compile";
  id: number;
  diagnostics: PlacedDiagnostic[];
  /** File name → text (`main.js`, `main.d.ts`, `main.wgsl.js`), as `estc build --emit js` writes them. */
  files?: Record<string, string>;
  /** Milliseconds the compile took in the worker. */
  ms: number;
  /** An exception inside estc itself (a bug, never the program's fault), with its message. */
  crash?: string;
}
