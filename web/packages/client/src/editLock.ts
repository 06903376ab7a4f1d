// This tab's lock on one appointment, without a framework: acquiring, queueing, taking over,
// continuing here, renewing on activity at a rate that follows the lease, the queue's
// keep-alive, and releasing when the page goes. Every answer goes into the room through its
// reducer (`LiveRoom.dispatch`), never written around it; failures are thrown as `ApiError`
// for the caller to show.

import { ApiError } from "./problem";
import { QUEUE_RENEW_MS } from "./constants";
import { leaseTtlMs, renewIntervalMs } from "./lease";
import type { LiveRoom } from "./liveRoom";
import { RenewalThrottle } from "./renewal";
import { claimPending, myRole, type MyLockRole } from "./room";
import type { DraftBody, Lock, LockGranted, Queued } from "./types";

/** The REST calls a lock needs (`LockdApi` has them; a fake one in tests). */
export interface LockCalls {
  acquireLock(id: string, wait: boolean): Promise<LockGranted | Queued>;
  heartbeat(id: string, options?: { waiting?: boolean }): Promise<LockGranted | Queued>;
  releaseLock(id: string, fencingToken: number | null): Promise<void>;
  takeover(id: string, expectedFencingToken: number, reason: string): Promise<LockGranted>;
  continueHere(id: string, expectedFencingToken: number): Promise<LockGranted>;
  /** Sent with `keepalive`, so it outlives the page. */
  leaveOnPageHide(id: string, fencingToken: number | null, draft: DraftBody | null): void;
}

export interface EditLockOptions {
  room: LiveRoom;
  calls: LockCalls;
  sessionId: string;
  /** The local clock (renewal pacing), ms since the epoch. */
  now?: () => number;
  /** How often a queued tab renews its place. */
  queueRenewMs?: number;
}

export class EditLock {
  readonly room: LiveRoom;
  private readonly calls: LockCalls;
  private readonly sessionId: string;
  private readonly renewal: RenewalThrottle;
  private readonly queueRenewMs: number;
  private confirming: Promise<void> | null = null;
  /** The keep-alives and the page's leave listeners, each run once however many parts of a
   * page ask for them (a form and its lock panel may both act on the lock). */
  private readonly keepAliveShared: Shared;
  private readonly pageHideShared = new Map<PageEvents, Shared>();

  constructor({ room, calls, sessionId, now = Date.now, queueRenewMs = QUEUE_RENEW_MS }: EditLockOptions) {
    this.room = room;
    this.calls = calls;
    this.sessionId = sessionId;
    this.renewal = new RenewalThrottle(undefined, now);
    this.queueRenewMs = queueRenewMs;
    this.keepAliveShared = shared(() => this.runKeepAlive());
  }

  get appointmentId(): string {
    return this.room.appointmentId;
  }

  /** This tab's role now: holder, queued or viewer. */
  role(): MyLockRole {
    return myRole(this.room.store.getState(), this.sessionId);
  }

  /** Handed over from the queue and not confirmed yet: only the person may confirm it (a
   * click or typing), never the app on its own (focus, pointer moves, timers). */
  claiming(): boolean {
    return this.role() === "holder" && claimPending(this.room.store.getState().lock);
  }

  /** Runs the keep-alives while the returned function is not called: the queue's place is
   * renewed while queued, and a grant counts as a renewal (activity need not renew at once).
   * Several callers share one run, which stops when the last of them lets go. */
  keepAlive(): () => void {
    return this.keepAliveShared();
  }

  private runKeepAlive(): () => void {
    let timer: ReturnType<typeof setInterval> | undefined;
    let role: MyLockRole | null = null;
    const follow = () => {
      const now = this.role();
      if (now === role) return;
      if (now === "holder") this.renewal.renewed();
      clearInterval(timer);
      timer = undefined;
      // A place in the queue lapses after 60 s unless renewed. `waiting`: if the lock was
      // handed over meanwhile, this keep-alive must not confirm it (docs/api.md, "Claim window").
      if (now === "queued") timer = setInterval(() => void this.calls.heartbeat(this.appointmentId, { waiting: true }).catch(() => {}), this.queueRenewMs);
      role = now;
    };
    follow();
    const stop = this.room.store.subscribe(follow);
    return () => {
      stop();
      clearInterval(timer);
    };
  }

  /** Takes the lock if it is free (409 `lock_held` otherwise). */
  async acquire(): Promise<void> {
    const answer = await this.calls.acquireLock(this.appointmentId, false);
    if ("lock" in answer) this.granted(answer.lock);
  }

  /** Takes the lock, or a place in the queue: it comes to this tab when freed. */
  async joinQueue(): Promise<void> {
    const answer = await this.calls.acquireLock(this.appointmentId, true);
    if ("lock" in answer) this.granted(answer.lock);
    else this.room.dispatch({ type: "local.queued", queue: answer.queue });
  }

  async leaveQueue(): Promise<void> {
    await this.calls.releaseLock(this.appointmentId, null);
    this.room.dispatch({ type: "local.queue_left", sessionId: this.sessionId });
  }

  /** Releases this tab's grant `fencingToken` (and only it: a late release never frees a newer lock). */
  async release(fencingToken: number): Promise<void> {
    await this.calls.releaseLock(this.appointmentId, fencingToken);
    this.room.dispatch({ type: "local.released", fencingToken });
  }

  /** Takes over `from`, the grant the admin saw when deciding. If it changed since, the server
   * refuses (`takeover_conflict`) naming the new holder, which the room then shows; the error
   * is thrown still. */
  async takeover(from: Lock, reason: string): Promise<void> {
    try {
      const answer = await this.calls.takeover(this.appointmentId, from.fencingToken, reason);
      this.granted(answer.lock);
    } catch (e) {
      if (e instanceof ApiError && e.code === "takeover_conflict" && e.problem.lock) this.granted(e.problem.lock);
      throw e;
    }
  }

  /** The lock `from` is this person's, in another of their tabs: it moves here. */
  async continueHere(from: Lock): Promise<void> {
    const answer = await this.calls.continueHere(this.appointmentId, from.fencingToken);
    this.granted(answer.lock);
  }

  /** "Still editing?": renew now. */
  async keepEditing(): Promise<void> {
    const answer = await this.calls.heartbeat(this.appointmentId);
    if ("lock" in answer) this.granted(answer.lock);
    this.renewal.renewed();
  }

  /** The person starts editing a lock handed to them: any renewal confirms it. One at a time. */
  confirmClaim(): Promise<void> {
    this.confirming ??= this.keepEditing().finally(() => {
      this.confirming = null;
    });
    return this.confirming;
  }

  /** Typing, focus, pointer movement: renew the lease, at most every quarter of it (≤ 30 s).
   * Not a confirmation of a handed-over lock: the person may have only moved the mouse. */
  activity(): void {
    const lock = this.room.store.getState().lock;
    if (this.role() !== "holder" || !lock || claimPending(lock)) return;
    if (!this.renewal.activity(renewIntervalMs(leaseTtlMs(lock)))) return;
    this.calls.heartbeat(this.appointmentId).then(
      (answer) => {
        if ("lock" in answer) this.granted(answer.lock);
      },
      () => this.renewal.reset(),
    );
  }

  /** The lease was renewed another way (a save). */
  renewed(): void {
    this.renewal.renewed();
  }

  /** A grant this tab got (acquire, heartbeat, takeover, or one a refusal named). */
  granted(lock: Lock): void {
    this.room.dispatch({ type: "local.granted", lock });
  }

  /** Leaves (`leave()`, no draft) when the page goes (`pagehide`: a closed tab, a navigation
   * away), until the returned function is called; several callers share one listener, so the
   * page leaves once. An app that keeps unsaved text as a draft calls `leave(draft)` from its
   * own `pagehide` instead. `target`: the window (a fake in tests). */
  leaveOnPageHide(target: PageEvents | undefined = pageEvents()): () => void {
    if (!target) return () => {};
    let listening = this.pageHideShared.get(target);
    if (!listening) {
      listening = shared(() => {
        const onPageHide = () => this.leave();
        target.addEventListener("pagehide", onPageHide);
        return () => {
          target.removeEventListener("pagehide", onPageHide);
          this.pageHideShared.delete(target);
        };
      });
      this.pageHideShared.set(target, listening);
    }
    return listening();
  }

  /** The page goes: release this tab's grant (fenced) with `draft` kept first, or leave the
   * queue. Sent so as to outlive the page; the server frees the lock on disconnect anyway. */
  leave(draft: DraftBody | null = null): void {
    const state = this.room.store.getState();
    const role = this.role();
    if (role === "holder" && state.lock) this.calls.leaveOnPageHide(this.appointmentId, state.lock.fencingToken, draft);
    else if (role === "queued") this.calls.leaveOnPageHide(this.appointmentId, null, null);
  }
}

type PageEvents = Pick<EventTarget, "addEventListener" | "removeEventListener">;

/** The window's page events, where there is a window. */
function pageEvents(): PageEvents | undefined {
  const page = globalThis as Partial<EventTarget>;
  return page.addEventListener && page.removeEventListener ? (page as EventTarget) : undefined;
}

/** Each call holds `start`'s run until the function it returns is called (once counts): the
 * first holder starts it, the last one to let go stops it. */
type Shared = () => () => void;

function shared(start: () => () => void): Shared {
  let holders = 0;
  let stop: (() => void) | null = null;
  return () => {
    holders++;
    if (holders === 1) stop = start();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      holders--;
      if (holders === 0) {
        stop?.();
        stop = null;
      }
    };
  };
}
