// Catches what a call path lets escape: unhandled rejections and uncaught exceptions. Node would end
// the process on either; a test watches for them while it runs its calls and asserts there were none.

/** What escaped while watching: each unhandled rejection's reason and each uncaught exception. */
export interface Escapes {
  /** Stops watching (after one more turn of the event loop, so late rejections are seen) and returns what escaped. */
  stop(): Promise<unknown[]>;
}

/** Starts recording unhandled rejections and uncaught exceptions. */
export function watchEscapes(): Escapes {
  const escaped: unknown[] = [];
  const record = (reason: unknown): void => void escaped.push(reason);
  process.on("unhandledRejection", record);
  process.on("uncaughtException", record);
  return {
    async stop() {
      await new Promise((resolve) => setImmediate(resolve));
      process.off("unhandledRejection", record);
      process.off("uncaughtException", record);
      return escaped;
    },
  };
}
