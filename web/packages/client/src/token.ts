// The bearer, from the app's own sign-in: asked for before each request and socket (so a
// renewed token is used at once), and the last one remembered for the requests that must be
// sent synchronously as the page goes away (`keepalive`).

export type GetToken = () => string | null | Promise<string | null>;

export class TokenSource {
  private last: string | null = null;
  private readonly get: GetToken;

  constructor(get: GetToken) {
    this.get = get;
  }

  /** The token now: at once when the app has it at hand, else when it has it. */
  read(): string | null | Promise<string | null> {
    const token = this.get();
    if (token instanceof Promise) {
      return token.then((t) => {
        this.last = t;
        return t;
      });
    }
    this.last = token;
    return token;
  }

  /** The token for a request that cannot wait (the page is going): the app's, if it has it
   * at hand, else the one last read. */
  atHand(): string | null {
    const token = this.get();
    if (token instanceof Promise) {
      // Remembered for next time; this request goes with the last one.
      token.then((t) => (this.last = t), () => {});
      return this.last;
    }
    this.last = token;
    return token;
  }
}
