// How a call's key-values become Kitex metainfo over TTHeader. A Kitex server (its metainfo handler, with
// bytedance/gopkg's cloud/metainfo) reads the string key-values whose key starts with RPC_TRANSIT_ as transient
// metainfo (one hop: `metainfo.GetValue(ctx, key)`), and those starting with RPC_PERSIST_ as persistent metainfo
// (`metainfo.GetPersistentValue`, which a Kitex client passes on downstream); it reads other keys as no metainfo.

const TRANSIENT = "RPC_TRANSIT_";
const PERSISTENT = "RPC_PERSIST_";
const PREFIX_LENGTH = 12; // both prefixes

/**
 * The TTHeader string key for the call key-value `key`: `key` itself when it starts with Kitex's transient or
 * persistent prefix (matched case-insensitively, as rxds's metainfo lower-cases its keys; written upper-case, the rest
 * kept), else `RPC_TRANSIT_<key>`, so that a Kitex server reads it as the transient metainfo `key`.
 */
export function kitexMetainfoKey(key: string): string {
  if (key.length < PREFIX_LENGTH || (key.charCodeAt(0) | 0x20) !== 0x72) return TRANSIENT + key; // not r…
  const prefix = key.slice(0, PREFIX_LENGTH).toUpperCase();
  if (prefix === TRANSIENT || prefix === PERSISTENT) return prefix + key.slice(PREFIX_LENGTH);
  return TRANSIENT + key;
}
