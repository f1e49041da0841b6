// Which copy of @grpc/grpc-js a caller's credentials come from.
//
// An application may load several copies of grpc-js (its own version, a library's, an npm alias). A
// grpc-js Channel accepts only credentials made by its own copy (an instanceof check), so the
// channels rxds opens to endpoints must come from the copy that made the caller's credentials. grpc-js
// is CommonJS: every copy loaded by `require` or `import` is in the CommonJS module cache, where its
// index module is found by what it exports.

import * as own from "@grpc/grpc-js";
import { createRequire } from "node:module";
import { dirname } from "node:path";

/** What rxds takes from one loaded copy of @grpc/grpc-js: its Channel, Metadata, status codes and credentials. */
export interface GrpcJs {
  readonly Channel: typeof own.Channel;
  readonly Metadata: typeof own.Metadata;
  readonly status: typeof own.status;
  readonly credentials: Pick<typeof own.credentials, "createSsl">;
}

/** The shape of a grpc-js index module in the cache. */
interface GrpcJsExports extends GrpcJs {
  readonly ChannelCredentials: abstract new (...args: never[]) => unknown;
}

const moduleCache = createRequire(import.meta.url).cache;

/** Copies found, by the prototype of the credentials they made. */
const found = new WeakMap<object, GrpcJs>();

/**
 * The loaded copy of @grpc/grpc-js whose ChannelCredentials `credentials` is an instance of; else a
 * sentence saying what is wrong with them and how to fix it.
 */
export function grpcJsOf(credentials: unknown): GrpcJs | string {
  if (credentials instanceof own.ChannelCredentials) return own;
  if (typeof credentials !== "object" || credentials === null) {
    return `the client's channel credentials are ${credentials === null ? "null" : typeof credentials}, not a grpc-js ChannelCredentials`;
  }
  const prototype = Object.getPrototypeOf(credentials) as object | null;
  const known = prototype === null ? undefined : found.get(prototype);
  if (known !== undefined) return known;
  const copies: string[] = [];
  for (const [filename, module] of Object.entries(moduleCache)) {
    const exports = grpcJsExports(module?.exports);
    if (exports === undefined) continue;
    if (credentials instanceof exports.ChannelCredentials) {
      if (prototype !== null) found.set(prototype, exports);
      return exports;
    }
    copies.push(dirname(dirname(dirname(filename))));
  }
  return (
    `the client's channel credentials were not made by any loaded copy of @grpc/grpc-js ` +
    `(loaded: ${copies.length === 0 ? "none" : copies.join(", ")}); make them with the credentials of the ` +
    `@grpc/grpc-js the client comes from, loaded with require or import (a bundled copy cannot be found)`
  );
}

/** `exports` if it is a grpc-js index module, else undefined; never throws on odd modules. */
function grpcJsExports(exports: unknown): GrpcJsExports | undefined {
  if (typeof exports !== "object" || exports === null) return undefined;
  try {
    const candidate = exports as Partial<GrpcJsExports>;
    const isGrpcJs =
      typeof candidate.ChannelCredentials === "function" &&
      typeof candidate.Channel === "function" &&
      typeof candidate.Metadata === "function" &&
      typeof candidate.status === "object" &&
      typeof candidate.credentials?.createSsl === "function";
    return isGrpcJs ? (candidate as GrpcJsExports) : undefined;
  } catch {
    return undefined;
  }
}
