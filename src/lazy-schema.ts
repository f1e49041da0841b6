// Generated protobuf modules loaded on first use. Loading one builds the descriptors of its .proto file and of every
// file it imports (tens of milliseconds for the Envoy files), so nothing under gen/ is loaded by `import "rxds"`: a
// module is loaded when a resource, a request or a config first needs it. The load is synchronous (`require` of an ES
// module, which Node runs unflagged from 20.19) because decoders are synchronous.

import { createRequire } from "node:module";
import type { DescMessage } from "@bufbuild/protobuf";

const require = createRequire(import.meta.url);

/** The generated module `gen/<path>_pb.js`, loaded on the first call; `M` is its type (`typeof import(…)`). */
export function generated<M>(path: string): () => M {
  let loaded: M | undefined;
  return () => (loaded ??= require(`../gen/${path}_pb.js`) as M);
}

/** A message type known by its full name, whose schema is loaded on the first `schema()`. */
export interface LazySchema<Desc extends DescMessage> {
  /** The message's full name, as an Any's type URL ends: matching it loads nothing. */
  readonly typeName: string;
  /** The schema; the first call loads its generated module. */
  readonly schema: () => Desc;
}

/** A LazySchema named `typeName` whose schema `load` returns (the lazy-schema tests check the two agree). */
export function lazySchema<Desc extends DescMessage>(typeName: string, load: () => Desc): LazySchema<Desc> {
  let loaded: Desc | undefined;
  return Object.freeze({ typeName, schema: () => (loaded ??= load()) });
}
