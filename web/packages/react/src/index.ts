// @lockd/react: React 19 bindings for @lockd/client. Every export is a plain declaration, so
// bundlers keep only what an app uses ("sideEffects": false).

export { LockdProvider, useLockdClient } from "./context";
export { useEditLock, type Busy, type EditLockOptions, type EditLockView } from "./useEditLock";
export { usePresence, type Presence } from "./usePresence";
export { useFollowingPointers, usePointerSender, type FollowedPointer, type PointerSender } from "./usePointers";
export { FollowingPointers, type FollowingPointersProps } from "./FollowingPointers";
export { useRoom } from "./useRoom";
export { useRemaining } from "./useRemaining";
export { useClusterNow } from "./useClusterNow";
export { useStoreValue } from "./useStoreValue";
