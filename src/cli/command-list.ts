import type { CommandInfo } from './command.js';

/** A command as help lists it; how its module loads is the bundle's business (commands.ts). */
export type CommandMeta = Omit<CommandInfo, 'load'>;

/** Every command, in the order the app help lists them. */
export const COMMAND_LIST: readonly CommandMeta[] = [
  {
    name: 'active',
    usage: 'Print which machine is active',
  },
  {
    name: 'apply',
    usage: 'Create the machines a file lists, when missing',
    description:
      'apply -f machines.yaml (YAML or JSON, see docs/apply.md): creates the machines that are missing, in parallel; shows those that differ from the file (--recreate replaces them); --prune removes those the file made and no longer lists; --dry-run prints the plan.',
  },
  {
    name: 'completion',
    usage: 'Print the shell completion script for bash, zsh or fish',
    description:
      "Argument is a shell: bash, zsh or fish. Load it with 'source <(docker-machine completion bash)', or save it where the shell looks for completions (see the script's first lines).",
  },
  {
    name: 'config',
    usage: 'Print the connection config for machine',
    description: 'Argument is a machine name.',
  },
  {
    name: 'create',
    usage: 'Create a machine',
    description:
      "Run 'docker-machine create --driver name --help' to include the create flags for that driver in the help text.\n   Several names (create -d docker a b c) create a fleet: the machines are made in parallel (--parallel at once), each progress line starts with its machine's name, and a summary ends it.",
  },
  {
    name: 'env',
    usage: 'Display the commands to set up the environment for the Docker client',
    description: 'Argument is a machine name.',
  },
  {
    name: 'export',
    usage: 'Write a machine to one encrypted file, for import into another store',
    description:
      "Argument is a machine name. The file holds config.json, the machine's keys and certificates and the CA's certificate (its private key only with --with-ca), encrypted with a passphrase ($MACHINE_EXPORT_PASSPHRASE, else asked). Disk images are left out.",
  },
  {
    name: 'import',
    usage: 'Add a machine from an export file to this store',
    description:
      'Argument is an export file (- reads stdin). The passphrase comes from $MACHINE_EXPORT_PASSPHRASE, else it is asked. Paths are rewritten to this store; --name gives the machine another name.',
  },
  {
    name: 'inspect',
    usage: 'Inspect information about a machine',
    description: 'Argument is a machine name.',
  },
  {
    name: 'ip',
    usage: 'Get the IP address of a machine',
    description: 'Argument(s) are one or more machine names.',
  },
  {
    name: 'kill',
    usage: 'Kill a machine',
    description: 'Argument(s) are one or more machine names.',
  },
  { name: 'ls', usage: 'List machines' },
  {
    name: 'provision',
    usage: 'Re-provision existing machines',
  },
  {
    name: 'regenerate-certs',
    usage: 'Regenerate TLS Certificates for a machine',
    description: 'Argument(s) are one or more machine names.',
  },
  {
    name: 'restart',
    usage: 'Restart a machine',
    description: 'Argument(s) are one or more machine names.',
  },
  {
    name: 'rm',
    usage: 'Remove a machine',
    description: 'Argument(s) are one or more machine names.',
  },
  {
    name: 'ssh',
    usage: 'Log into or run a command on a machine with SSH.',
    description: 'Arguments are [machine-name] [command]',
  },
  {
    name: 'scp',
    usage: 'Copy files between machines',
    description: 'Arguments are [[user@]machine:][path] [[user@]machine:][path].',
  },
  {
    name: 'mount',
    usage: 'Mount or unmount a directory from a machine with SSHFS.',
    description: 'Arguments are [machine:][path] [mountpoint]',
  },
  {
    name: 'start',
    usage: 'Start a machine',
    description: 'Argument(s) are one or more machine names.',
  },
  {
    name: 'status',
    usage: 'Get the status of a machine',
    description: 'Argument is a machine name.',
  },
  {
    name: 'stop',
    usage: 'Stop a machine',
    description: 'Argument(s) are one or more machine names.',
  },
  {
    name: 'upgrade',
    usage: 'Upgrade a machine to the latest version of Docker',
    description: 'Argument(s) are one or more machine names.',
  },
  {
    name: 'url',
    usage: 'Get the URL of a machine',
    description: 'Argument is a machine name.',
  },
  {
    name: 'use',
    usage: "Make a machine the docker CLI's current context",
    description:
      "Argument is a machine name. Every machine is also a docker context of the same name ('docker --context NAME ps'); use makes it the current one for every shell. use -u goes back to the default context.",
  },
  {
    name: 'version',
    usage: 'Show the Docker Machine version or a machine docker version',
  },
  {
    name: '__complete',
    hidden: true,
    usage: 'What may come next on a command line being typed (for the completion scripts)',
  },
  {
    name: 'help',
    aliases: ['h'],
    usage: 'Shows a list of commands or help for one command',
  },
];

export function findIn<T extends CommandMeta>(table: readonly T[], name: string): T | undefined {
  return table.find((c) => c.name === name || c.aliases?.includes(name));
}
