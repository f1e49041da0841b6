// How large a program re2js would compile an RE2 pattern into, counted from the pattern's text in one
// pass, before anything is built: a control plane must not be able to make rxds spend seconds compiling
// patterns that are then rejected for their size.
//
// re2js (a port of Go's regexp) compiles a pattern into instructions: one per character, class, `.`
// or assertion (`^`, `$`, `\b`, …), two per capture group, one per alternative after the first, one
// per `?` and `+`, one per `*` (two when what it repeats can match ""), and a fail and a match
// instruction around the whole. A counted repetition is expanded first: x{n,m} is m copies of x and
// m−n optional markers, x{n,} is n copies and a loop. `RE2JS.programSize()` is that count.
//
// The bound counts the same things in the pattern as written. It is the program size exactly unless
// re2js's parser simplifies the pattern, which only ever removes instructions: alternatives that are
// single characters or share a prefix are folded (`abc|abd` into `ab[cd]`), empty groups and classes
// are dropped, `(?:a*)*` becomes `a*`. The scan is linear in the pattern's length and keeps no
// recursion (a pattern may nest groups thousands deep); a pattern re2js would reject as malformed gets
// some bound too, since compiling it fails quickly anyway.

/** A piece of the pattern: its instructions, and whether it can match the empty string. */
interface Piece {
  readonly size: number;
  readonly nullable: boolean;
}

/** A group being read (the whole pattern is the outermost one), with the alternative being read in it. */
interface Group {
  /** Whether the group captures (two more instructions). */
  readonly capture: boolean;
  /** The finished alternatives: their instructions, how many, and whether one can match "". */
  alternatives: number;
  count: number;
  nullable: boolean;
  /** The alternative being read: its pieces before the last, and the last, which a repetition applies to. */
  size: number;
  matchesEmpty: boolean;
  last: Piece | undefined;
}

const ONE_RUNE: Piece = { size: 1, nullable: false };
const ASSERTION: Piece = { size: 1, nullable: true };

/** An upper bound on `RE2JS.compile(pattern).programSize()`, exact unless the parser simplifies the pattern (see above). */
export function regexProgramSizeBound(pattern: string): number {
  const groups: Group[] = [openGroup(false)];
  let i = 0;
  while (i < pattern.length) {
    const group = groups[groups.length - 1]!;
    const c = pattern[i];
    if (c === "(") {
      const open = groupOpening(pattern, i);
      i = open.end;
      // A flags-only group such as `(?i)` adds nothing, and a repetition after it applies to the piece before.
      if (open.kind !== "flags") groups.push(openGroup(open.kind === "capture"));
    } else if (c === ")") {
      // An unmatched ")" makes the pattern malformed; it adds nothing.
      if (groups.length > 1) add(groups[groups.length - 2]!, closeGroup(groups.pop()!));
      i++;
    } else if (c === "|") {
      endAlternative(group);
      i++;
    } else if (c === "*" || c === "+" || c === "?" || c === "{") {
      const bounds = c === "{" ? countedRepetition(pattern, i) : { min: c === "+" ? 1 : 0, max: c === "?" ? 1 : -1, end: i + 1 };
      if (bounds === undefined) {
        add(group, ONE_RUNE); // a "{" that does not start a repetition is a literal
        i++;
        continue;
      }
      // A repetition with nothing before it makes the pattern malformed; it adds nothing.
      if (group.last !== undefined) group.last = repeated(group.last, bounds.min, bounds.max);
      i = pattern[bounds.end] === "?" ? bounds.end + 1 : bounds.end; // non-greedy: the same instructions
    } else if (c === "[") {
      add(group, ONE_RUNE);
      i = classEnd(pattern, i);
    } else if (c === "\\" && pattern[i + 1] === "Q") {
      // \Q…\E: every character up to \E (or the end) is a literal.
      const quoteEnd = pattern.indexOf("\\E", i + 2);
      const stop = quoteEnd < 0 ? pattern.length : quoteEnd;
      for (let k = i + 2; k < stop; k++) add(group, ONE_RUNE);
      i = quoteEnd < 0 ? stop : quoteEnd + 2;
    } else if (c === "\\") {
      add(group, "AbBz".includes(pattern[i + 1] ?? "") ? ASSERTION : ONE_RUNE);
      i = escapeEnd(pattern, i);
    } else {
      add(group, c === "^" || c === "$" ? ASSERTION : ONE_RUNE);
      i++;
    }
  }
  // Unclosed groups make the pattern malformed; they are counted as if closed at the end.
  while (groups.length > 1) add(groups[groups.length - 2]!, closeGroup(groups.pop()!));
  return saturated(closeGroup(groups[0]!).size + 2);
}

function openGroup(capture: boolean): Group {
  return { capture, alternatives: 0, count: 0, nullable: false, size: 0, matchesEmpty: true, last: undefined };
}

/** Appends `piece` to the alternative being read. */
function add(group: Group, piece: Piece): void {
  settleLast(group);
  group.last = piece;
}

function settleLast(group: Group): void {
  const last = group.last;
  if (last === undefined) return;
  group.size += last.size;
  group.matchesEmpty &&= last.nullable;
  group.last = undefined;
}

/** Ends the alternative being read; an empty one compiles to one no-op instruction. */
function endAlternative(group: Group): void {
  settleLast(group);
  group.alternatives += Math.max(1, group.size);
  group.nullable ||= group.matchesEmpty;
  group.count++;
  group.size = 0;
  group.matchesEmpty = true;
}

/** The group as one piece: its alternatives, one instruction joining each to the next, and two for a capture. */
function closeGroup(group: Group): Piece {
  endAlternative(group);
  const size = group.alternatives + group.count - 1;
  return { size: group.capture ? size + 2 : size, nullable: group.nullable };
}

/** `piece` repeated from `min` to `max` times (max −1: unbounded), as re2js expands it. */
function repeated(piece: Piece, min: number, max: number): Piece {
  const { size, nullable } = piece;
  if (max === -1) {
    if (min === 0) return { size: size + (nullable ? 2 : 1), nullable: true }; // x*
    return { size: saturated(min * size + 1), nullable }; // x+, x{n,}: n−1 copies, then x+
  }
  if (max === 0) return ASSERTION; // x{0}: the empty match, one no-op
  return { size: saturated(max * size + (max - min)), nullable: nullable || min === 0 };
}

function saturated(n: number): number {
  return Math.min(n, Number.MAX_SAFE_INTEGER);
}

/** What `(` at `i` opens, and where its opening ends. */
function groupOpening(p: string, i: number): { readonly kind: "capture" | "group" | "flags"; readonly end: number } {
  if (p[i + 1] !== "?") return { kind: "capture", end: i + 1 };
  let k = i + 2;
  const named = (p[k] === "P" && p[k + 1] === "<") || (p[k] === "<" && p[k + 1] !== "=" && p[k + 1] !== "!");
  if (named) {
    const close = p.indexOf(">", k);
    return { kind: "capture", end: close < 0 ? p.length : close + 1 };
  }
  while (k < p.length && "imsU-".includes(p[k]!)) k++;
  if (p[k] === ")") return { kind: "flags", end: k + 1 };
  if (p[k] === ":") return { kind: "group", end: k + 1 };
  // Lookaround and unknown flags make the pattern malformed: read on as a group.
  return { kind: "group", end: i + 2 };
}

/** The `{n}`, `{n,}` or `{n,m}` at `i` (max −1: unbounded) and where it ends; undefined when that "{" is a literal. */
function countedRepetition(p: string, i: number): { readonly min: number; readonly max: number; readonly end: number } | undefined {
  let k = i + 1;
  const minFrom = k;
  while (isDigit(p.charCodeAt(k))) k++;
  if (k === minFrom) return undefined;
  const min = Number(p.slice(minFrom, k));
  let max = min;
  if (p[k] === ",") {
    const maxFrom = ++k;
    while (isDigit(p.charCodeAt(k))) k++;
    max = k === maxFrom ? -1 : Number(p.slice(maxFrom, k));
  }
  return p[k] === "}" ? { min, max, end: k + 1 } : undefined;
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

/**
 * Where the escape at `i` ends: `\p{…}`, `\P{…}` and `\x{…}` run to their "}", `\pL` and `\xHH` take one and two
 * characters, an octal escape up to three digits; any other escape is one character.
 */
function escapeEnd(p: string, i: number): number {
  const c = p[i + 1];
  if (c === undefined) return i + 1;
  if (c >= "0" && c <= "7") {
    let k = i + 2;
    while (k < i + 4 && p[k]! >= "0" && p[k]! <= "7") k++;
    return k;
  }
  if (c !== "p" && c !== "P" && c !== "x") return i + 2;
  if (p[i + 2] === "{") {
    const close = p.indexOf("}", i + 3);
    return close < 0 ? p.length : close + 1;
  }
  return Math.min(p.length, c === "x" ? i + 4 : i + 3);
}

/**
 * Where the class opened at `i` ends, as RE2 reads it: a "]" right after "[" or "[^" is a member, escapes are
 * skipped, a range's high end is one character whatever it is, and elsewhere `[:name:]` runs to the next ":]" of
 * the pattern when there is one.
 */
function classEnd(p: string, i: number): number {
  let k = i + 1;
  if (p[k] === "^") k++;
  if (p[k] === "]") k++;
  while (k < p.length) {
    const c = p[k];
    if (c === "]") return k + 1;
    if (c === "\\" && "dDsSwWpP".includes(p[k + 1] ?? "")) {
      k = escapeEnd(p, k); // a class (\d, \pL…): never the low end of a range
    } else if (c === "[" && p[k + 1] === ":" && p.indexOf(":]", k + 2) >= 0) {
      k = p.indexOf(":]", k + 2) + 2;
    } else {
      k = c === "\\" ? escapeEnd(p, k) : k + 1;
      // One character, perhaps the low end of a range: its high end is one character too, whatever it is
      // (`[:-[:x]` is ':'..'[' then ':' and 'x', not the start of a POSIX class).
      if (p[k] === "-" && k + 1 < p.length && p[k + 1] !== "]") k = p[k + 1] === "\\" ? escapeEnd(p, k + 1) : k + 2;
    }
  }
  return p.length;
}
