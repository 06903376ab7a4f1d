// The simple case in one call: the lock's state, the person's actions and the notices to tell
// them, for a component that shows, edits and explains one appointment's lock. Each part is a
// hook of its own (`useLockState`, `useLockActions`, `useLockNotices`) for components that
// need only one of them.

import type { EditLock } from "@lockd/client";
import { useLockActions, type LockActions, type LockActionsOptions } from "./useLockActions";
import { useLockController } from "./useLockController";
import { useLockNotices, type LockNotices } from "./useLockNotices";
import { useLockState, type LockState } from "./useLockState";

export interface EditLockView {
  /** Who holds it, this tab's role, the queue, the countdown (`useLockState`). */
  state: LockState;
  /** Acquire, queue, release, takeover…, activity, and their progress (`useLockActions`). */
  actions: LockActions;
  /** A loss or a hand-over to tell the person about (`useLockNotices`). */
  notices: LockNotices;
  /** The framework-free controller (its room: `controller.room`), for the app's own calls. */
  controller: EditLock;
}

export type EditLockOptions = LockActionsOptions;

export function useEditLock(appointmentId: string, options: EditLockOptions = {}): EditLockView {
  const state = useLockState(appointmentId, options);
  const actions = useLockActions(appointmentId, options);
  const notices = useLockNotices(appointmentId, options);
  const controller = useLockController(appointmentId);
  return { state, actions, notices, controller };
}
