import type { Duration } from "@bufbuild/protobuf/wkt";
import type { Reject } from "./field-error.js";

/** The largest number of seconds a google.protobuf.Duration may hold (10,000 years). */
const MAX_DURATION_SECONDS = 315_576_000_000n;

/**
 * Reads a non-negative google.protobuf.Duration as milliseconds (fractional below 1 ms), rejecting at `path`
 * a negative, out-of-range or malformed one (the rules of the Duration documentation, as gRFC A50 requires).
 */
export function durationMillis(duration: Duration, path: string, reject: Reject): number {
  const { seconds, nanos } = duration;
  if (seconds < 0n || nanos < 0) return reject(path, "must not be negative");
  if (seconds > MAX_DURATION_SECONDS) return reject(path, `seconds must be at most ${MAX_DURATION_SECONDS}`);
  if (nanos > 999_999_999) return reject(path, "nanos must be at most 999999999");
  return Number(seconds) * 1000 + nanos / 1e6;
}

/** Like durationMillis, but returns `fallback` when the duration is unset. */
export function optionalDurationMillis<T>(duration: Duration | undefined, fallback: T, path: string, reject: Reject): number | T {
  return duration === undefined ? fallback : durationMillis(duration, path, reject);
}
