/** Source texts by file name, and offset → line/column conversion for diagnostics. */

/** One source file's text with a lazily built line-start table. */
export class SourceText {
  private lineStarts: number[] | undefined;

  constructor(
    readonly file: string,
    readonly text: string,
  ) {}

  /** 1-based line and column of a UTF-16 offset (clamped to the text). */
  position(offset: number): { line: number; col: number } {
    const starts = this.starts();
    const off = Math.max(0, Math.min(Number.isFinite(offset) ? offset : 0, this.text.length));
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= off) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: off - starts[lo]! + 1 };
  }

  /** The text of a 1-based line, without its line terminator. */
  lineText(line: number): string {
    const starts = this.starts();
    const start = starts[line - 1] ?? this.text.length;
    let end = starts[line] ?? this.text.length;
    while (end > start && (this.text[end - 1] === "\n" || this.text[end - 1] === "\r")) end--;
    return this.text.slice(start, end);
  }

  private starts(): number[] {
    if (this.lineStarts === undefined) {
      const starts = [0];
      for (let i = 0; i < this.text.length; i++) {
        const c = this.text.charCodeAt(i);
        if (c === 10) starts.push(i + 1);
        else if (c === 13 && this.text.charCodeAt(i + 1) !== 10) starts.push(i + 1);
      }
      this.lineStarts = starts;
    }
    return this.lineStarts;
  }
}

/** Every source text a compilation read, so diagnostics can quote any of them. */
export class SourceMap {
  private readonly files = new Map<string, SourceText>();

  add(file: string, text: string): SourceText {
    const src = new SourceText(file, text);
    this.files.set(file, src);
    return src;
  }

  get(file: string): SourceText | undefined {
    return this.files.get(file);
  }

  /** The files read, in the order they were first read (what `estc build --watch` watches). */
  paths(): string[] {
    return [...this.files.keys()];
  }
}
