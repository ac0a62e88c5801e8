import { MachineError } from '../../errors.js';
import type { TokenSource } from './api.js';

export const COMPUTE_SCOPE = 'https://www.googleapis.com/auth/compute';

/**
 * The access token for Compute Engine. Interim: GOOGLE_OAUTH_ACCESS_TOKEN only, until the
 * credential chain (src/drivers/google/auth/) is in.
 */
export function computeTokens(o: {
  encodedJson: string;
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}): TokenSource {
  return {
    async token() {
      const t = o.env.GOOGLE_OAUTH_ACCESS_TOKEN;
      if (!t) throw new MachineError('no Google credentials: set GOOGLE_OAUTH_ACCESS_TOKEN');
      return t;
    },
    invalidate() {},
  };
}
