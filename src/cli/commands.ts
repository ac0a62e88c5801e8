import type { CommandInfo } from './command.js';

/**
 * Every command, in the order the app help lists them. Modules load on demand, so a command pays
 * only for its own code. Commands that need SSH or other drivers join this list with their issue.
 */
export const commands: CommandInfo[] = [
  {
    name: 'active',
    usage: 'Print which machine is active',
    load: () => import('./active.js'),
  },
  {
    name: 'config',
    usage: 'Print the connection config for machine',
    description: 'Argument is a machine name.',
    load: () => import('./config.js'),
  },
  {
    name: 'create',
    usage: 'Create a machine',
    description:
      "Run 'docker-machine create --driver name --help' to include the create flags for that driver in the help text.\n   Several names (create -d docker a b c) create a fleet: the machines are made in parallel (--parallel at once), each progress line starts with its machine's name, and a summary ends it.",
    load: () => import('./create.js'),
  },
  {
    name: 'env',
    usage: 'Display the commands to set up the environment for the Docker client',
    description: 'Argument is a machine name.',
    load: () => import('./env.js'),
  },
  {
    name: 'inspect',
    usage: 'Inspect information about a machine',
    description: 'Argument is a machine name.',
    load: () => import('./inspect.js'),
  },
  {
    name: 'ip',
    usage: 'Get the IP address of a machine',
    description: 'Argument(s) are one or more machine names.',
    load: () => import('./ip.js'),
  },
  {
    name: 'kill',
    usage: 'Kill a machine',
    description: 'Argument(s) are one or more machine names.',
    load: () => import('./kill.js'),
  },
  { name: 'ls', usage: 'List machines', load: () => import('./ls.js') },
  {
    name: 'provision',
    usage: 'Re-provision existing machines',
    load: () => import('./provision.js'),
  },
  {
    name: 'regenerate-certs',
    usage: 'Regenerate TLS Certificates for a machine',
    description: 'Argument(s) are one or more machine names.',
    load: () => import('./regenerate-certs.js'),
  },
  {
    name: 'restart',
    usage: 'Restart a machine',
    description: 'Argument(s) are one or more machine names.',
    load: () => import('./restart.js'),
  },
  {
    name: 'rm',
    usage: 'Remove a machine',
    description: 'Argument(s) are one or more machine names.',
    load: () => import('./rm.js'),
  },
  {
    name: 'ssh',
    usage: 'Log into or run a command on a machine with SSH.',
    description: 'Arguments are [machine-name] [command]',
    load: () => import('./ssh.js'),
  },
  {
    name: 'scp',
    usage: 'Copy files between machines',
    description: 'Arguments are [[user@]machine:][path] [[user@]machine:][path].',
    load: () => import('./scp.js'),
  },
  {
    name: 'mount',
    usage: 'Mount or unmount a directory from a machine with SSHFS.',
    description: 'Arguments are [machine:][path] [mountpoint]',
    load: () => import('./mount.js'),
  },
  {
    name: 'start',
    usage: 'Start a machine',
    description: 'Argument(s) are one or more machine names.',
    load: () => import('./start.js'),
  },
  {
    name: 'status',
    usage: 'Get the status of a machine',
    description: 'Argument is a machine name.',
    load: () => import('./status.js'),
  },
  {
    name: 'stop',
    usage: 'Stop a machine',
    description: 'Argument(s) are one or more machine names.',
    load: () => import('./stop.js'),
  },
  {
    name: 'upgrade',
    usage: 'Upgrade a machine to the latest version of Docker',
    description: 'Argument(s) are one or more machine names.',
    load: () => import('./upgrade.js'),
  },
  {
    name: 'url',
    usage: 'Get the URL of a machine',
    description: 'Argument is a machine name.',
    load: () => import('./url.js'),
  },
  {
    name: 'version',
    usage: 'Show the Docker Machine version or a machine docker version',
    load: () => import('./version.js'),
  },
  {
    name: 'help',
    aliases: ['h'],
    usage: 'Shows a list of commands or help for one command',
    load: () => import('./help-command.js'),
  },
];

export function findCommand(name: string): CommandInfo | undefined {
  return commands.find((c) => c.name === name || c.aliases?.includes(name));
}
