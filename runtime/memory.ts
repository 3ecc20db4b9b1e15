/**
 * Byte counters a user can read (DESIGN.md: "a buffer pool ... with byte counters a user can
 * read"). They are how the memory aims — residuals saved in their cheapest form — are measured,
 * so every device allocation goes through one of these.
 */

/** Live, saved-for-backward and peak byte counts of one device. */
export class MemoryStats {
  /** Bytes currently allocated on the device. */
  bytesAllocated = 0;
  /** Of those, bytes held as residuals for a later backward (a pullback's saved values). */
  bytesSavedForBackward = 0;
  /** The largest `bytesAllocated` seen since the last `reset()`: what a step really needs. */
  peakBytesAllocated = 0;

  /** Counts a new allocation of `bytes`. */
  track(bytes: number): void {
    checkBytes(bytes);
    this.bytesAllocated += bytes;
    if (this.bytesAllocated > this.peakBytesAllocated)
      this.peakBytesAllocated = this.bytesAllocated;
  }

  /** Counts `bytes` given back. Releasing more than is live is a runtime bug, so it throws. */
  release(bytes: number): void {
    checkBytes(bytes);
    if (bytes > this.bytesAllocated) {
      throw new RangeError(
        `estc internal error: releasing ${bytes} bytes but only ${this.bytesAllocated} are allocated`,
      );
    }
    this.bytesAllocated -= bytes;
  }

  /** Marks `bytes` of live memory as residuals kept for a backward. */
  trackSaved(bytes: number): void {
    checkBytes(bytes);
    this.bytesSavedForBackward += bytes;
  }

  /** Unmarks residual bytes once their backward has run (or the pullback was dropped). */
  releaseSaved(bytes: number): void {
    checkBytes(bytes);
    if (bytes > this.bytesSavedForBackward) {
      throw new RangeError(
        `estc internal error: releasing ${bytes} saved bytes but only ${this.bytesSavedForBackward} are saved`,
      );
    }
    this.bytesSavedForBackward -= bytes;
  }

  /**
   * Starts a new peak window at the bytes live now, so a benchmark can measure one step's peak.
   * The live counts are left alone: they describe memory that still exists, and zeroing them
   * would make the later `release` of that memory look like a double free.
   */
  reset(): void {
    this.peakBytesAllocated = this.bytesAllocated;
  }
}

/** A negative or fractional byte count can only come from a runtime bug; fail where it happens. */
function checkBytes(bytes: number): void {
  if (!Number.isSafeInteger(bytes) || bytes < 0) {
    throw new RangeError(`estc internal error: byte count ${bytes} is not a non-negative integer`);
  }
}
