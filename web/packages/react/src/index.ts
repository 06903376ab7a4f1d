// @lockd/react: React 19 bindings for @lockd/client. Every export is a plain declaration, so
// bundlers keep only what an app uses ("sideEffects": false).

export { LockdProvider, useLockdClient } from "./context";
export { useEditLock, type EditLockOptions, type EditLockView } from "./useEditLock";
export { useLockState, type LockState, type LockRoomOptions } from "./useLockState";
export { useLockActions, type Busy, type LockActions, type LockActionsOptions } from "./useLockActions";
export { useLockNotices, type LockNotices } from "./useLockNotices";
export { useLockController } from "./useLockController";
export { usePresence, type Presence } from "./usePresence";
export { useFollowingPointers, usePointerSender, type FollowedPointer, type PointerSender } from "./usePointers";
export { FollowingPointers, type FollowingPointersProps } from "./FollowingPointers";
export { useRoom } from "./useRoom";
export { useRemaining } from "./useRemaining";
export { useClusterNow } from "./useClusterNow";
export { useStoreValue } from "./useStoreValue";
