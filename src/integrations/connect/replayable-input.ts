// The requests of a Connect streaming call that may retry (gRFC A44): each attempt reads the requests the earlier ones
// read, then the rest of the caller's stream. What is read is kept while the call may still retry (call-attempts.ts
// counts the bytes and commits the call past its buffer); the caller's stream is read once, whichever attempt asks.

import type { CallAttempts } from "../call-attempts.js";

/** The caller's request stream, replayable for each attempt of one call. */
export class ReplayableInput<T> {
  private readonly kept: T[] = [];
  private readonly iterator: AsyncIterator<T>;
  /** The read of the caller's stream in progress: an attempt that gives up on it leaves it to the next. */
  private reading: Promise<IteratorResult<T> & { kept: boolean }> | undefined;
  private finished = false;

  constructor(
    source: AsyncIterable<T>,
    private readonly attempts: CallAttempts,
    /** The serialized size of a request, in bytes. */
    private readonly sizeOf: (request: T) => number,
  ) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  /** The requests of the next attempt: every one read so far (while kept), then the caller's stream onwards. */
  attempt(): AsyncIterable<T> {
    const kept = this.kept;
    const read = (): Promise<IteratorResult<T> & { kept: boolean }> => this.read();
    const attempts = this.attempts;
    const close = (): void => this.close();
    return {
      async *[Symbol.asyncIterator]() {
        let next = 0;
        try {
          for (;;) {
            if (next < kept.length) {
              yield kept[next++]!;
              continue;
            }
            const result = await read();
            if (result.done === true) return;
            // A request kept for replays is yielded from `kept` on the next turn.
            if (!result.kept) yield result.value;
          }
        } finally {
          // The committed attempt stopped reading early (the call ended): so does the call, as a for-await loop would.
          if (attempts.isCommitted) close();
        }
      },
    };
  }

  /** Stops reading the caller's stream (the call is over): its iterator is returned, as a for-await loop left early does. */
  close(): void {
    if (this.finished) return;
    this.finished = true;
    void this.iterator.return?.()?.catch(() => undefined);
  }

  private read(): Promise<IteratorResult<T> & { kept: boolean }> {
    this.reading ??= this.iterator.next().then(
      (result) => {
        this.reading = undefined;
        if (result.done === true) {
          this.finished = true;
          return { ...result, kept: false };
        }
        // Once committed nothing is kept: the request is not encoded a second time just to be measured.
        const keep = !this.attempts.isCommitted && this.attempts.keep(this.sizeOf(result.value));
        if (keep) this.kept.push(result.value);
        return { ...result, kept: keep };
      },
      (error: unknown) => {
        this.reading = undefined;
        this.finished = true;
        throw error;
      },
    );
    return this.reading;
  }
}
