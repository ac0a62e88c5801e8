import { goQuote, MachineError } from '../errors.js';
import type { ParsedFlags } from '../flags/def.js';

/**
 * Create flags whose values end up in the engine's configuration on the machine (systemd
 * drop-in, boot2docker profile, dockerd's command line) or in the Swarm containers. A newline
 * there would start a directive of its own; no engine setting needs a control character.
 */
const ENGINE_VALUE_FLAGS = [
  'engine-install-url',
  'engine-opt',
  'engine-insecure-registry',
  'engine-registry-mirror',
  'engine-label',
  'engine-storage-driver',
  'engine-version',
  'engine-env',
  'swarm-image',
  'swarm-discovery',
  'swarm-strategy',
  'swarm-opt',
  'swarm-join-opt',
  'swarm-host',
  'swarm-addr',
  'swarm-cluster',
  'swarm-managers',
  'tls-san',
];

const CONTROL = /[\u0000-\u001f\u007f]/;

/** Refuses, before anything is made, an engine or swarm value holding a control character. */
export function refuseControlCharacters(flags: ParsedFlags): void {
  for (const name of ENGINE_VALUE_FLAGS) {
    const v = flags.values.get(name);
    for (const value of Array.isArray(v) ? v : typeof v === 'string' ? [v] : []) {
      if (CONTROL.test(value))
        throw new MachineError(
          `Error: invalid value ${goQuote(value)} for flag --${name}: it holds a newline or another control character; remove it`,
        );
    }
  }
}
