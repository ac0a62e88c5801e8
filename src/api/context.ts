import { defaultStorePath } from '../store/paths.js';
import { Store } from '../store/store.js';
import { type ProgressListener, silent } from './events.js';
import type { CertOverrides } from './host-options.js';

/** What every operation needs: the store, the global certificate overrides and a progress sink. */
export interface ApiContext {
  store: Store;
  certs: CertOverrides;
  events: ProgressListener;
  env: NodeJS.ProcessEnv;
}

/** How a program opens the API: every field has the CLI's default. */
export interface ApiOptions {
  /** The store folder; default $MACHINE_STORAGE_PATH or ~/.docker/machine. */
  storePath?: string;
  /** Paths replacing the shared CA and client certificates (the global --tls-* flags). */
  certs?: CertOverrides;
  events?: ProgressListener;
  env?: NodeJS.ProcessEnv;
}

/** The context of every operation, from the options a program (or the CLI) gives. */
export function openContext(opts: ApiOptions = {}): ApiContext {
  const env = opts.env ?? process.env;
  return {
    store: new Store(opts.storePath ?? defaultStorePath(env)),
    certs: opts.certs ?? {},
    events: opts.events ?? silent,
    env,
  };
}
