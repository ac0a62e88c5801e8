import { homedir } from 'node:os';
import { MachineError } from '../errors.js';
import type { FlagDef, ParsedFlags } from '../flags/def.js';
import { flagBool, flagString } from '../flags/def.js';
import { join, resolve } from '../runtime/path.js';

/** The app-level flags; they must come before the command name, as in the original. */
export function globalFlagDefs(env: NodeJS.ProcessEnv): FlagDef[] {
  return [
    { name: 'debug', short: 'D', kind: 'bool', usage: 'Enable debug mode' },
    {
      name: 'storage-path',
      short: 's',
      kind: 'string',
      usage: 'Configures storage path',
      envVar: 'MACHINE_STORAGE_PATH',
      default: join(env.HOME || homedir(), '.docker', 'machine'),
    },
    {
      name: 'tls-ca-cert',
      kind: 'string',
      usage: 'CA to verify remotes against',
      envVar: 'MACHINE_TLS_CA_CERT',
    },
    {
      name: 'tls-ca-key',
      kind: 'string',
      usage: 'Private key to generate certificates',
      envVar: 'MACHINE_TLS_CA_KEY',
    },
    {
      name: 'tls-client-cert',
      kind: 'string',
      usage: 'Client cert to use for TLS',
      envVar: 'MACHINE_TLS_CLIENT_CERT',
    },
    {
      name: 'tls-client-key',
      kind: 'string',
      usage: 'Private key used in client TLS auth',
      envVar: 'MACHINE_TLS_CLIENT_KEY',
    },
    {
      name: 'github-api-token',
      kind: 'string',
      usage: 'Token to use for requests to the Github API',
      envVar: 'MACHINE_GITHUB_API_TOKEN',
    },
    {
      name: 'native-ssh',
      kind: 'bool',
      usage: 'Use the native (built-in) SSH implementation.',
      envVar: 'MACHINE_NATIVE_SSH',
    },
    {
      name: 'bugsnag-api-token',
      kind: 'string',
      usage: 'BugSnag API token for crash reporting (accepted for compatibility; no reports are sent)',
      envVar: 'MACHINE_BUGSNAG_API_TOKEN',
    },
    { name: 'help', short: 'h', kind: 'bool', usage: 'show help' },
    { name: 'version', short: 'v', kind: 'bool', usage: 'print the version' },
  ];
}

export interface GlobalOptions {
  debug: boolean;
  storagePath: string;
  tlsCaCert: string;
  tlsCaKey: string;
  tlsClientCert: string;
  tlsClientKey: string;
  githubApiToken: string;
  nativeSSH: boolean;
}

export function globalOptions(p: ParsedFlags, debug: boolean): GlobalOptions {
  return {
    debug,
    storagePath: storagePath(flagString(p, 'storage-path')),
    tlsCaCert: flagString(p, 'tls-ca-cert'),
    tlsCaKey: flagString(p, 'tls-ca-key'),
    tlsClientCert: flagString(p, 'tls-client-cert'),
    tlsClientKey: flagString(p, 'tls-client-key'),
    githubApiToken: flagString(p, 'github-api-token'),
    nativeSSH: flagBool(p, 'native-ssh'),
  };
}

/**
 * The store's folder, absolute: the store keeps its paths in each machine's config.json, and a
 * relative one would point elsewhere from any other working directory. An empty one would be the
 * working directory itself.
 */
export function storagePath(value: string): string {
  if (value.trim() === '') {
    throw new MachineError(
      "Error: --storage-path (-s) is empty: name the store's folder, or leave the flag out for the default (~/.docker/machine)",
    );
  }
  return resolve(value);
}
