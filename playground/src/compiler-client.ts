/**
 * The page's side of the compiler worker: each request gets a fresh id, and `latest(type, …)`
 * resolves only with the reply to the newest request of that type (an older reply, overtaken
 * while it was computed, resolves nothing), so views never show a stale program's results.
 */
export class CompilerClient {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly newest = new Map<string, number>();
  private readonly pending = new Map<number, (reply: unknown) => void>();

  /** `onError` hears a worker that failed to load or threw outside a request (a bug in estc). */
  constructor(onError: (message: string) => void) {
    this.worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module", name: "estc-compiler" });
    this.worker.onerror = (ev) => onError(ev.message || "the compiler worker failed to load");
    this.worker.onmessage = (ev: MessageEvent) => {
      const reply = ev.data as { id: number };
      const resolve = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      resolve?.(reply);
    };
  }

  /** Posts `request` (its `type` and the rest, without id) and resolves with any reply to it. */
  request<R>(request: { type: string } & Record<string, unknown>): Promise<R> {
    const id = this.nextId++;
    this.newest.set(request.type, id);
    return new Promise<R>((resolve) => {
      this.pending.set(id, resolve as (reply: unknown) => void);
      this.worker.postMessage({ ...request, id });
    });
  }

  /** As request, but resolves undefined when a newer request of the same type was posted meanwhile. */
  async latest<R>(request: { type: string } & Record<string, unknown>): Promise<R | undefined> {
    const reply = await this.request<R & { id: number }>(request);
    return this.newest.get(request.type) === reply.id ? reply : undefined;
  }
}
