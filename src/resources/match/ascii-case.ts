// ASCII-only case folding, as Envoy's `ignore_case` and `case_sensitive: false` use
// (absl's ASCII helpers): only A–Z fold, so non-ASCII letters such as the Kelvin sign
// never compare equal to ASCII ones, and lengths never change.

/** Lower-cases the ASCII letters of `s`; returns `s` itself when it has none (no allocation). */
export function asciiLower(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 65 && c <= 90) return lowerFrom(s, i);
  }
  return s;
}

function lowerFrom(s: string, first: number): string {
  let out = s.slice(0, first);
  for (let i = first; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out += c >= 65 && c <= 90 ? String.fromCharCode(c + 32) : s[i];
  }
  return out;
}

// `lowerPattern` must already be ASCII lower-cased; `end` bounds the region read from `value`.
/** True when `value` holds `lowerPattern` at `offset`, ignoring ASCII case and reading no further than `end`. */
export function regionEqualsIgnoreCase(
  value: string,
  offset: number,
  lowerPattern: string,
  end: number = value.length,
): boolean {
  if (offset < 0 || offset + lowerPattern.length > end) return false;
  for (let i = 0; i < lowerPattern.length; i++) {
    let c = value.charCodeAt(offset + i);
    if (c >= 65 && c <= 90) c += 32;
    if (c !== lowerPattern.charCodeAt(i)) return false;
  }
  return true;
}
