import { MachineError } from '../errors.js';
import type { SSHTarget } from './client.js';

/** One OpenSSH client option, as `-o Name=value` or as a `Name value` line of a config file. */
export type SSHOption = readonly [name: string, value: string];

/**
 * The options every OpenSSH tool we run (ssh, scp, rsync's ssh, sshfs) connects to a machine
 * with: no prompts, the machine's own known_hosts with trust on first use (the original ignored
 * host keys), and only the machine's key when it has one. Host, port and user are not here:
 * each tool takes them its own way.
 */
export function sshOptions(target: SSHTarget, opts: { connectTimeoutMs?: number } = {}): SSHOption[] {
  return [
    ['BatchMode', 'yes'],
    ['ConnectionAttempts', '1'],
    ['ConnectTimeout', String(Math.max(1, Math.ceil((opts.connectTimeoutMs ?? 10_000) / 1000)))],
    ['LogLevel', 'ERROR'],
    ['PasswordAuthentication', 'no'],
    ['ServerAliveInterval', '60'],
    ['StrictHostKeyChecking', 'accept-new'],
    ['UserKnownHostsFile', sshPath(target.knownHostsPath)],
    ...(target.keyPath
      ? ([
          ['IdentitiesOnly', 'yes'],
          ['IdentityFile', sshPath(target.keyPath)],
        ] as const)
      : []),
  ];
}

/** `-o Name=value` arguments, as ssh, scp and sshfs read them. */
export function optionArgs(options: readonly SSHOption[]): string[] {
  return options.flatMap(([name, value]) => ['-o', `${name}=${configValue(value)}`]);
}

/** A `Host` block of an ssh_config file that gives `alias` its own endpoint and options. */
export function hostBlock(alias: string, target: SSHTarget, options: readonly SSHOption[]): string {
  const lines = [
    `Host ${alias}`,
    `  HostName ${target.host}`,
    `  Port ${target.port}`,
    ...options.map(([name, value]) => `  ${name} ${configValue(value)}`),
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * ssh splits option values at white space (both in `-o` and in config files) unless they are
 * double-quoted, so a store under "My Documents" needs quotes.
 */
export function configValue(value: string): string {
  if (!/[\s"'\\]/.test(value)) return value;
  if (/["\n]/.test(value))
    throw new MachineError(
      `cannot pass ${JSON.stringify(value)} to ssh: it contains a double quote or a line break`,
    );
  return `"${value}"`;
}

/** ssh expands %-tokens in file paths (IdentityFile, UserKnownHostsFile): a literal % is %%. */
export function sshPath(path: string): string {
  return path.replaceAll('%', '%%');
}
