/**
 * Call metadata carried by the async context, like Kitex's metainfo: values set with `withValues` are
 * seen by every call made inside `fn`, across awaits and timers, and are what header matchers see.
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

/** Call metadata on AsyncLocalStorage: `withValues(values, fn)`, `get(key)`, `all()`. */
export const metainfo = Object.freeze({ withValues, get, all });
