/**
 * Splits a labels or dictionary file into entries, one a line (`\n` or `\r\n`). Lines are kept as they are
 * (a dictionary may hold whitespace characters); only the empty line after a final newline is dropped.
 */
export function parseLabels(text: string): string[] {
  const lines = text.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines[0]?.startsWith('\uFEFF')) lines[0] = lines[0].slice(1);
  return lines;
}
