// A transport class of the `thrift` package that speaks Kitex's TTHeader (ttheader-frame.ts), for a Connection (and a
// server of the package) to use as it uses TFramedTransport: each message flushed is written as one frame, with the
// header set for it; each frame read hands its payload to the protocol.
//
// The package's Connection reads in a "data" listener, where a throw would be uncaught: a frame that is not TTHeader
// is handed on as a transport whose every read fails with what was wrong, which the Connection emits as its "error"
// (the endpoint then closes the connection and fails its calls with that reason); nothing more is read after it.

import thrift from "thrift";
import { encodeTTHeaderInfo, TTHEADER_PREFIX_SIZE, ttheaderFrame, ttheaderPayload, ttheaderPrefixProblem } from "./ttheader-frame.js";

/** What the TTHeader transport adds to the package's transports. */
export interface TTHeaderWriting {
  /** Sets the header (encodeTTHeaderInfo's) of the next message flushed; without one, a frame carries no key-values. */
  setNextHeader(header: Buffer): void;
}

/** What a frame's reader hands a payload to: the package's Connection or server. */
type FrameCallback = (transport: object, seqid?: number) => void;

/** A transport class of the `thrift` package: `new (buffer, onFlush)`, and `receiver` to read a stream with. */
export interface TTHeaderTransportClass {
  new (buffer: Buffer | undefined, onFlush: (frame: Buffer, seqid?: number) => void): TTHeaderWriting;
  receiver(callback: FrameCallback, seqid?: number): (data: Buffer) => void;
}

/** The part of TFramedTransport used here: its read and write buffers and the sequence id its protocol sets. */
interface FramedTransport {
  inBuf: Buffer;
  readPos: number;
  outBuffers: Buffer[];
  outCount: number;
  _seqid: number | null;
  onFlush: ((frame: Buffer, seqid?: number) => void) | undefined;
  commitPosition(): void;
  ensureAvailable(length: number): void;
}

const lib = thrift as unknown as {
  TFramedTransport: new (buffer?: Buffer, onFlush?: (frame: Buffer, seqid?: number) => void) => FramedTransport;
  InputBufferUnderrunError: new () => Error;
};
const Framed = lib.TFramedTransport;

/**
 * What a read past a frame's end throws. The package's readers read messages until one throws InputBufferUnderrunError,
 * i.e. once per frame: one shared instance spares each frame the cost of a new error and its stack trace.
 */
const END_OF_FRAME = new lib.InputBufferUnderrunError();

/**
 * One frame's payload, to read its one message from. The reader commits the position once it has read the message
 * (the Connection when the call's callback runs, a server after each message): a read past the end before that is a
 * message cut short by its frame, which fails the connection; after it, the end of the frame.
 */
class FrameReader extends Framed {
  private messageRead = false;

  override commitPosition(): void {
    this.messageRead = true;
  }

  override ensureAvailable(length: number): void {
    if (this.readPos + length <= this.inBuf.length) return;
    if (this.messageRead) throw END_OF_FRAME;
    throw new Error(`a Thrift message runs past the end of its TTHeader frame (a ${this.inBuf.length}-byte payload)`);
  }
}

/** A read-side transport whose every read fails with `error`. */
class FailedFrame extends Framed {
  constructor(private readonly error: Error) {
    super(Buffer.alloc(0));
  }

  override ensureAvailable(): void {
    throw this.error;
  }
}

/** The TTHeader transport class for payloads of protocol id `protocolId` (TTHEADER_PROTOCOL_IDS). */
export function ttheaderTransport(protocolId: number): TTHeaderTransportClass {
  const bare = encodeTTHeaderInfo({ protocolId, strings: {}, ints: [] });

  return class TTHeaderTransport extends Framed implements TTHeaderWriting {
    private nextHeader: Buffer | undefined;

    setNextHeader(header: Buffer): void {
      this.nextHeader = header;
    }

    /** Writes what the protocol wrote since the last flush as one frame (where TFramedTransport writes LENGTH and the message). */
    flush(): void {
      const seqid = this._seqid ?? 0;
      this._seqid = null;
      const frame = ttheaderFrame(seqid, this.nextHeader ?? bare, this.outBuffers, this.outCount);
      this.nextHeader = undefined;
      this.outBuffers = [];
      this.outCount = 0;
      this.onFlush?.(frame, seqid);
    }

    /** Reads a stream of frames, handing each payload to `callback` as a transport to read the message from. */
    static receiver(callback: FrameCallback, seqid?: number): (data: Buffer) => void {
      let chunks: Buffer[] = [];
      let buffered = 0;
      let failed = false;
      const fail = (why: string) => {
        failed = true;
        chunks = [];
        callback(new FailedFrame(new Error(why)), seqid);
      };
      return (data) => {
        if (failed) return;
        chunks.push(data);
        buffered += data.length;
        while (buffered >= TTHEADER_PREFIX_SIZE) {
          if (chunks[0]!.length < TTHEADER_PREFIX_SIZE) chunks = [Buffer.concat(chunks, buffered)];
          const problem = ttheaderPrefixProblem(chunks[0]!);
          if (problem !== undefined) return fail(problem);
          const size = 4 + chunks[0]!.readUInt32BE(0);
          if (buffered < size) return;
          const all = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, buffered);
          const payload = ttheaderPayload(all.subarray(0, size), protocolId);
          if (typeof payload === "string") return fail(payload);
          const rest = all.subarray(size);
          chunks = rest.length > 0 ? [rest] : [];
          buffered = rest.length;
          callback(new FrameReader(payload), seqid);
        }
      };
    }
  };
}
