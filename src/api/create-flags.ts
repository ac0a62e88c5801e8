import { goQuote, UsageError } from '../errors.js';
import {
  certSAN,
  engineEndpoint,
  engineLabel,
  engineOpt,
  insecureRegistry,
  installURL,
  intRange,
  MAX_WAIT_SECONDS,
  oneLine,
  registryMirror,
  storageDriver,
} from '../flags/checks.js';
import type { FlagDef } from '../flags/def.js';
import { swarmModeFlags } from './swarm-flags.js';

/** New: bounds every wait (machine running, SSH, engine) instead of the original's 60 x 3 s. */
export const waitTimeoutFlag: FlagDef = {
  name: 'wait-timeout',
  kind: 'int',
  default: 120,
  envVar: 'MACHINE_WAIT_TIMEOUT',
  usage: 'Seconds each wait may take (machine running, SSH, Docker engine) before it fails',
  check: intRange(1, MAX_WAIT_SECONDS, 'seconds'),
};

/** The create flags every driver shares (spec §2.3), stored in config.json whatever the driver. */
export const sharedCreateFlags: FlagDef[] = [
  {
    name: 'driver',
    short: 'd',
    kind: 'string',
    usage: 'Driver to create machine with.',
    envVar: 'MACHINE_DRIVER',
  },
  {
    name: 'engine-install-url',
    kind: 'string',
    usage: 'Custom URL to use for engine installation',
    envVar: 'MACHINE_DOCKER_INSTALL_URL',
    default: 'https://get.docker.com',
    check: installURL,
  },
  {
    name: 'engine-opt',
    kind: 'stringSlice',
    usage: 'Specify arbitrary flags to include with the created engine in the form flag=value',
    check: engineOpt,
  },
  {
    name: 'engine-insecure-registry',
    kind: 'stringSlice',
    usage: 'Specify insecure registries to allow with the created engine',
    check: insecureRegistry,
  },
  {
    name: 'engine-registry-mirror',
    kind: 'stringSlice',
    usage: 'Specify registry mirrors to use',
    envVar: 'ENGINE_REGISTRY_MIRROR',
    check: registryMirror,
  },
  {
    name: 'engine-label',
    kind: 'stringSlice',
    usage: 'Specify labels for the created engine',
    check: engineLabel,
  },
  {
    name: 'engine-storage-driver',
    kind: 'string',
    usage: 'Specify a storage driver to use with the engine',
    check: storageDriver,
  },
  {
    // New: a pinned engine, from the distribution's packages instead of the install script.
    name: 'engine-version',
    kind: 'string',
    envVar: 'MACHINE_ENGINE_VERSION',
    usage: "Install this Docker Engine version from the distribution's packages (e.g. 24.0.7)",
    check: oneLine,
  },
  {
    // New: an engine reached over the machine's SSH only, with no TCP port and no TLS.
    name: 'engine-endpoint',
    kind: 'string',
    default: 'tcp',
    envVar: 'MACHINE_ENGINE_ENDPOINT',
    usage:
      "How clients reach the engine: tcp (its TLS port 2376) or ssh (the machine's SSH only, no port opened)",
    check: engineEndpoint,
  },
  {
    name: 'engine-env',
    kind: 'stringSlice',
    usage: 'Specify environment variables to set in the engine',
    check: oneLine,
  },
  { name: 'swarm', kind: 'bool', usage: 'Configure Machine to join a Swarm cluster' },
  {
    name: 'swarm-image',
    kind: 'string',
    usage: 'Specify Docker image to use for Swarm',
    envVar: 'MACHINE_SWARM_IMAGE',
    default: 'swarm:latest',
    check: oneLine,
  },
  { name: 'swarm-master', kind: 'bool', usage: 'Configure Machine to be a Swarm master' },
  { name: 'swarm-discovery', kind: 'string', usage: 'Discovery service to use with Swarm', check: oneLine },
  {
    name: 'swarm-strategy',
    kind: 'string',
    usage: 'Define a default scheduling strategy for Swarm',
    default: 'spread',
    check: oneLine,
  },
  {
    name: 'swarm-opt',
    kind: 'stringSlice',
    usage: 'Define arbitrary flags for Swarm master',
    check: oneLine,
  },
  {
    name: 'swarm-join-opt',
    kind: 'stringSlice',
    usage: 'Define arbitrary flags for Swarm join',
    check: oneLine,
  },
  {
    name: 'swarm-host',
    kind: 'string',
    usage: 'ip/socket to listen on for Swarm master',
    default: 'tcp://0.0.0.0:3376',
    check: oneLine,
  },
  {
    name: 'swarm-addr',
    kind: 'string',
    usage: 'addr to advertise for Swarm (default: detect and use the machine IP)',
    check: oneLine,
  },
  { name: 'swarm-experimental', kind: 'bool', usage: 'Enable Swarm experimental features' },
  ...swarmModeFlags,
  { name: 'tls-san', kind: 'stringSlice', usage: 'Support extra SANs for TLS certs', check: certSAN },
  waitTimeoutFlag,
];

/**
 * The driver named on the raw command line, found before flags can be parsed (the driver decides
 * which flags exist): `-d X`, `--driver X`, `-d=X`, `--driver=X`, then $MACHINE_DRIVER. '' when
 * none is named: create then picks a default (src/drivers/default-driver.ts) only when it runs, so
 * that `create --help` never pings an engine; that driver's flags take their env vars and defaults.
 */
export function lookupDriverName(rawArgs: string[], env: NodeJS.ProcessEnv): string {
  const named: string[] = [];
  for (let i = 0; i < rawArgs.length; i++) {
    const a = rawArgs[i];
    if (a === '--') break;
    // Without a value the parser says "flag needs an argument".
    if ((a === '-d' || a === '--driver' || a === '-driver') && i + 1 < rawArgs.length)
      named.push(rawArgs[++i]);
    const m = /^--?(?:d|driver)=(.*)$/s.exec(a);
    if (m) named.push(m[1]);
  }
  // The flags are the first driver's while the last -d would win: refuse the mix.
  const distinct = [...new Set(named)];
  if (distinct.length > 1) {
    throw new UsageError(
      `the driver is given more than once (${distinct.map((d) => goQuote(d)).join(', ')}): give one -d`,
      'create',
    );
  }
  return named[0] ?? env.MACHINE_DRIVER ?? '';
}
