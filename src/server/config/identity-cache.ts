/** One remembered value and what it was built from. */
interface Slot {
  readonly inputs: readonly unknown[];
  readonly value: unknown;
}

/** How many variants of one key are kept: views that see different inputs for it (exportTo) each keep theirs. */
const variantsPerKey = 4;

/** Whether two lists hold the same items (`===`), in order. */
export function sameItems(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Remembers values by the objects they were built from, across reloads and views. A parsed resource keeps its
 * object while its document's text is unchanged, so after an edit only what depends on the edited resources is built
 * (and encoded) again; views that see the same inputs share the same result. Values are kept per owner object (a
 * service, say) and dropped with it.
 */
export class IdentityCache {
  private readonly slots = new WeakMap<object, Map<string, Slot[]>>();

  /**
   * The value `build` gave for `owner` and `key` when the `inputs` were the same (`===`, item by item); else
   * builds it now and remembers it.
   */
  get<T>(owner: object, key: string, inputs: readonly unknown[], build: () => T): T {
    let byKey = this.slots.get(owner);
    if (byKey === undefined) {
      byKey = new Map();
      this.slots.set(owner, byKey);
    }
    const variants = byKey.get(key);
    if (variants !== undefined) {
      for (let i = 0; i < variants.length; i++) {
        const slot = variants[i] as Slot;
        if (!sameItems(slot.inputs, inputs)) continue;
        if (i > 0) {
          variants.splice(i, 1);
          variants.unshift(slot);
        }
        return slot.value as T;
      }
    }
    const value = build();
    const slot: Slot = { inputs, value };
    if (variants === undefined) byKey.set(key, [slot]);
    else {
      variants.unshift(slot);
      if (variants.length > variantsPerKey) variants.pop();
    }
    return value;
  }
}
