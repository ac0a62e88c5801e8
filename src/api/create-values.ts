import { goQuote } from '../errors.js';
import {
  certSAN,
  engineEndpoint,
  engineLabel,
  engineOpt,
  insecureRegistry,
  installURL,
  oneLine,
  registryMirror,
  storageDriver,
} from '../flags/checks.js';
import type { FlagCheck } from '../flags/def.js';
import type { CreateOptions } from './host-options.js';

/**
 * The engine, swarm and TLS values of a create request, checked as the command line checks
 * their flags. A program calling the API skips the flag parser, and these values end up in the
 * engine's systemd drop-in, the swarm containers' arguments and the server certificate: a
 * newline there would split a line of those files.
 */
export function createOptionsProblem(o: CreateOptions): string | undefined {
  const e = o.engine ?? {};
  const s = o.swarm ?? {};
  const fields: Array<[string, string, unknown, FlagCheck]> = [
    ['engine.installURL', 'engine-install-url', e.installURL, installURL],
    ['engine.opts', 'engine-opt', e.opts, engineOpt],
    ['engine.insecureRegistries', 'engine-insecure-registry', e.insecureRegistries, insecureRegistry],
    ['engine.registryMirrors', 'engine-registry-mirror', e.registryMirrors, registryMirror],
    ['engine.labels', 'engine-label', e.labels, engineLabel],
    ['engine.storageDriver', 'engine-storage-driver', e.storageDriver, storageDriver],
    ['engine.env', 'engine-env', e.env, oneLine],
    ['engine.version', 'engine-version', e.version, oneLine],
    ['engine.endpoint', 'engine-endpoint', e.endpoint, engineEndpoint],
    ['swarm.image', 'swarm-image', s.image, oneLine],
    ['swarm.discovery', 'swarm-discovery', s.discovery, oneLine],
    ['swarm.strategy', 'swarm-strategy', s.strategy, oneLine],
    ['swarm.opts', 'swarm-opt', s.opts, oneLine],
    ['swarm.joinOpts', 'swarm-join-opt', s.joinOpts, oneLine],
    ['swarm.host', 'swarm-host', s.host, oneLine],
    ['swarm.addr', 'swarm-addr', s.addr, oneLine],
    ['swarm.cluster', 'swarm-cluster', s.cluster, oneLine],
    ['tlsSANs', 'tls-san', o.tlsSANs, certSAN],
  ];
  for (const [field, flag, value, check] of fields) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) {
      if (typeof one !== 'string') return `${field} (--${flag}) must be text, not ${typeof one}`;
      const problem = check(one);
      if (problem !== undefined) return `invalid value ${goQuote(one)} for ${field} (--${flag}): ${problem}`;
    }
  }
  return undefined;
}
