/** Rows under a header, each line indented, columns padded to their widest cell (the last one is not padded). */
export function textTable(header: readonly string[], rows: readonly (readonly string[])[], indent: string): string[] {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)));
  return [header, ...rows].map((cells) => `${indent}${cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ")}`.trimEnd());
}
