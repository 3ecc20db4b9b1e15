/** Lexical scopes of fn and estimator bodies: what each local name is bound to. */
import type { Span } from "./diagnostics.js";
import type { DimT, Ty } from "./types.js";

/** What a local name stands for. */
export interface Binding {
  kind: "param" | "let" | "dim" | "input" | "builtin" | "ellipsis";
  ty: Ty;
  /** Where it was bound (absent for builtins such as `g`). */
  span?: Span;
  /** The dim it denotes: a shape symbol bound by a parameter type. */
  dim?: DimT;
  /**
   * A named ellipsis `...B` of a rank-generic fn: the placeholder dims it stands for in the
   * instance being checked (ellipsis.ts). Not a value; usable as `axis = B`.
   */
  placeholders?: string[];
  /** True for estimator inputs that take a grad. */
  differentiable?: boolean;
  /**
   * An estimator input that stands for a compile-time integer of its target (the `n`, `m` of
   * `for nm_prune(w, n, m)`): usable where a compile-time integer is required; its value is the
   * call site's.
   */
  compileTime?: boolean;
}

/** Told of every name a body binds (the language server types hovers with it). */
export type BindObserver = (name: string, binding: Binding) => void;

/** A chain of name tables; lookups walk outward. */
export class Scope {
  private readonly names = new Map<string, Binding>();

  constructor(
    readonly parent?: Scope,
    private readonly observer?: BindObserver,
  ) {}

  lookup(name: string): Binding | undefined {
    return this.names.get(name) ?? this.parent?.lookup(name);
  }

  /** Binds `name`; returns the earlier binding instead when the name is already taken. */
  bind(name: string, b: Binding): Binding | undefined {
    const prev = this.lookup(name);
    if (prev !== undefined) return prev;
    this.names.set(name, b);
    this.observer?.(name, b);
    return undefined;
  }

  /** Every name visible here, for suggestions. */
  allNames(): string[] {
    return [...this.names.keys(), ...(this.parent?.allNames() ?? [])];
  }
}
