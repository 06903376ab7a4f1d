// A stable colour per user: the same person has the same pointer and avatar colour in every
// tab and on every node, with no coordination.

/** FNV-1a over UTF-16 code units: tiny, fast and well spread for short ids. */
export function hashString(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

export interface UserColor {
  /** A saturated colour for the pointer and the pill's background. */
  solid: string;
  /** A light tint for avatar backgrounds. */
  tint: string;
}

export function userColor(userId: string): UserColor {
  const hue = hashString(userId) % 360;
  return { solid: `hsl(${hue} 70% 42%)`, tint: `hsl(${hue} 80% 92%)` };
}
