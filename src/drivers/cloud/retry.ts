/**
 * When to ask again, and how long to wait first. Throttling and transient server errors are
 * retried with a bounded exponential backoff; a provider's own hint (Retry-After, or a
 * RateLimit-Reset time) is followed when it is given, within the same bound.
 */
export interface RetryPolicy {
  /** Attempts in all, the first one included. */
  maxAttempts: number;
  baseDelayMs: number;
  /** No single wait is longer than this, whatever the provider's hint says. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 8, baseDelayMs: 500, maxDelayMs: 30_000 };

/** Statuses that say "not now": 429, and the gateway/unavailable answers. */
export function isTransientStatus(status: number, method: string): boolean {
  if (status === 429 || status === 502 || status === 503 || status === 504) return true;
  // A 500 may come after the provider acted: only requests that are safe to repeat are repeated.
  return status === 500 && isIdempotent(method);
}

export function isIdempotent(method: string): boolean {
  return method === 'GET' || method === 'HEAD' || method === 'DELETE' || method === 'PUT';
}

/**
 * The wait before attempt `attempt + 1` (attempt counts from 1): the provider's hint when it gave
 * one, else base·2^(attempt-1) with jitter in its upper half, so that a fleet's creates that were
 * throttled together do not come back together.
 */
export function backoffMs(
  policy: RetryPolicy,
  attempt: number,
  hintMs?: number,
  random = Math.random,
): number {
  if (hintMs !== undefined && hintMs >= 0) {
    // A little spread past the hint: every throttled caller would otherwise return at that instant.
    return Math.min(policy.maxDelayMs, hintMs + Math.floor(random() * policy.baseDelayMs));
  }
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(exp / 2 + random() * (exp / 2));
}

/**
 * The provider's hint from the answer's headers: Retry-After (seconds or an HTTP date), else, for
 * a throttled answer whose RateLimit-Remaining is 0 (or absent), RateLimit-Reset, which providers
 * send either as seconds to wait or as a Unix time in seconds. A 429 with requests remaining in
 * the window came from a shorter burst limit (DigitalOcean's 250 a minute under its 5000 an
 * hour): the window's reset is not when to come back, the backoff is.
 */
export function retryHintMs(
  headers: Record<string, string | string[] | undefined>,
  now = Date.now(),
  throttled = true,
): number | undefined {
  const h = (name: string) => {
    const v = headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const after = h('retry-after');
  if (after !== undefined && after.trim() !== '') {
    const s = Number(after);
    if (Number.isFinite(s)) return Math.max(0, s * 1000);
    const t = Date.parse(after);
    if (Number.isFinite(t)) return Math.max(0, t - now);
  }
  const remaining = h('ratelimit-remaining');
  if (!throttled || (remaining !== undefined && Number(remaining) > 0)) return undefined;
  const reset = h('ratelimit-reset');
  if (reset !== undefined && reset.trim() !== '') {
    const s = Number(reset);
    if (!Number.isFinite(s)) return undefined;
    // Anything past the year 2001 is a time, not a number of seconds to wait.
    return s > 1_000_000_000 ? Math.max(0, s * 1000 - now) : Math.max(0, s * 1000);
  }
  return undefined;
}
