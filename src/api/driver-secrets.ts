/**
 * Driver settings that are credentials (cloud tokens, secret keys, passwords). config.json keeps
 * them (0600), as the original did, so that later commands can reach the provider; what the tool
 * shows (inspect) never does: its output ends up in bug reports and CI logs.
 */
const SECRET_KEY = /token|secret|password|passphrase/i;

export const REDACTED = '<REDACTED>';

/** The driver's settings with every non-empty credential replaced by <REDACTED>. */
export function withoutSecrets(driver: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(driver)) {
    out[k] = SECRET_KEY.test(k) && typeof v === 'string' && v !== '' ? REDACTED : v;
  }
  return out;
}
