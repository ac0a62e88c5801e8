import type { Store } from '../store/store.js';
import type { ProgressListener } from './events.js';
import type { CertOverrides } from './host-options.js';

/** What every operation needs: the store, the global certificate overrides and a progress sink. */
export interface ApiContext {
  store: Store;
  certs: CertOverrides;
  events: ProgressListener;
  env: NodeJS.ProcessEnv;
}
