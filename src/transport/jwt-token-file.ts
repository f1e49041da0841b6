// A JWT read from a file for the calls to the xDS server, as gRFC A97's JwtTokenFileCallCredentials: the token is
// cached until 30 s before its `exp`; within a minute of that, a call still gets the cached token and starts a
// re-read in the background (projected tokens rotate: Istio's is rewritten well before it expires); with no valid
// token, the call waits for the read. A read that fails, or finds no `exp`, fails the calls waiting for it, and the
// next read waits for a backoff; calls made meanwhile get the same failure. Nothing is read while no call asks.

import { readFile } from "node:fs/promises";
import { Backoff } from "./backoff.js";

/** The token for one call, or why there is none (`unauthenticated`: the file holds no valid JWT, else it could not be read). */
export type TokenResult = { readonly token: string } | { readonly error: string; readonly unauthenticated: boolean };

/** The margin before `exp` after which a cached token is no longer used (A97: 30 s). */
const EXPIRY_MARGIN_MS = 30_000;
/** How long before its cache expiry a token is re-read in the background (A97: "typically 1 minute"). */
const REFRESH_WINDOW_MS = 60_000;

/** A JWT token file, read on demand and cached by the token's expiry. */
export class JwtTokenFile {
  private cached: { readonly token: string; readonly expiresAt: number } | undefined;
  private reading: Promise<TokenResult> | undefined;
  private failure: { readonly result: TokenResult; readonly retryAt: number } | undefined;
  private readonly backoff = new Backoff();

  constructor(
    /** The token file, e.g. `/var/run/secrets/tokens/istio-token`. */
    readonly path: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** The token to send with a call that starts now. Never rejects. */
  token(): Promise<TokenResult> {
    const now = this.now();
    const cached = this.cached;
    if (cached !== undefined && now < cached.expiresAt) {
      if (cached.expiresAt - now < REFRESH_WINDOW_MS && this.mayRead(now)) void this.read();
      return Promise.resolve({ token: cached.token });
    }
    if (!this.mayRead(now)) return Promise.resolve(this.failure!.result);
    return this.read();
  }

  private mayRead(now: number): boolean {
    return this.failure === undefined || now >= this.failure.retryAt;
  }

  private read(): Promise<TokenResult> {
    this.reading ??= this.readOnce().finally(() => (this.reading = undefined));
    return this.reading;
  }

  private async readOnce(): Promise<TokenResult> {
    let text: string;
    try {
      text = (await readFile(this.path, "utf8")).trim();
    } catch (reason: unknown) {
      return this.failed({ error: `cannot read the JWT token file ${this.path}: ${reason instanceof Error ? reason.message : String(reason)}`, unauthenticated: false });
    }
    const exp = expiryOf(text);
    if (exp === undefined) {
      return this.failed({ error: `the JWT token file ${this.path} holds no JWT with a numeric exp claim`, unauthenticated: true });
    }
    this.cached = { token: text, expiresAt: exp * 1000 - EXPIRY_MARGIN_MS };
    this.failure = undefined;
    this.backoff.reset();
    return { token: text };
  }

  private failed(result: TokenResult): TokenResult {
    this.failure = { result, retryAt: this.now() + this.backoff.next() };
    return result;
  }
}

/** The `exp` claim (seconds since the epoch) of a compact JWT, without verifying it (the server does); undefined when unreadable. */
export function expiryOf(token: string): number | undefined {
  const parts = token.split(".");
  if (parts.length !== 3) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(parts[1]!, "base64url").toString("utf8"));
    const exp = typeof claims === "object" && claims !== null ? (claims as { exp?: unknown }).exp : undefined;
    return typeof exp === "number" && Number.isFinite(exp) ? exp : undefined;
  } catch {
    return undefined;
  }
}
