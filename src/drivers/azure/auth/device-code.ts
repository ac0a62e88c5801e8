import { setTimeout as wait } from 'node:timers/promises';
import { MachineError } from '../../../errors.js';
import { type AADContext, AADRefusal, postForm, requestToken, type TokenResult } from './aad.js';

/**
 * The device-code sign-in (RFC 8628), the original's default: Azure AD hands out a code, the
 * user opens the page it names in any browser (on any computer) and enters the code, and this
 * process polls the token endpoint at the interval Azure AD asks for until the user has
 * answered, declined, or the code expired. The service's own line (the page and the code) goes
 * to `notify` (stderr) whether or not a terminal is attached: a CI job's log shows it too.
 */
export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

export async function deviceCodeLogin(
  c: AADContext,
  clientId: string,
  notify: (line: string) => void,
  sleep: (ms: number, signal?: AbortSignal) => Promise<void> = defaultSleep,
): Promise<TokenResult & { scope: string }> {
  // offline_access: a refresh token, so that the next command signs in without a code.
  const scope = `${c.cloud.armScope} offline_access`;
  const auth = await postForm<Record<string, unknown>>(c, 'devicecode', { client_id: clientId, scope });
  const deviceCode = auth?.device_code;
  const userCode = auth?.user_code;
  const page = auth?.verification_uri ?? auth?.verification_url;
  if (typeof deviceCode !== 'string' || typeof userCode !== 'string' || typeof page !== 'string') {
    throw new MachineError(
      `Azure AD at ${c.cloud.authorityHost} answered the device code request without device_code, user_code and verification_uri; check --azure-authority-host`,
    );
  }
  const message =
    typeof auth.message === 'string' && auth.message.trim()
      ? auth.message
      : `To sign in, open ${page} in a web browser and enter the code ${userCode}.`;
  // The line comes from the network: no escape sequence reaches the terminal.
  notify(message.replace(/[\x00-\x1f\x7f]+/g, ' ').trim());
  const expiresIn = positive(auth.expires_in, 900);
  let intervalMs = positive(auth.interval, 5) * 1000;
  const deadline = Date.now() + expiresIn * 1000;
  for (;;) {
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())), c.signal);
    if (c.signal?.aborted) throw new MachineError('the device-code sign-in was interrupted');
    try {
      const t = await requestToken(c, {
        grant_type: DEVICE_CODE_GRANT,
        client_id: clientId,
        device_code: deviceCode,
      });
      return { ...t, scope };
    } catch (err) {
      if (!(err instanceof AADRefusal)) throw err;
      const minutes = Math.max(1, Math.round(expiresIn / 60));
      switch (err.error) {
        case 'authorization_pending':
          break;
        case 'slow_down':
          // RFC 8628 §3.5: five seconds more, for this poll and every later one.
          intervalMs += 5000;
          break;
        case 'expired_token':
          throw new MachineError(
            `the device code ${userCode} expired before the sign-in at ${page} was completed; run the command again and enter the new code within ${minutes} minutes`,
          );
        case 'authorization_declined':
        case 'access_denied':
          throw new MachineError(
            `the sign-in with device code ${userCode} was declined at ${page}; run the command again and accept it, or use a service principal (--azure-client-id and --azure-client-secret)`,
          );
        case 'bad_verification_code':
          throw new MachineError(
            `Azure AD no longer knows device code ${userCode}; run the command again to get a new one`,
          );
        default:
          throw err;
      }
      if (Date.now() >= deadline) {
        throw new MachineError(
          `the device code ${userCode} expired after ${minutes} minutes without a sign-in at ${page}; run the command again and enter the new code in time`,
        );
      }
    }
  }
}

function positive(v: unknown, fallback: number): number {
  const n = Number(v);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

/** A wait that ends early when the command is interrupted (the loop then says so). */
function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return wait(ms, undefined, { signal }).catch(() => {});
}
