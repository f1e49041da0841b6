// The Thrift transport and protocol classes (of the `thrift` package) a client speaks to every endpoint, and how a
// call's key-values are put on the wire.
//
// - "framed" and "buffered": TFramedTransport / TBufferedTransport with TBinaryProtocol or TCompactProtocol.
// - "header": THeader (Apache Thrift's header format, magic 0x0FFF): each message is one self-framed THeader frame
//   carrying string key-values, the payload in binary or compact. The package's THeaderProtocol writes the key-values
//   only when its own flush() runs, which generated clients never call (they flush the transport), so the transport
//   here writes them itself: on the wire this is TBufferedTransport under THeaderProtocol, as a Thrift server of the
//   package reads it (`createServer(…, { transport: TBufferedTransport, protocol: THeaderProtocol })`).
// - "ttheader": Kitex's TTHeader (magic 0x1000; ttheader-frame.ts), each message one frame whose string key-values
//   are the call's key-values as Kitex metainfo keys (kitex-metainfo-key.ts) and `isn` (the IDL service name, which
//   a Kitex server serving several services reads), and whose int key-values are TO_METHOD and, when the call has a
//   deadline, RPC_TIMEOUT (the ms left). The payload is TBinaryProtocol or TCompactProtocol.

import thrift from "thrift";
import { XdsError } from "../../xds-error.js";
import { kitexMetainfoKey } from "./kitex-metainfo-key.js";
import { encodeTTHeaderInfo, TTHEADER_INT_KEYS, TTHEADER_PROTOCOL_IDS } from "./ttheader-frame.js";
import { ttheaderTransport, type TTHeaderWriting } from "./ttheader-transport.js";

/** How messages are framed: TFramedTransport, TBufferedTransport, THeader or TTHeader (the last two carry key-values). */
export type ThriftTransportKind = "framed" | "buffered" | "header" | "ttheader";

/** How messages are encoded: TBinaryProtocol or TCompactProtocol. */
export type ThriftProtocolKind = "binary" | "compact";

/** What the header transport adds to the package's transports (THeaderTransport's methods; absent from @types/thrift). */
interface HeaderWriting {
  clearWriteHeaders(): void;
  setWriteHeader(key: string, value: string): void;
}

/** A transport class of the `thrift` package (a constructor with the static `receiver` a Connection reads with). */
type TransportClass = new (buffer: Buffer | undefined, onFlush: (message: Buffer, seqid?: number) => void) => object;
/** A protocol class of the `thrift` package. */
type ProtocolClass = new (transport: never) => object;

/**
 * Puts one call's key-values on a connection's output transport, before the generated client writes the call: `method`,
 * its `headers`, its `deadline` (ms since the epoch; Infinity for none). Throws an INVALID_ARGUMENT XdsError for
 * key-values the framing cannot carry.
 */
export type KeyValueWriter = (output: unknown, method: string, headers: Readonly<Record<string, string>>, deadline: number) => void;

/** The classes a connection to an endpoint is made with. */
export interface ThriftWire {
  readonly transport: TransportClass;
  readonly protocol: ProtocolClass;
  /** How calls carry key-values; undefined when the framing carries none. */
  readonly writeKeyValues: KeyValueWriter | undefined;
}

/** THeader's protocol ids (THeaderTransport.SubprotocolId). */
const SUBPROTOCOL_IDS: Readonly<Record<ThriftProtocolKind, number>> = { binary: 0, compact: 2 };

interface HeaderTransportMethods {
  setProtocolId(id: number): void;
  writeHeaders(): void;
  flush(): void;
}

/** The wire of `transport` × `protocol` for calls of `service` (the IDL service name); throws INVALID_ARGUMENT naming the bad option. */
export function thriftWire(transport: ThriftTransportKind, protocol: ThriftProtocolKind, service: string): ThriftWire {
  if (protocol !== "binary" && protocol !== "compact") {
    throw new XdsError("INVALID_ARGUMENT", `createXdsThriftClient: protocol: expected "binary" or "compact", got ${JSON.stringify(protocol)}`);
  }
  const lib = thrift as unknown as Record<string, unknown>;
  const payload = (protocol === "binary" ? lib["TBinaryProtocol"] : lib["TCompactProtocol"]) as ProtocolClass;
  switch (transport) {
    case "framed":
      return { transport: lib["TFramedTransport"] as TransportClass, protocol: payload, writeKeyValues: undefined };
    case "buffered":
      return { transport: lib["TBufferedTransport"] as TransportClass, protocol: payload, writeKeyValues: undefined };
    case "header":
      return { transport: headerTransport(SUBPROTOCOL_IDS[protocol]), protocol: lib["THeaderProtocol"] as ProtocolClass, writeKeyValues: writeTHeader };
    case "ttheader": {
      const protocolId = TTHEADER_PROTOCOL_IDS[protocol];
      return { transport: ttheaderTransport(protocolId), protocol: payload, writeKeyValues: ttheaderWriter(protocolId, service) };
    }
    default:
      throw new XdsError("INVALID_ARGUMENT", `createXdsThriftClient: transport: expected "framed", "buffered", "header" or "ttheader", got ${JSON.stringify(transport)}`);
  }
}

/** TBufferedTransport that writes each message as a THeader frame of payload protocol `protocolId`, with its key-values. */
function headerTransport(protocolId: number): TransportClass {
  const Buffered = (thrift as unknown as { TBufferedTransport: TransportClass }).TBufferedTransport;
  // The package's transports are ES5 constructors; `receiver` (static) is inherited through the class's prototype.
  class HeaderTransport extends Buffered {
    constructor(buffer: Buffer | undefined, onFlush: (message: Buffer, seqid?: number) => void) {
      super(buffer, onFlush);
      (this as unknown as HeaderTransportMethods).setProtocolId(protocolId);
    }

    flush(): void {
      const self = this as unknown as HeaderTransportMethods;
      self.writeHeaders();
      (Buffered.prototype as unknown as HeaderTransportMethods).flush.call(this);
    }
  }
  return HeaderTransport;
}

/** THeader: the call's key-values as they are. */
const writeTHeader: KeyValueWriter = (output, _method, headers) => {
  const writing = output as HeaderWriting;
  writing.clearWriteHeaders();
  for (const key in headers) writing.setWriteHeader(key, headers[key]!);
};

/** TTHeader: `isn` and the call's key-values as Kitex metainfo keys; TO_METHOD and RPC_TIMEOUT. */
function ttheaderWriter(protocolId: number, service: string): KeyValueWriter {
  return (output, method, headers, deadline) => {
    const strings: Record<string, string> = { isn: service };
    for (const key in headers) strings[kitexMetainfoKey(key)] = headers[key]!;
    const ints: [number, string][] = [[TTHEADER_INT_KEYS.toMethod, method]];
    if (deadline !== Infinity) ints.push([TTHEADER_INT_KEYS.rpcTimeout, String(Math.max(1, Math.ceil(deadline - Date.now())))]);
    (output as TTHeaderWriting).setNextHeader(encodeTTHeaderInfo({ protocolId, strings, ints }));
  };
}
