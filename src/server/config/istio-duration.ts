/** A protobuf Duration as protobuf-es holds it. */
export interface ProtoDuration {
  readonly seconds: bigint;
  readonly nanos: number;
}

const unitNanos: Readonly<Record<string, bigint>> = {
  h: 3_600_000_000_000n,
  m: 60_000_000_000n,
  s: 1_000_000_000n,
  ms: 1_000_000n,
  us: 1_000n,
  "µs": 1_000n,
  ns: 1n,
};

const whole = /^(?:\d+(?:\.\d+)?(?:h|ms|m|s|us|µs|ns))+$/;
const part = /(\d+)(?:\.(\d+))?(h|ms|m|s|us|µs|ns)/g;

/**
 * Parses a duration as Istio resources write it: protobuf JSON (`0.5s`) or Go style
 * (`1m30s`, `100ms`); undefined when the text is not a duration.
 */
export function parseIstioDuration(text: string): ProtoDuration | undefined {
  if (!whole.test(text)) return undefined;
  let total = 0n;
  for (const match of text.matchAll(part)) {
    const unit = unitNanos[match[3] as string] as bigint;
    const fraction = match[2] ?? "";
    total += BigInt(match[1] as string) * unit;
    if (fraction !== "") total += (BigInt(fraction) * unit) / 10n ** BigInt(fraction.length);
  }
  return { seconds: total / 1_000_000_000n, nanos: Number(total % 1_000_000_000n) };
}
