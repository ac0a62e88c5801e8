import { homedir } from 'node:os';
import type { TokenSource } from './api.js';
import type { GoogleTokenSource } from './auth/index.js';

export const COMPUTE_SCOPE = 'https://www.googleapis.com/auth/compute';

/**
 * The access tokens Compute Engine calls carry, from the credential chain of ./auth/. The chain
 * is looked at on the first call, so that building a driver (ls, inspect) reads no key file.
 */
export function computeTokens(o: {
  encodedJson: string;
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  debug?: (line: string) => void;
}): TokenSource {
  let source: Promise<GoogleTokenSource> | undefined;
  let found: GoogleTokenSource | undefined;
  const get = () => {
    source ??= import('./auth/index.js').then(({ googleTokenSource }) =>
      googleTokenSource({
        encodedJson: o.encodedJson || undefined,
        env: o.env,
        home: o.env.HOME || homedir(),
        scopes: [COMPUTE_SCOPE],
        signal: o.signal,
        debug: o.debug,
      }).then((s) => {
        found = s;
        return s;
      }),
    );
    return source;
  };
  return {
    async token() {
      return (await get()).token();
    },
    invalidate() {
      found?.invalidate();
    },
    get hint() {
      return found?.hint;
    },
  };
}
