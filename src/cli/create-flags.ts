import type { FlagDef } from '../flags/def.js';
import { swarmModeFlags } from './swarm-flags.js';

/** New: bounds every wait (machine running, SSH, engine) instead of the original's 60 x 3 s. */
export const waitTimeoutFlag: FlagDef = {
  name: 'wait-timeout',
  kind: 'int',
  default: 120,
  envVar: 'MACHINE_WAIT_TIMEOUT',
  usage: 'Seconds each wait may take (machine running, SSH, Docker engine) before it fails',
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
  },
  {
    name: 'engine-opt',
    kind: 'stringSlice',
    usage: 'Specify arbitrary flags to include with the created engine in the form flag=value',
  },
  {
    name: 'engine-insecure-registry',
    kind: 'stringSlice',
    usage: 'Specify insecure registries to allow with the created engine',
  },
  {
    name: 'engine-registry-mirror',
    kind: 'stringSlice',
    usage: 'Specify registry mirrors to use',
    envVar: 'ENGINE_REGISTRY_MIRROR',
  },
  { name: 'engine-label', kind: 'stringSlice', usage: 'Specify labels for the created engine' },
  { name: 'engine-storage-driver', kind: 'string', usage: 'Specify a storage driver to use with the engine' },
  {
    // New: a pinned engine, from the distribution's packages instead of the install script.
    name: 'engine-version',
    kind: 'string',
    envVar: 'MACHINE_ENGINE_VERSION',
    usage: "Install this Docker Engine version from the distribution's packages (e.g. 24.0.7)",
  },
  { name: 'engine-env', kind: 'stringSlice', usage: 'Specify environment variables to set in the engine' },
  { name: 'swarm', kind: 'bool', usage: 'Configure Machine to join a Swarm cluster' },
  {
    name: 'swarm-image',
    kind: 'string',
    usage: 'Specify Docker image to use for Swarm',
    envVar: 'MACHINE_SWARM_IMAGE',
    default: 'swarm:latest',
  },
  { name: 'swarm-master', kind: 'bool', usage: 'Configure Machine to be a Swarm master' },
  { name: 'swarm-discovery', kind: 'string', usage: 'Discovery service to use with Swarm' },
  {
    name: 'swarm-strategy',
    kind: 'string',
    usage: 'Define a default scheduling strategy for Swarm',
    default: 'spread',
  },
  { name: 'swarm-opt', kind: 'stringSlice', usage: 'Define arbitrary flags for Swarm master' },
  { name: 'swarm-join-opt', kind: 'stringSlice', usage: 'Define arbitrary flags for Swarm join' },
  {
    name: 'swarm-host',
    kind: 'string',
    usage: 'ip/socket to listen on for Swarm master',
    default: 'tcp://0.0.0.0:3376',
  },
  {
    name: 'swarm-addr',
    kind: 'string',
    usage: 'addr to advertise for Swarm (default: detect and use the machine IP)',
  },
  { name: 'swarm-experimental', kind: 'bool', usage: 'Enable Swarm experimental features' },
  ...swarmModeFlags,
  { name: 'tls-san', kind: 'stringSlice', usage: 'Support extra SANs for TLS certs' },
  waitTimeoutFlag,
];

/**
 * The driver named on the raw command line, found before flags can be parsed (the driver decides
 * which flags exist): `-d X`, `--driver X`, `-d=X`, `--driver=X`, then $MACHINE_DRIVER. '' when
 * none is named: create then picks a default (src/drivers/default-driver.ts) only when it runs, so
 * that `create --help` never pings an engine; that driver's flags take their env vars and defaults.
 */
export function lookupDriverName(rawArgs: string[], env: NodeJS.ProcessEnv): string {
  for (let i = 0; i < rawArgs.length; i++) {
    const a = rawArgs[i];
    if (a === '--') break;
    if (a === '-d' || a === '--driver' || a === '-driver') return rawArgs[i + 1] ?? '';
    const m = /^--?(?:d|driver)=(.*)$/.exec(a);
    if (m) return m[1];
  }
  return env.MACHINE_DRIVER ?? '';
}
