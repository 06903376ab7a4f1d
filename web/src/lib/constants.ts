// Every rate and timeout of the app, in one place, each with its reason (the lock's, the
// socket's and the pointer's are @lockd/client's `constants.ts`). Durations in
// milliseconds (`_MS`), named with the qualifier last so related ones line up.

/** The countdown turns red this close to the end. */
export const COUNTDOWN_WARN_MS = 60_000;

/** Drafts kept in this browser (`editor/localDrafts.ts`), one per person and appointment:
 * at most this many; a new one beyond it pushes out the oldest. localStorage holds ~5 MB per
 * origin, shared with everything else the app keeps there. */
export const LOCAL_DRAFTS_MAX = 20;
/** One kept draft's JSON, in characters: the form's text and its base at the server's limits
 * (two times 200 + 64 + 64 + 200 + 200 + 5,000, ~11,500) and the envelope, with room to
 * spare. A larger entry is not the app's and is not written. */
export const LOCAL_DRAFT_CHARS_MAX = 16_000;

/** A new appointment's default length: the form starts it at the next whole hour, ending this
 * many minutes later (the person changes both as they need). */
export const NEW_APPOINTMENT_MINUTES = 30;

/** "Editing since … · idle 3 min" is said in whole minutes: read the clock this often. */
export const ACTIVITY_TICK_MS = 15_000;

/** "Recent takeovers" lists this many, newest first (the server gives at most 256). */
export const RECENT_TAKEOVERS_MAX = 50;
