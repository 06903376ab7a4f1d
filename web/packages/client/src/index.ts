// @lockd/client: everything a front end needs to use lockd's edit locks, without a framework.
// Every export is a plain declaration (no module state, nothing run on import), so bundlers
// keep only what an app uses ("sideEffects": false).

export { createLockdClient, LockdClient, socketUrl, type LockdClientOptions, type SocketHandlers } from "./client";
export { LockdApi, idempotencyKey } from "./api";
export { ApiError, describeError, type Problem } from "./problem";
export { NodePool, failoverFetch } from "./nodes";
export type { GetToken } from "./token";
export { EditLock, type LockCalls } from "./editLock";
export { LiveRoom } from "./liveRoom";
export {
  reduceRoom,
  emptyRoom,
  nameOf,
  myRole,
  newerLock,
  claimPending,
  claimWindowMs,
  heldInOtherTab,
  holderAway,
  LOST_WHILE_DISCONNECTED,
  VERSIONS_KEPT_MAX,
  type RoomState,
  type RoomInput,
  type RoomContext,
  type LocalAction,
  type LossNotice,
  type HandOver,
  type Announcement,
  type RemotePointer,
  type MyLockRole,
} from "./room";
export { reduceList, emptyList, mergeRow, viewersOf, type ListState, type LiveRow } from "./list";
export { LiveSocket, CLOSE_TOKEN_EXPIRED, type ConnectionState, type ConnectionStatus, type SocketLike, type SocketFactory, type LiveSocketOptions } from "./socket";
export { Backoff, type BackoffOptions } from "./backoff";
export { ServerClock } from "./serverClock";
export { RenewalThrottle } from "./renewal";
export { leaseTtlMs, renewIntervalMs, promptBeforeExpiryMs, formatDuration } from "./lease";
export { remainingMs, formatRemaining, startCountdown, type CountdownOptions } from "./countdown";
export { lockDeadline, countdownCaption } from "./claim";
export { PointerThrottle, type PointerSink } from "./pointerThrottle";
export { userColor, hashString, type UserColor } from "./colors";
export { createStore, type Store } from "./store";
export { randomId } from "./randomId";
export * from "./constants";
export type * from "./types";
