/**
 * Credentials that expire while a command runs (an access token lives an hour, a Keystone token a
 * few; a long create or a fleet outlives them), renewed when the provider answers 401: once for
 * every request refused with the same credentials, whether their 401s come together or one after
 * another, and not at all for a request sent with credentials already replaced.
 */
export class Renewal<T> {
  private renewing: Promise<void> | undefined;

  constructor(
    /** What requests are sent with now. */
    private readonly current: () => T | undefined,
    /** Gets new credentials; `current` gives them once it resolves. */
    private readonly renew: () => Promise<void>,
  ) {}

  /** After a request carrying `refused` got 401: resolves once the credentials to send again with are there. */
  after(refused: T | undefined): Promise<void> {
    if (this.renewing) return this.renewing;
    if (refused !== this.current()) return Promise.resolve();
    this.renewing = this.renew().finally(() => {
      this.renewing = undefined;
    });
    return this.renewing;
  }
}

/** Where an access token comes from (a driver's sign-in): kept until it expires or is dropped. */
export interface TokenSource {
  token(): Promise<string>;
  /** Forget the current token: the provider refused it. */
  invalidate(): void;
}

const bearers = new WeakMap<TokenSource, BearerToken>();

/**
 * An access token as every request's `Authorization: Bearer`, from the source's cache (which
 * renews it before it expires), and renewed through a Renewal after a 401.
 */
export class BearerToken {
  private last: string | undefined;
  private readonly renewal: Renewal<string>;

  /** The source's one BearerToken: the connections a driver makes with one source share its renewals. */
  static of(source: TokenSource): BearerToken {
    let b = bearers.get(source);
    if (!b) {
      b = new BearerToken(source);
      bearers.set(source, b);
    }
    return b;
  }

  private constructor(private readonly source: TokenSource) {
    this.renewal = new Renewal(
      () => this.last,
      async () => {
        source.invalidate();
        this.last = await source.token();
      },
    );
  }

  /** The connection's auth(). */
  async headers(): Promise<Record<string, string>> {
    this.last = await this.source.token();
    return { authorization: `Bearer ${this.last}` };
  }

  /** The connection's reauthenticate renewal, given the headers the refused request carried. */
  renew(refused: Record<string, string>): Promise<void> {
    return this.renewal.after(/^Bearer (.*)$/.exec(refused.authorization ?? '')?.[1]);
  }
}
