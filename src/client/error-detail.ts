// The text of a NACK's error_detail, bounded as Envoy bounds it: a control plane can send a resource whose
// reason echoes megabytes (a 2 MB name), and a server that refuses the oversized NACK resets the stream for ever.

/** The most bytes of UTF-8 a NACK message carries, as Envoy's `truncateGrpcStatusMessage` allows. */
export const MAX_ERROR_DETAIL_BYTES = 4096;

/** The most bytes of one rejected resource's reason, so that one long reason cannot crowd out the others. */
export const MAX_REASON_BYTES = 1024;

const MARK = "…(truncated)";

/** `text`, cut to at most `maxBytes` bytes of UTF-8 (on a character boundary) and marked when cut. */
export function truncateUtf8(text: string, maxBytes: number): string {
  // A JS string of n UTF-16 units is at most 3n bytes of UTF-8: short strings need no encoding.
  if (text.length * 3 <= maxBytes) return text;
  const bytes = Buffer.from(text, "utf8");
  if (bytes.length <= maxBytes) return text;
  let end = Math.max(0, maxBytes - Buffer.byteLength(MARK));
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--; // back to the start of a character
  return bytes.subarray(0, end).toString("utf8") + MARK;
}

/** The error_detail message of a NACK: each reason bounded, joined with "; ", the whole bounded. */
export function nackMessage(reasons: readonly string[]): string {
  return truncateUtf8(reasons.map((reason) => truncateUtf8(reason, MAX_REASON_BYTES)).join("; "), MAX_ERROR_DETAIL_BYTES);
}
