// The Thrift transport and protocol classes (of the `thrift` package) a client speaks to every endpoint.
//
// - "framed" and "buffered": TFramedTransport / TBufferedTransport with TBinaryProtocol or TCompactProtocol.
// - "header": THeader (Apache Thrift's header format, magic 0x0FFF): each message is one self-framed THeader frame
//   carrying string key-values, the payload in binary or compact. The package's THeaderProtocol writes the key-values
//   only when its own flush() runs, which generated clients never call (they flush the transport), so the transport
//   here writes them itself: on the wire this is TBufferedTransport under THeaderProtocol, as a Thrift server of the
//   package reads it (`createServer(…, { transport: TBufferedTransport, protocol: THeaderProtocol })`).

import thrift from "thrift";
import { XdsError } from "../../xds-error.js";

/** How messages are framed: TFramedTransport, TBufferedTransport, or THeader (which carries key-values). */
export type ThriftTransportKind = "framed" | "buffered" | "header";

/** How messages are encoded: TBinaryProtocol or TCompactProtocol. */
export type ThriftProtocolKind = "binary" | "compact";

/** What the header transport adds to the package's transports (THeaderTransport's methods; absent from @types/thrift). */
export interface HeaderWriting {
  clearWriteHeaders(): void;
  setWriteHeader(key: string, value: string): void;
}

/** A transport class of the `thrift` package (a constructor with the static `receiver` a Connection reads with). */
type TransportClass = new (buffer: Buffer | undefined, onFlush: (message: Buffer, seqid?: number) => void) => object;
/** A protocol class of the `thrift` package. */
type ProtocolClass = new (transport: never) => object;

/** The classes a connection to an endpoint is made with. */
export interface ThriftWire {
  readonly transport: TransportClass;
  readonly protocol: ProtocolClass;
  /** Whether calls carry THeader key-values (the output transport is then HeaderWriting). */
  readonly header: boolean;
}

/** THeader's protocol ids (THeaderTransport.SubprotocolId). */
const SUBPROTOCOL_IDS: Readonly<Record<ThriftProtocolKind, number>> = { binary: 0, compact: 2 };

interface HeaderTransportMethods {
  setProtocolId(id: number): void;
  writeHeaders(): void;
  flush(): void;
}

/** The wire of `transport` × `protocol`; throws INVALID_ARGUMENT naming the bad option. */
export function thriftWire(transport: ThriftTransportKind, protocol: ThriftProtocolKind): ThriftWire {
  if (protocol !== "binary" && protocol !== "compact") {
    throw new XdsError("INVALID_ARGUMENT", `createXdsThriftClient: protocol: expected "binary" or "compact", got ${JSON.stringify(protocol)}`);
  }
  const lib = thrift as unknown as Record<string, unknown>;
  const payload = (protocol === "binary" ? lib["TBinaryProtocol"] : lib["TCompactProtocol"]) as ProtocolClass;
  switch (transport) {
    case "framed":
      return { transport: lib["TFramedTransport"] as TransportClass, protocol: payload, header: false };
    case "buffered":
      return { transport: lib["TBufferedTransport"] as TransportClass, protocol: payload, header: false };
    case "header":
      return { transport: headerTransport(SUBPROTOCOL_IDS[protocol]), protocol: lib["THeaderProtocol"] as ProtocolClass, header: true };
    default:
      throw new XdsError("INVALID_ARGUMENT", `createXdsThriftClient: transport: expected "framed", "buffered" or "header", got ${JSON.stringify(transport)}`);
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
