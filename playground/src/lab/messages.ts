/**
 * The lab's messages between the page and the compiler worker (README.md lists them). The worker
 * calls {@link handleLabMessage} first in its `onmessage`; a message that is not the lab's gives
 * undefined and is the worker's own.
 */
import type { CompilerHost } from "../../../compiler/resolve.js";
import { CurveLab, type CurveRequest, type CurveResult } from "./curves.js";
import { buildTrainingModule, type TrainingModuleResult } from "./training-module.js";

/** A request from the page. */
export type LabRequest =
  | ({ type: "lab/curves"; id: number } & CurveRequest)
  | { type: "lab/training-module"; id: number; text: string };

/** The worker's answer, echoing the request's id. */
export type LabReply = { type: "lab/curves"; id: number; result: CurveResult } | { type: "lab/training-module"; id: number; result: TrainingModuleResult };

/** What the worker keeps for the lab: the curve cache and what the training build needs. */
export interface LabContext {
  curves: CurveLab;
  host: CompilerHost;
  /** The editor's file, an absolute path in `host`. */
  file: string;
  /** examples/quickstart/binary.est's text, bundled into the worker. */
  quickstartText: string;
}

/** Makes the worker's lab context. */
export function labContext(host: CompilerHost, file: string, quickstartText: string): LabContext {
  return { curves: new CurveLab(host, file), host, file, quickstartText };
}

/** True for a message this module answers. */
export function isLabRequest(msg: unknown): msg is LabRequest {
  const t = (msg as { type?: unknown } | null)?.type;
  return t === "lab/curves" || t === "lab/training-module";
}

/**
 * The reply to a lab message, or undefined for another message. A failure inside the compiler
 * (a bug, not the user's mistake) becomes a reason naming it, so the page never waits forever.
 */
export async function handleLabMessage(ctx: LabContext, msg: unknown): Promise<LabReply | undefined> {
  if (!isLabRequest(msg)) return undefined;
  try {
    if (msg.type === "lab/curves") {
      const req: CurveRequest = { text: msg.text, offset: msg.offset };
      if (msg.scalars !== undefined) req.scalars = msg.scalars;
      if (msg.grid !== undefined) req.grid = msg.grid;
      if (msg.item !== undefined) req.item = msg.item;
      return { type: "lab/curves", id: msg.id, result: ctx.curves.curves(req) };
    }
    return { type: "lab/training-module", id: msg.id, result: await buildTrainingModule(ctx.host, ctx.file, msg.text, ctx.quickstartText) };
  } catch (e) {
    const reason = `internal error in estc (please report it): ${e instanceof Error ? e.message : String(e)}`;
    return msg.type === "lab/curves" ? { type: "lab/curves", id: msg.id, result: { ok: false, reason } } : { type: "lab/training-module", id: msg.id, result: { ok: false, reason } };
  }
}
