// Which of an ordered list of items can match a path, by the literal prefix each requires.
//
// A router tries its routes in order and takes the first that matches; most routes require the path
// to start with some literal (the exact path, the prefix, a regex's literal prefix), so for a given
// path most of them cannot match and need not be tried. The index is a compressed trie of those
// prefixes. Every node holds, in ascending order, the items whose prefix ends at it or at any node
// above it (items with prefix "" sit at the root). A lookup walks the trie along the path as far as
// it goes; the node it stops at holds exactly the items whose prefix is a prefix of the path, in
// their original order, so trying only those, in that order, picks the same first match.
//
// Built once per route table; a lookup allocates nothing and costs one Map lookup and one
// startsWith per trie edge followed (a handful for gRPC paths), whatever the number of items.

/** The items (indices into the list the index was built from) whose prefix `path[0, end)` starts with, ascending. */
export type PrefixLookup = (path: string, end: number) => readonly number[];

interface TrieNode {
  /** The text on the edge into this node (the root's is ""). */
  label: string;
  /** Children by the first UTF-16 code unit of their label. */
  readonly children: Map<number, TrieNode>;
  /** Items whose prefix ends exactly here. */
  readonly own: number[];
  /** Items whose prefix ends here or above, ascending; set once the trie is built. */
  candidates: readonly number[];
}

const node = (label: string): TrieNode => ({ label, children: new Map(), own: [], candidates: [] });

/** Builds the lookup for `prefixes[i]`, the literal item `i` requires its path to start with ("" for none). */
export function createPrefixIndex(prefixes: readonly string[]): PrefixLookup {
  const root = node("");
  prefixes.forEach((prefix, item) => {
    // One node per code unit first; compressed below.
    let at = root;
    for (let i = 0; i < prefix.length; i++) {
      const c = prefix.charCodeAt(i);
      let next = at.children.get(c);
      if (next === undefined) {
        next = node(prefix[i]!);
        at.children.set(c, next);
      }
      at = next;
    }
    at.own.push(item);
  });
  settle(root, []);
  return (path, end) => {
    let at = root;
    let pos = 0;
    while (pos < end) {
      const next = at.children.get(path.charCodeAt(pos));
      if (next === undefined) break;
      const label = next.label;
      if (label.length > 1 && (pos + label.length > end || !path.startsWith(label, pos))) break;
      at = next;
      pos += label.length;
    }
    return at.candidates;
  };
}

/**
 * Sets the candidates of `at` and everything under it, and merges each chain of nodes that hold no
 * items and have one child into one edge: stopping inside such an edge gives the same candidates as
 * stopping above it.
 */
function settle(at: TrieNode, above: readonly number[]): void {
  at.candidates = at.own.length === 0 ? above : [...above, ...at.own].sort((a, b) => a - b);
  for (const [c, child] of at.children) {
    let merged = child;
    while (merged.own.length === 0 && merged.children.size === 1) {
      const [only] = merged.children.values();
      only!.label = merged.label + only!.label;
      merged = only!;
    }
    at.children.set(c, merged);
    settle(merged, at.candidates);
  }
}
