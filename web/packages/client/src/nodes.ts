// The cluster's nodes as one endpoint: every node serves the whole API (writes are forwarded
// to the leader inside the cluster), so a client needs only one that answers. Requests go to
// the node that last worked; a network error or a 503 (the node is shutting down, has no
// leader, or serves its most connections) moves on to the next in the list, which then stays
// the one used until it fails in turn.

export class NodePool {
  /** Base URLs without a trailing slash, in the order given. */
  readonly urls: readonly string[];
  /** The first node: requests are built against it, then sent where `failoverFetch` says. */
  readonly base: string;
  private currentIndex = 0;

  constructor(urls: readonly string[]) {
    const trimmed = urls.map((url) => url.replace(/\/+$/, ""));
    const [base] = trimmed;
    if (base === undefined) throw new Error("@lockd/client needs at least one node URL");
    this.urls = trimmed;
    this.base = base;
  }

  /** The node to use now. */
  current(): string {
    return this.urls[this.currentIndex] ?? this.base;
  }

  /** Every node once, the current one first, then the others in list order after it. */
  order(): string[] {
    const n = this.urls.length;
    return Array.from({ length: n }, (_, i) => this.urls[(this.currentIndex + i) % n] ?? this.base);
  }

  /** `url` answered: keep using it. */
  worked(url: string): void {
    const index = this.urls.indexOf(url);
    if (index >= 0) this.currentIndex = index;
  }

  /** `url` failed: if it is the current node, the next one becomes current. (A failure of a
   * node already left behind changes nothing: another request moved on first.) */
  failed(url: string): void {
    if (this.current() === url) this.currentIndex = (this.currentIndex + 1) % this.urls.length;
  }
}

/** Worth trying on another node: the node could not be reached, or answered 503. */
export function isNodeFailure(outcome: Response | "network-error"): boolean {
  return outcome === "network-error" || outcome.status === 503;
}

/**
 * A `fetch` for requests built against `pool.urls[0]` that sends each to the pool's nodes in
 * turn (`NodePool.order`) until one answers other than 503; the last node's answer or error is
 * the result. Every write lockd takes from us is safe to send again: lock writes carry an
 * `Idempotency-Key` (applied once), and the rest (heartbeat, fenced release, draft) repeat
 * harmlessly.
 */
export function failoverFetch(pool: NodePool, fetchImpl: typeof fetch): (request: Request) => Promise<Response> {
  const { base } = pool;
  return async (request) => {
    if (!request.url.startsWith(base)) return fetchImpl(request);
    const path = request.url.slice(base.length);
    // Read once: a body stream cannot be sent twice. An empty one is no body.
    const bytes = request.method === "GET" || request.method === "HEAD" ? null : await request.arrayBuffer();
    const body = bytes && bytes.byteLength > 0 ? bytes : null;
    const nodes = pool.order();
    let lastError: unknown = null;
    for (const [i, node] of nodes.entries()) {
      const last = i === nodes.length - 1;
      try {
        const response = await fetchImpl(node + path, {
          method: request.method,
          headers: request.headers,
          body,
          signal: request.signal,
          keepalive: request.keepalive,
        });
        if (!isNodeFailure(response) || last) {
          if (!isNodeFailure(response)) pool.worked(node);
          return response;
        }
        pool.failed(node);
      } catch (error) {
        if (request.signal.aborted) throw error;
        pool.failed(node);
        lastError = error;
        if (last) throw error;
      }
    }
    throw lastError;
  };
}
