/**
 * Call metadata carried by the async context, like Kitex's persistent metainfo: values set with `withValues` are
 * seen by every call made inside `fn`, across awaits and timers; header matchers see them, and by default they travel
 * with the call as metadata (gRPC) or headers (Connect), the call's own values winning.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { XdsError } from "../xds-error.js";

/** The metadata of one context: lower-cased header names to values, frozen, without a prototype. */
export type MetaValues = Readonly<Record<string, string>>;

const EMPTY: MetaValues = Object.freeze(Object.create(null) as Record<string, string>);
const storage = new AsyncLocalStorage<MetaValues>();

/** Runs `fn` (sync or async; its result is returned as is) with `values` merged over the current ones. */
function withValues<R>(values: Readonly<Record<string, string>>, fn: () => R): R {
  if (typeof values !== "object" || values === null) {
    throw new XdsError("INVALID_ARGUMENT", `metainfo.withValues: values: expected an object of strings, got ${String(values)}`);
  }
  if (typeof fn !== "function") throw new XdsError("INVALID_ARGUMENT", "metainfo.withValues: fn: expected a function");
  const current = storage.getStore() ?? EMPTY;
  const keys = Object.keys(values);
  if (keys.length === 0) return storage.run(current, fn);
  const merged = Object.assign(Object.create(null) as Record<string, string>, current);
  for (const key of keys) {
    const value = values[key];
    if (typeof value !== "string") {
      throw new XdsError("INVALID_ARGUMENT", `metainfo.withValues: values[${JSON.stringify(key)}]: expected a string, got ${typeof value}`);
    }
    merged[key.toLowerCase()] = value;
  }
  return storage.run(Object.freeze(merged), fn);
}

/** The value of `key` (case-insensitive) in the current context, or undefined. */
function get(key: string): string | undefined {
  const store = storage.getStore();
  return store === undefined ? undefined : store[key.toLowerCase()];
}

/** Every value of the current context; the same frozen object for the whole context, empty outside any. */
function all(): MetaValues {
  return storage.getStore() ?? EMPTY;
}

/** Whether the current context holds any value (without allocating). */
export function hasMetainfo(): boolean {
  const values = storage.getStore();
  if (values !== undefined) for (const _ in values) return true;
  return false;
}

/**
 * Adds each value of the current context that the call lacks (`has`) to the call with `set`, the call's own values
 * winning; throws an XdsError INVALID_ARGUMENT naming the key when `set` refuses it (not a valid header name or value).
 */
export function sendMetainfo(has: (key: string) => boolean, set: (key: string, value: string) => void): void {
  const values = storage.getStore();
  if (values === undefined) return;
  for (const key in values) {
    if (has(key)) continue;
    try {
      set(key, values[key]!);
    } catch (reason: unknown) {
      const why = reason instanceof Error ? reason.message : String(reason);
      throw new XdsError("INVALID_ARGUMENT", `metainfo ${JSON.stringify(key)} cannot travel with the call (${why}); use a valid header name and value, or turn propagateMetainfo off`);
    }
  }
}

/** Call metadata on the async context, as Kitex's metainfo. */
export interface Metainfo {
  /** Runs `fn` (sync or async; its result is returned as is) with `values` merged over the current ones; keys are lower-cased. */
  withValues<R>(values: Readonly<Record<string, string>>, fn: () => R): R;
  /** The value of `key` (case-insensitive) in the current context, or undefined. */
  get(key: string): string | undefined;
  /** Every value of the current context; the same frozen object for the whole context, empty outside any. */
  all(): MetaValues;
}

/** Call metadata on AsyncLocalStorage: `withValues(values, fn)`, `get(key)`, `all()`. */
export const metainfo: Metainfo = Object.freeze({ withValues, get, all });
