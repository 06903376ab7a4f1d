// Whether the person is looking at this tab, and when they come back to it. A lock handed over
// while they look elsewhere must reach them another way (the title, a notification).

/** The tab is shown and has the keyboard focus. */
export function isLooking(): boolean {
  return document.visibilityState === "visible" && document.hasFocus();
}

/** Calls `onBack` each time the person comes back to this tab (shown again, or focused);
 * returns the function that stops listening. */
export function onComeBack(onBack: () => void): () => void {
  const visibility = () => {
    if (document.visibilityState === "visible") onBack();
  };
  document.addEventListener("visibilitychange", visibility);
  window.addEventListener("focus", onBack);
  return () => {
    document.removeEventListener("visibilitychange", visibility);
    window.removeEventListener("focus", onBack);
  };
}
