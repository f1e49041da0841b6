import type { GrpcCall } from "./routed-call.js";

type MessageContext = Parameters<GrpcCall["sendMessageWithContext"]>[0];

/** A request of the caller, kept until it is sent (or, while the call may retry, to be replayed). */
interface KeptMessage {
  readonly context: MessageContext;
  readonly message: Buffer;
  /** Whether the caller's write callback has run (it runs once, for the first attempt that wrote the message). */
  written: boolean;
}

/**
 * The requests of one routed call that no attempt has sent yet, and while the call may retry, those sent, for a
 * replay on the next attempt. Each caller's write callback runs once, however many attempts write its request.
 */
export class KeptRequests {
  private readonly messages: KeptMessage[] = [];

  /** How many requests are kept. */
  get size(): number {
    return this.messages.length;
  }

  /** The byte length of each kept request. */
  lengths(): number[] {
    return this.messages.map((kept) => kept.message.length);
  }

  /** Keeps a request no attempt has sent. */
  keep(context: MessageContext, message: Buffer): void {
    this.messages.push({ context, message, written: false });
  }

  /** Sends a request on `real` and keeps it, for a replay should the attempt fail. */
  sendKept(real: GrpcCall, context: MessageContext, message: Buffer): void {
    const kept: KeptMessage = { context, message, written: false };
    this.messages.push(kept);
    real.sendMessageWithContext(onceWritten(kept, undefined), message);
  }

  /** Sends kept request `i` on `real`, then runs `next` once it is written; false when there is no request `i`. May throw as grpc-js does. */
  replay(real: GrpcCall, i: number, next: () => void): boolean {
    const kept = this.messages[i];
    if (kept === undefined) return false;
    real.sendMessageWithContext(onceWritten(kept, next), kept.message);
    return true;
  }

  /** Forgets every kept request. */
  clear(): void {
    this.messages.length = 0;
  }
}

/** The kept request's context, its caller's write callback made to run once across attempts, then `next` (each time). */
function onceWritten(kept: KeptMessage, next: (() => void) | undefined): MessageContext {
  const { callback, flags } = kept.context;
  const once: MessageContext["callback"] = (error) => {
    if (!kept.written) {
      kept.written = true;
      callback?.(error);
    }
    next?.();
  };
  return flags === undefined ? { callback: once } : { flags, callback: once };
}
