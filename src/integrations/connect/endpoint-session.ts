// The HTTP/2 session of one endpoint's Connect transport, which knows when its calls are over.
//
// Connect gives every call a signal that it aborts when the call ends, however it ends: a unary
// response received, a stream response read to the end, a deadline passed, the caller's signal
// aborted, an error. A call holds the session until then. Counting here, rather than in a wrapper
// around what the caller iterates (which never learns of a response that is never read), is what
// lets a retired endpoint's session close. The HTTP/2 stream itself is no guide: one whose response
// was never read stays open in Node until it is read, even after the server has finished.

import type { Interceptor } from "@connectrpc/connect";
import { Http2SessionManager } from "@connectrpc/connect-node";

/** An Http2SessionManager that can be retired: it closes once no call holds it. */
export class EndpointSession extends Http2SessionManager {
  private calls = 0;
  private retired = false;

  /** An interceptor (to be the transport's innermost) that makes each call hold this session until the call ends. */
  readonly holdForCall: Interceptor = (next) => (request) => {
    if (!request.signal.aborted) {
      this.calls++;
      request.signal.addEventListener("abort", () => this.release(), { once: true });
    }
    return next(request);
  };

  /** Closes the session as soon as no call holds it: now, or when the last one ends. */
  retire(): void {
    this.retired = true;
    if (this.calls === 0) this.abort();
  }

  private release(): void {
    this.calls--;
    if (this.retired && this.calls === 0) this.abort();
  }
}
