/**
 * Driver settings that are credentials (cloud tokens, secret keys, passwords). config.json keeps
 * them (0600), as the original did, so that later commands can reach the provider; what the tool
 * shows (inspect) never does: its output ends up in bug reports and CI logs.
 */
// API keys too: rackspace's APIKey and softlayer's deviceConfig.ApiKey are the account's secret.
const SECRET_KEY = /token|secret|password|passphrase|api-?key/i;

export const REDACTED = '<REDACTED>';

/** The driver's settings with every non-empty credential, nested ones too, replaced by <REDACTED>. */
export function withoutSecrets(driver: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(driver)) {
    if (SECRET_KEY.test(k) && typeof v === 'string' && v !== '') out[k] = REDACTED;
    else if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      out[k] = withoutSecrets(v as Record<string, unknown>);
    } else out[k] = v;
  }
  return out;
}
