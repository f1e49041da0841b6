// Where rxds says what it does: a four-level logger the application may replace, a default that writes to
// stderr at the level RXDS_LOG names (warn when unset), and a throttle so that a condition that repeats
// (a control plane that stays down, a NACK re-sent on every reconnect) is logged once, then summarised.

import { XdsError } from "./xds-error.js";

/** The levels, least severe first. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Receives rxds's log lines; each method takes one line of text. */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

const LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

/**
 * The log level named by `value` (RXDS_LOG's syntax: `debug`, `info`, `warn`, `error`, or `none`/`off` for
 * nothing; case-insensitive); `fallback` when unset or empty. Throws INVALID_CONFIG naming the variable otherwise.
 */
export function parseLogLevel(value: string | undefined, fallback: LogLevel | "none" = "warn"): LogLevel | "none" {
  if (value === undefined || value.trim() === "") return fallback;
  const level = value.trim().toLowerCase();
  if (level === "none" || level === "off") return "none";
  if ((LEVELS as readonly string[]).includes(level)) return level as LogLevel;
  throw new XdsError("INVALID_CONFIG", `RXDS_LOG: expected debug, info, warn, error or none, got ${JSON.stringify(value)}`);
}

/** A logger that writes lines at `level` and above to `write` (default: stderr), each prefixed with the time, `rxds` and the level. */
export function createLogger(level: LogLevel | "none", write: (line: string) => void = (line) => process.stderr.write(line)): Logger {
  const threshold = level === "none" ? LEVELS.length : LEVELS.indexOf(level);
  const at = (index: number) =>
    index < threshold ? () => undefined : (message: string) => write(`${new Date().toISOString()} rxds ${LEVELS[index]}: ${message}\n`);
  return Object.freeze({ debug: at(0), info: at(1), warn: at(2), error: at(3) });
}

/** The logger used when none is given: stderr, at the level of RXDS_LOG (warn when unset). */
export function defaultLogger(env: NodeJS.ProcessEnv = process.env): Logger {
  let level: LogLevel | "none";
  try {
    level = parseLogLevel(env["RXDS_LOG"]);
  } catch (error: unknown) {
    process.stderr.write(`rxds: ${(error as Error).message}; logging at warn\n`);
    level = "warn";
  }
  return createLogger(level);
}

/**
 * Lets a repeated line through once per window: the first line of a key is written, the same key is held back
 * until `windowMs` have passed, and the next line written for it says how many were held back meanwhile.
 */
export class LogThrottle {
  private readonly seen = new Map<string, { at: number; held: number }>();

  constructor(
    private readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Writes `line` with `sink` unless a line of the same `key` was written within the window. */
  write(key: string, line: string, sink: (line: string) => void): void {
    const time = this.now();
    const entry = this.seen.get(key);
    if (entry !== undefined && time - entry.at < this.windowMs) {
      entry.held++;
      return;
    }
    if (this.seen.size >= 1000) this.prune(time);
    this.seen.set(key, { at: time, held: 0 });
    const held = entry?.held ?? 0;
    sink(held > 0 ? `${line} (${held} more like it in the last ${Math.round(this.windowMs / 1000)} s)` : line);
  }

  private prune(time: number): void {
    for (const [key, entry] of this.seen) if (time - entry.at >= this.windowMs) this.seen.delete(key);
  }
}
