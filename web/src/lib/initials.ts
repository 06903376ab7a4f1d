// A person's initials for avatars, as whole graphemes.

const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/** The first grapheme of a word: a whole emoji (with its modifiers and joiners) or a letter
 * with its accents, never half a surrogate pair. */
function firstGrapheme(word: string): string {
  for (const { segment } of graphemes.segment(word)) return segment;
  return "";
}

/** "Alice Martin" → "AM"; "🦊 Fox" → "🦊F"; "" → "?". */
export function initials(name: string): string {
  const parts = name.trim().split(/\s+/u).filter(Boolean);
  const first = parts[0];
  if (first === undefined) return "?";
  const last = parts.length > 1 ? parts[parts.length - 1] : undefined;
  return (firstGrapheme(first) + (last === undefined ? "" : firstGrapheme(last))).toLocaleUpperCase();
}
