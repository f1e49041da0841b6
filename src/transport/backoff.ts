/** How reconnection delays grow: exponential with jitter, as gRPC's connection backoff. */
export interface BackoffOptions {
  /** The first delay in milliseconds. Default 1000. */
  readonly initialMs?: number;
  /** The largest delay in milliseconds. Default 30000. */
  readonly maxMs?: number;
  /** The factor each failure multiplies the delay by. Default 1.6. */
  readonly multiplier?: number;
  /** The random spread around each delay, as a fraction (0.2 = ±20%). Default 0.2. */
  readonly jitter?: number;
}

/** A sequence of reconnection delays; reset once the connection proves healthy. */
export class Backoff {
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly multiplier: number;
  private readonly jitter: number;
  private current: number;

  constructor(options: BackoffOptions = {}, private readonly random: () => number = Math.random) {
    this.initialMs = options.initialMs ?? 1000;
    this.maxMs = options.maxMs ?? 30000;
    this.multiplier = options.multiplier ?? 1.6;
    this.jitter = options.jitter ?? 0.2;
    this.current = this.initialMs;
  }

  /** The delay before the next attempt, in milliseconds. */
  next(): number {
    const base = this.current;
    this.current = Math.min(this.current * this.multiplier, this.maxMs);
    return Math.max(0, base * (1 + this.jitter * (this.random() * 2 - 1)));
  }

  /** Starts over from the initial delay. */
  reset(): void {
    this.current = this.initialMs;
  }
}
