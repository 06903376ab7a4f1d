// The browser's notifications (the Notification API), where the person allowed them. Asked for
// only on a person's click ("Notify me"), never on page load, as browsers require and people
// prefer.

/** The Notification API, where this browser has one. */
function api(): typeof Notification | null {
  return typeof window !== "undefined" && "Notification" in window ? window.Notification : null;
}

/** Asks for permission to notify, if not decided yet. Call it inside the click handler: a
 * browser grants the prompt only to a person's gesture. */
export function askToNotify(): void {
  const notifications = api();
  if (notifications?.permission !== "default") return;
  notifications.requestPermission().catch(() => {
    // Refused or unsupported: the title badge and the in-page notice still tell them.
  });
}

export interface SystemNotice {
  title: string;
  body: string;
  /** One notice per tag: a newer one replaces it. */
  tag: string;
  /** The person clicked it (the tab is focused first). */
  onClick: () => void;
}

/** Shows `notice` if allowed; returns the function that takes it away, or null when none was
 * shown (not allowed, or a browser that only notifies through a service worker). */
export function showSystemNotice(notice: SystemNotice): (() => void) | null {
  const notifications = api();
  if (notifications?.permission !== "granted") return null;
  let shown: Notification;
  try {
    shown = new notifications(notice.title, { body: notice.body, tag: notice.tag });
  } catch {
    // Chrome on Android allows notifications only from a service worker.
    return null;
  }
  shown.onclick = () => {
    window.focus();
    notice.onClick();
    shown.close();
  };
  return () => shown.close();
}
