import { ControlPlane } from "rxds/server";
import type { XdsSubject, XdsSubjectClient } from "../subjects/xds-subject.js";

/** How long any wait in a scenario may take before the run fails instead of hanging. */
export const waitLimitMs = 60_000;

/**
 * Runs `body` with a fresh control plane on 127.0.0.1 and a fresh client of it from `subject`; both are
 * closed afterwards, whatever happens. The client is made by `body` calling `connect()`, so that a
 * scenario can time the client's creation.
 */
export async function withLoopback<T>(
  subject: XdsSubject,
  body: (plane: ControlPlane, connect: () => XdsSubjectClient) => Promise<T>,
): Promise<T> {
  const plane = new ControlPlane({ requestHistory: 1 });
  const address = await plane.listen({ host: "127.0.0.1", port: 0 });
  const clients: XdsSubjectClient[] = [];
  try {
    return await body(plane, () => {
      const client = subject.createClient(address);
      clients.push(client);
      return client;
    });
  } finally {
    await Promise.all(clients.map((client) => client.close()));
    await plane.close();
  }
}

/**
 * Waits for a condition that callbacks make true. Callbacks call `notify()`, which reads the clock before
 * anything else, so the time a wait resolves with is the time of the callback that satisfied it.
 */
export class Arrival {
  private pending: { readonly done: () => boolean; readonly resolve: (at: number) => void; readonly timer: NodeJS.Timeout } | undefined;

  /** Records that something arrived; resolves the current wait if its condition now holds. */
  notify(): void {
    const at = performance.now();
    const pending = this.pending;
    if (pending && pending.done()) {
      this.pending = undefined;
      clearTimeout(pending.timer);
      pending.resolve(at);
    }
  }

  /** Resolves with the time (performance.now()) of the notification after which `done()` holds; fails after `waitLimitMs`. */
  until(done: () => boolean, what: string): Promise<number> {
    if (this.pending) return Promise.reject(new Error("bench: one wait at a time"));
    if (done()) return Promise.resolve(performance.now());
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending = undefined;
        reject(new Error(`bench: no ${what} within ${waitLimitMs / 1000} s`));
      }, waitLimitMs);
      this.pending = { done, resolve, timer };
    });
  }
}
