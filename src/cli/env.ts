import type { Machine } from '../api/machine.js';
import { isSSHEngine, isSSHURL } from '../engine/endpoint.js';
import { errorMessage, MachineError } from '../errors.js';
import type { FlagDef } from '../flags/def.js';
import { flagBool, flagString } from '../flags/def.js';
import { detectShell, type EnvVars, hintCommandLine, renderEnv } from '../shell/env.js';
import { checkedConnection } from './checked-connection.js';
import type { CommandContext } from './command.js';
import { queriesFor } from './queries.js';
import { atMostOneName, targetName } from './target.js';

export const flags: FlagDef[] = [
  { name: 'swarm', kind: 'bool', usage: 'Display the Swarm config instead of the Docker daemon' },
  {
    name: 'shell',
    kind: 'string',
    usage:
      'Force environment to be configured for a specified shell: [fish, cmd, powershell, tcsh, emacs], default is auto-detect',
  },
  { name: 'unset', short: 'u', kind: 'bool', usage: 'Unset variables instead of setting them' },
  { name: 'no-proxy', kind: 'bool', usage: 'Add machine IP to NO_PROXY environment variable' },
];

const DOCKER_VARS = ['DOCKER_TLS_VERIFY', 'DOCKER_HOST', 'DOCKER_CERT_PATH', 'DOCKER_MACHINE_NAME'];

export async function run(ctx: CommandContext): Promise<void> {
  ctx.out.infoToStderr();
  // Said right before the lines it is about: a check that hands the command line to the full
  // bundle (cert-heal-hook.ts) must not have said it already.
  const { shell, warning } = chooseShell(ctx);
  const print = (text: string) => {
    if (warning) ctx.out.warn(warning);
    ctx.out.write(text);
  };
  const commandLine = hintCommandLine(ctx.argv);
  const noProxy = flagBool(ctx.flags, 'no-proxy');

  if (flagBool(ctx.flags, 'unset')) {
    if (ctx.args.length > 0)
      throw new MachineError('Error: Expected no machine name when the -u flag is present');
    const vars: EnvVars[] = DOCKER_VARS.map((name) => ({ name, value: '' }));
    if (noProxy) vars.push({ name: noProxyVar(ctx.env).name, value: '' });
    print(renderEnv({ shell, unset: true, vars, commandLine }));
    return;
  }

  atMostOneName(ctx);
  const api = queriesFor(ctx);
  const named = await api.load(await targetName(ctx));
  const m = flagBool(ctx.flags, 'swarm') ? await api.swarmManager(named) : named;
  const dockerHost = await checkedConnection(
    ctx,
    api,
    m,
    flagBool(ctx.flags, 'swarm'),
    (err) =>
      new MachineError(
        isSSHEngine(m.config)
          ? `Error checking the SSH connection: ${errorMessage(err)}`
          : `Error checking TLS connection: ${errorMessage(err)}`,
        { cause: err },
      ),
  );
  const vars = isSSHURL(dockerHost) ? sshEngineVars(m.name, dockerHost) : tlsEngineVars(m, dockerHost);
  if (isSSHURL(dockerHost)) {
    const { noUserSSHConfigWarning, userSSHConfigPath } = await import('../ssh/user-config.js');
    if (!userSSHConfigPath(ctx.env)) {
      const { sshTarget } = await import('../api/ssh-target.js');
      ctx.out.warn(noUserSSHConfigWarning(m.name, api.store.root, await sshTarget(m), shell));
    }
  }
  if (process.platform === 'win32') vars.push({ name: 'COMPOSE_CONVERT_WINDOWS_PATHS', value: 'true' });
  if (noProxy) {
    let ip: string;
    try {
      ip = await m.driver.getIP();
    } catch (err) {
      throw new MachineError(`Error getting host IP: ${errorMessage(err)}`);
    }
    const cur = noProxyVar(ctx.env);
    let value = cur.value;
    if (value === '') value = ip;
    else if (!value.includes(ip)) value = `${value},${ip}`;
    vars.push({ name: cur.name, value });
  }
  print(renderEnv({ shell, unset: false, vars, commandLine }));
}

/** checkedConnection has put the client certificate copies that DOCKER_CERT_PATH names in place. */
function tlsEngineVars(m: Machine, dockerHost: string): EnvVars[] {
  return [
    { name: 'DOCKER_TLS_VERIFY', value: '1' },
    { name: 'DOCKER_HOST', value: dockerHost },
    { name: 'DOCKER_CERT_PATH', value: m.config.HostOptions.AuthOptions.StorePath },
    { name: 'DOCKER_MACHINE_NAME', value: m.name },
  ];
}

/**
 * An SSH-only engine: the docker CLI logs in with the machine's key and pinned host key, which
 * the ssh_config entry of the store gives it (docs/ssh-engines.md). The TLS variables of a
 * previous `env` would make the CLI try TLS over the SSH stream: they are unset.
 */
export function sshEngineVars(name: string, dockerHost: string): EnvVars[] {
  return [
    { name: 'DOCKER_TLS_VERIFY', value: '', unset: true },
    { name: 'DOCKER_HOST', value: dockerHost },
    { name: 'DOCKER_CERT_PATH', value: '', unset: true },
    { name: 'DOCKER_MACHINE_NAME', value: name },
  ];
}

function noProxyVar(env: NodeJS.ProcessEnv): { name: string; value: string } {
  if (env.no_proxy) return { name: 'no_proxy', value: env.no_proxy };
  return { name: 'NO_PROXY', value: env.NO_PROXY ?? '' };
}

/**
 * --shell, else the login shell. Where the original failed with "Unknown shell" when SHELL was
 * unset (cron, CI, `env -i`), we print sh syntax, which every POSIX shell evaluates, and say so on
 * stderr, away from the text being evaluated.
 */
function chooseShell(ctx: CommandContext): { shell: string; warning?: string } {
  const given = flagString(ctx.flags, 'shell');
  if (given !== '') return { shell: given };
  const detected = detectShell(ctx.env);
  if (detected) return { shell: detected };
  return {
    shell: 'sh',
    warning:
      "The lines below are for a sh/bash shell ($SHELL is not set); you can specify the shell you're using, with the --shell flag.",
  };
}
