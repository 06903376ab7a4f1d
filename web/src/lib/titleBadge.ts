// A badge in front of the document's title, seen on a background tab's label: "● Your turn · …".

const SEPARATOR = " · ";
const MARK = "● ";

/** `title` with `badge` in front (replacing any badge of ours already there). */
export function badgedTitle(title: string, badge: string): string {
  return `${MARK}${badge}${SEPARATOR}${unbadgedTitle(title)}`;
}

/** `title` without a badge of ours. */
export function unbadgedTitle(title: string): string {
  if (!title.startsWith(MARK)) return title;
  const end = title.indexOf(SEPARATOR);
  return end < 0 ? title.slice(MARK.length) : title.slice(end + SEPARATOR.length);
}

/** Shows `badge` in the tab's title, or takes it away (null). */
export function setTitleBadge(badge: string | null): void {
  document.title = badge === null ? unbadgedTitle(document.title) : badgedTitle(document.title, badge);
}
