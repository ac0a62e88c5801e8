import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { listDrivers } from '../../src/api/drivers.js';
import { type CliStore, tempStore } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';

// Bad input to `create` (none and generic drivers above all) and to the SSH commands of a machine
// that has no SSH: each row is refused with one line on stderr that names what is wrong, the
// expected exit code, nothing more on stdout than the row says, within a few seconds, and the
// store is left byte for byte as it was. No engine or SSH server is needed: a refusal comes
// before anything would be dialled.

interface Row {
  /** What the row tries, for the test's name. */
  what: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  code: number;
  stderr: string;
  /** Exact stdout; '' when left out. */
  stdout?: string | RegExp;
}

const HELP = "See 'docker-machine create --help'.";
const usage = (msg: string) => `Incorrect Usage: ${msg}. ${HELP}`;
const URL_FORM = 'expected tcp://HOST:PORT, e.g. tcp://192.0.2.10:2376 or, for IPv6, tcp://[::1]:2376';
const badURL = (value: string, problem: string) =>
  usage(`invalid value ${value} for flag -url: ${problem}; ${URL_FORM}`);
const PORT = 'expected a TCP port, 1-65535';
const IP_FORM =
  'expected an IP address (e.g. 192.0.2.10, 2001:db8::1) or a host name (letters, digits, - and .)';
const USER_FORM = 'expected a user name on the machine (letters, digits, . _ -), e.g. root';
const PRECHECK = 'Running pre-create checks...\n';
const preCheck = (cause: string) => `Error with pre-create check: "${cause}"`;
// From the registry: every built-in driver is listed, whichever drivers are added later.
const DRIVERS = `Available drivers: ${listDrivers()
  .map((d) => d.name)
  .join(', ')}. Run 'docker-machine create --help' to see them.`;

const none = (...rest: string[]) => ['create', '-d', 'none', ...rest];
const okURL = 'tcp://127.0.0.1:1';
const generic = (...rest: string[]) => [
  'create',
  '-d',
  'generic',
  '--generic-ip-address',
  '127.0.0.1',
  ...rest,
];

describe('bad input to create and to the SSH commands: one line, an exit code, the store unchanged', () => {
  let s: CliStore;
  let keys: string;
  let fakeBin: string;
  let snapshot: string;

  /** Every file of the store (lock files aside, which come and go) with its mode and content hash. */
  const storeState = (): string => {
    const lines: string[] = [];
    const walk = (dir: string, rel: string) => {
      for (const n of readdirSync(dir).sort()) {
        if (rel === 'machines' && n === '.locks') continue;
        const p = join(dir, n);
        const r = rel ? `${rel}/${n}` : n;
        const st = lstatSync(p);
        if (st.isDirectory()) {
          lines.push(`${r}/ ${st.mode.toString(8)}`);
          walk(p, r);
        } else {
          const hash = createHash('sha256').update(readFileSync(p)).digest('hex').slice(0, 16);
          lines.push(`${r} ${st.mode.toString(8)} ${st.size} ${hash}`);
        }
      }
    };
    walk(s.dir, '');
    return lines.join('\n');
  };

  before(async () => {
    s = await tempStore();
    // A store with its CA and one machine, "keep" (none driver), for the SSH commands.
    const r = await s.run(none('--url', okURL, 'keep'));
    assert.equal(r.code, 0, r.stderr);
    snapshot = storeState();

    keys = await mkdtemp(join(tmpdir(), 'dm-badkeys-'));
    await mkdir(join(keys, 'dir'));
    await writeFile(
      join(keys, 'id.pub'),
      'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl me@host\n',
    );
    await writeFile(join(keys, 'text'), 'hello\n');
    await writeFile(join(keys, 'empty'), '');
    await writeFile(join(keys, 'putty.ppk'), 'PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\n');
    await symlink(join(keys, 'loop'), join(keys, 'loop'));
    execFileSync('mkfifo', [join(keys, 'fifo')]);

    // scp and sshfs that would show if they ran: the refusal must come first.
    fakeBin = await mkdtemp(join(tmpdir(), 'dm-fakebin-'));
    for (const tool of ['scp', 'sshfs']) {
      await writeFile(join(fakeBin, tool), `#!/bin/sh\necho "${tool} ran" >&2\nexit 99\n`);
      await chmod(join(fakeBin, tool), 0o755);
    }
  });

  after(async () => {
    await s.cleanup();
    await rm(keys, { recursive: true, force: true });
    await rm(fakeBin, { recursive: true, force: true });
  });

  // biome-ignore format: a table, one row per line
  const rows = (): Row[] => [
    // --url of the none driver: the values that were saved and could never work.
    { what: 'url port abc', args: none('--url', 'tcp://127.0.0.1:abc', 'm'), code: 1, stderr: badURL('"tcp://127.0.0.1:abc"', 'the port "abc" is not 1-65535') },
    { what: 'url port 0', args: none('--url', 'tcp://127.0.0.1:0', 'm'), code: 1, stderr: badURL('"tcp://127.0.0.1:0"', 'the port "0" is not 1-65535') },
    { what: 'url port 65536', args: none('--url', 'tcp://127.0.0.1:65536', 'm'), code: 1, stderr: badURL('"tcp://127.0.0.1:65536"', 'the port "65536" is not 1-65535') },
    { what: 'url port 99999', args: none('--url', 'tcp://127.0.0.1:99999', 'm'), code: 1, stderr: badURL('"tcp://127.0.0.1:99999"', 'the port "99999" is not 1-65535') },
    { what: 'url port -1', args: none('--url', 'tcp://127.0.0.1:-1', 'm'), code: 1, stderr: badURL('"tcp://127.0.0.1:-1"', 'the port "-1" is not 1-65535') },
    { what: 'url port empty', args: none('--url', 'tcp://h:', 'm'), code: 1, stderr: badURL('"tcp://h:"', 'the port "" is not 1-65535') },
    { what: 'url tcp:// alone', args: none('--url', 'tcp://', 'm'), code: 1, stderr: badURL('"tcp://"', 'no host') },
    { what: 'url unbracketed IPv6', args: none('--url', 'tcp://::1:2376', 'm'), code: 1, stderr: badURL('"tcp://::1:2376"', 'an IPv6 address must be in brackets') },
    { what: 'url unclosed bracket', args: none('--url', 'tcp://[::1', 'm'), code: 1, stderr: badURL('"tcp://[::1"', 'an unclosed [') },
    { what: 'url brackets round no IPv6', args: none('--url', 'tcp://[zz]:1', 'm'), code: 1, stderr: badURL('"tcp://[zz]:1"', '[zz] is not an IPv6 address') },
    { what: 'url with a space', args: none('--url', 'tcp://a b:2376', 'm'), code: 1, stderr: badURL('"tcp://a b:2376"', 'a space or a control character in the URL') },
    { what: 'url with a newline', args: none('--url', 'tcp://127.0.0.1:2376\nx', 'm'), code: 1, stderr: badURL('"tcp://127.0.0.1:2376\\nx"', 'a space or a control character in the URL') },
    { what: 'url without a scheme', args: none('--url', 'none', 'm'), code: 1, stderr: badURL('"none"', 'not a URL') },
    { what: 'url unix socket', args: none('--url', 'unix:///var/run/docker.sock', 'm'), code: 1, stderr: badURL('"unix:///var/run/docker.sock"', 'the scheme is unix, not tcp') },
    { what: 'url https', args: none('--url', 'https://127.0.0.1:2376', 'm'), code: 1, stderr: badURL('"https://127.0.0.1:2376"', 'the scheme is https, not tcp') },
    { what: 'url with a path', args: none('--url', 'tcp://h:2376/v1', 'm'), code: 1, stderr: badURL('"tcp://h:2376/v1"', 'a path, query or user in the URL') },
    { what: 'url with a user', args: none('--url', 'tcp://u@h:2376', 'm'), code: 1, stderr: badURL('"tcp://u@h:2376"', 'a path, query or user in the URL') },
    { what: 'url unicode host', args: none('--url', 'tcp://héllo:2376', 'm'), code: 1, stderr: badURL('"tcp://héllo:2376"', '"héllo" is not a host name or an IP address') },
    { what: 'url bad IPv4', args: none('--url', 'tcp://1.2.3.999:2376', 'm'), code: 1, stderr: badURL('"tcp://1.2.3.999:2376"', '"1.2.3.999" is not a host name or an IP address') },
    { what: 'url host like a flag', args: none('--url', 'tcp://-h:2376', 'm'), code: 1, stderr: badURL('"tcp://-h:2376"', '"-h" is not a host name or an IP address') },
    { what: 'url of 5000 characters (cut in the message)', args: none('--url', `tcp://${'a'.repeat(5000)}`, 'm'), code: 1, stderr: badURL(`"tcp://${'a'.repeat(114)}"... (5006 characters)`, `"${'a'.repeat(120)}"... (5000 characters) is not a host name or an IP address`) },
    { what: 'url empty', args: none('--url', '', 'm'), code: 1, stderr: 'Error setting machine configuration from flags provided: --url option is required when no driver is selected' },
    { what: 'url given without a value', args: none('m', '--url'), code: 1, stderr: usage('flag needs an argument: -url') },
    { what: 'url twice, the last bad', args: none('--url', okURL, '--url=tcp://h:0', 'm'), code: 1, stderr: badURL('"tcp://h:0"', 'the port "0" is not 1-65535') },

    // The driver's name: unknown drivers are reported before their flags.
    { what: 'driver NONE', args: ['create', '-d', 'NONE', '--url', okURL, 'm'], code: 1, stderr: `Driver "NONE" not found (driver names are lower case: did you mean "none"?). ${DRIVERS}` },
    { what: 'driver bogus with a driver flag', args: ['create', '-d', 'bogus', '--url', okURL, 'm'], code: 1, stderr: `Driver "bogus" not found. ${DRIVERS}` },
    { what: 'driver with a trailing space', args: ['create', '-d', 'none ', '--url', okURL, 'm'], code: 1, stderr: `Driver "none " not found. ${DRIVERS}` },
    { what: 'MACHINE_DRIVER=NONE', args: ['create', '--url', okURL, 'm'], env: { MACHINE_DRIVER: 'NONE' }, code: 1, stderr: `Driver "NONE" not found (driver names are lower case: did you mean "none"?). ${DRIVERS}` },
    { what: 'two different drivers', args: ['create', '-d', 'none', '-d', 'generic', '--url', okURL, 'm'], code: 1, stderr: usage('the driver is given more than once ("none", "generic"): give one -d') },
    { what: '-d and --driver', args: ['create', '-d', 'none', '--driver', 'none', '--url', okURL, 'm'], code: 1, stderr: usage('Cannot use two forms of the same flag: d driver') },

    // Names.
    { what: 'name taken', args: none('--url', okURL, 'keep'), code: 1, stderr: 'Docker machine "keep" already exists' },
    { what: 'name that is a flag, after --', args: [...none('--url', okURL), '--', '-m'], code: 1, stderr: 'Error creating machine: Invalid hostname specified. Allowed hostname chars are: 0-9a-zA-Z . -' },
    { what: 'name in unicode', args: none('--url', okURL, 'héllo'), code: 1, stderr: 'Error creating machine: Invalid hostname specified. Allowed hostname chars are: 0-9a-zA-Z . -' },
    { what: 'name with a newline', args: none('--url', okURL, 'a\nb'), code: 1, stderr: 'Error creating machine: Invalid hostname specified. Allowed hostname chars are: 0-9a-zA-Z . -' },
    { what: 'name given twice', args: none('--url', okURL, 'm', 'm'), code: 1, stderr: 'm: the name is given more than once\nNo machine was created.' },
    { what: 'fleet with a name holding a newline', args: none('--url', okURL, 'm1', 'a\nb'), code: 1, stderr: '"a\\nb": Invalid hostname specified. Allowed hostname chars are: 0-9a-zA-Z . -\nNo machine was created.' },
    { what: 'fleet of two empty names', args: none('--url', okURL, '', ''), code: 1, stderr: '"": Invalid hostname specified. Allowed hostname chars are: 0-9a-zA-Z . -\n"": the name is given more than once\nNo machine was created.' },
    { what: '-d last, without a value', args: none('--url', okURL, 'm', '-d'), code: 1, stderr: usage('flag needs an argument: -d') },
    { what: 'swarm-cluster with a newline', args: none('--url', okURL, '--swarm', '--swarm-cluster', 'c\nd', 'm'), code: 1, stderr: usage('invalid value "c\\nd" for flag -swarm-cluster: expected one line, without newlines or control characters') },
    { what: 'unknown flag after the name', args: none('--url', okURL, 'm', '-m'), code: 1, stderr: usage('flag provided but not defined: -m') },
    { what: 'global flag after the command', args: none('--url', okURL, '--native-ssh', 'm'), code: 1, stderr: usage('flag provided but not defined: -native-ssh') },
    { what: 'no name', args: none('--url', okURL), code: 1, stderr: 'Error: No machine name specified', stdout: /^Usage: docker-machine create \[OPTIONS\] \[arg\.\.\.\]\n/ },

    // Shared create flags: values that the engine, systemd or Node's timers would refuse later.
    { what: 'wait-timeout 0', args: none('--url', okURL, '--wait-timeout', '0', 'm'), code: 1, stderr: usage('invalid value "0" for flag -wait-timeout: expected seconds, 1-2147483') },
    { what: 'wait-timeout past the timers', args: none('--url', okURL, '--wait-timeout', '99999999999', 'm'), code: 1, stderr: usage('invalid value "99999999999" for flag -wait-timeout: expected seconds, 1-2147483') },
    { what: 'wait-timeout abc', args: none('--url', okURL, '--wait-timeout', 'abc', 'm'), code: 1, stderr: usage('invalid value "abc" for flag -wait-timeout: expected seconds, 1-2147483') },
    { what: 'engine-opt empty', args: none('--url', okURL, '--engine-opt', '', 'm'), code: 1, stderr: usage('invalid value "" for flag -engine-opt: expected a dockerd option as NAME or NAME=VALUE, e.g. log-level=debug') },
    { what: 'engine-opt with dashes', args: none('--url', okURL, '--engine-opt=--debug', 'm'), code: 1, stderr: usage('invalid value "--debug" for flag -engine-opt: expected NAME=VALUE without the leading dashes, e.g. log-level=debug') },
    { what: 'engine-opt with a newline', args: none('--url', okURL, '--engine-opt', 'a=b\nExecStartPre=/bin/true', 'm'), code: 1, stderr: usage('invalid value "a=b\\nExecStartPre=/bin/true" for flag -engine-opt: expected one line, without newlines or control characters') },
    { what: 'engine-label without =', args: none('--url', okURL, '--engine-label', 'foo', 'm'), code: 1, stderr: usage('invalid value "foo" for flag -engine-label: expected KEY=VALUE, e.g. env=staging') },
    { what: 'registry mirror without scheme', args: none('--url', okURL, '--engine-registry-mirror', 'mirror.example', 'm'), code: 1, stderr: usage('invalid value "mirror.example" for flag -engine-registry-mirror: expected an http:// or https:// URL, e.g. https://mirror.example.com') },
    { what: 'insecure registry as a URL', args: none('--url', okURL, '--engine-insecure-registry', 'http://r:5000', 'm'), code: 1, stderr: usage('invalid value "http://r:5000" for flag -engine-insecure-registry: expected HOST[:PORT] or a CIDR without a scheme, e.g. registry.example.com:5000') },
    { what: 'engine-endpoint udp', args: none('--url', okURL, '--engine-endpoint', 'udp', 'm'), code: 1, stderr: usage('invalid value "udp" for flag -engine-endpoint: expected tcp or ssh') },
    { what: 'engine-endpoint ssh with the none driver', args: none('--url', okURL, '--engine-endpoint', 'ssh', 'm'), code: 1, stderr: 'Error creating machine: --engine-endpoint ssh needs SSH to the machine, which the none driver has not' },
    { what: 'storage driver with a newline', args: none('--url', okURL, '--engine-storage-driver', 'a\nb', 'm'), code: 1, stderr: usage('invalid value "a\\nb" for flag -engine-storage-driver: expected a storage driver name, e.g. overlay2') },
    { what: 'tls-san with a space', args: none('--url', okURL, '--tls-san', 'a b', 'm'), code: 1, stderr: usage('invalid value "a b" for flag -tls-san: expected an IP address or a host name (*.DOMAIN for a wildcard)') },
    { what: 'tls-san empty', args: none('--url', okURL, '--tls-san', '', 'm'), code: 1, stderr: usage('invalid value "" for flag -tls-san: expected an IP address or a host name (*.DOMAIN for a wildcard)') },
    { what: 'install url with a space', args: none('--url', okURL, '--engine-install-url', 'a b', 'm'), code: 1, stderr: usage('invalid value "a b" for flag -engine-install-url: expected a URL, e.g. https://get.docker.com') },
    { what: 'swarm-addr with a newline', args: none('--url', okURL, '--swarm-addr', 'a\nb', 'm'), code: 1, stderr: usage('invalid value "a\\nb" for flag -swarm-addr: expected one line, without newlines or control characters') },

    // generic: ports, address, user.
    { what: 'generic ssh port 65536', args: generic('--generic-ssh-port', '65536', 'm'), code: 1, stderr: usage(`invalid value "65536" for flag -generic-ssh-port: ${PORT}`) },
    { what: 'generic ssh port 0', args: generic('--generic-ssh-port', '0', 'm'), code: 1, stderr: usage(`invalid value "0" for flag -generic-ssh-port: ${PORT}`) },
    { what: 'generic ssh port abc', args: generic('--generic-ssh-port', 'abc', 'm'), code: 1, stderr: usage(`invalid value "abc" for flag -generic-ssh-port: ${PORT}`) },
    { what: 'generic ssh port huge', args: generic('--generic-ssh-port', '99999999999999999999', 'm'), code: 1, stderr: usage(`invalid value "99999999999999999999" for flag -generic-ssh-port: ${PORT}`) },
    { what: 'generic ssh port empty', args: generic('--generic-ssh-port', '', 'm'), code: 1, stderr: usage(`invalid value "" for flag -generic-ssh-port: ${PORT}`) },
    { what: 'generic ssh port from the environment', args: generic('m'), env: { GENERIC_SSH_PORT: '70000' }, code: 1, stderr: usage(`invalid value "70000" for flag -generic-ssh-port ($GENERIC_SSH_PORT): ${PORT}`) },
    { what: 'generic engine port 0', args: generic('--generic-engine-port', '0', 'm'), code: 1, stderr: usage(`invalid value "0" for flag -generic-engine-port: ${PORT}`) },
    { what: 'generic engine port -1', args: generic('--generic-engine-port', '-1', 'm'), code: 1, stderr: usage(`invalid value "-1" for flag -generic-engine-port: ${PORT}`) },
    { what: 'generic address missing', args: ['create', '-d', 'generic', 'm'], code: 1, stderr: 'Error setting machine configuration from flags provided: generic driver requires the --generic-ip-address option' },
    { what: 'generic address with a space', args: ['create', '-d', 'generic', '--generic-ip-address', 'a b', 'm'], code: 1, stderr: usage(`invalid value "a b" for flag -generic-ip-address: ${IP_FORM}`) },
    { what: 'generic address like an ssh option', args: ['create', '-d', 'generic', '--generic-ip-address', '-oProxyCommand=x', 'm'], code: 1, stderr: usage(`invalid value "-oProxyCommand=x" for flag -generic-ip-address: ${IP_FORM}`) },
    { what: 'generic address with a port', args: ['create', '-d', 'generic', '--generic-ip-address', '127.0.0.1:22', 'm'], code: 1, stderr: usage(`invalid value "127.0.0.1:22" for flag -generic-ip-address: ${IP_FORM}`) },
    { what: 'generic address in brackets', args: ['create', '-d', 'generic', '--generic-ip-address', '[::1]', 'm'], code: 1, stderr: usage('invalid value "[::1]" for flag -generic-ip-address: expected an IP address or a host name; give an IPv6 address without brackets') },
    { what: 'generic address in unicode', args: ['create', '-d', 'generic', '--generic-ip-address', 'héllo', 'm'], code: 1, stderr: usage(`invalid value "héllo" for flag -generic-ip-address: ${IP_FORM}`) },
    { what: 'generic user empty', args: generic('--generic-ssh-user', '', 'm'), code: 1, stderr: usage(`invalid value "" for flag -generic-ssh-user: ${USER_FORM}`) },
    { what: 'generic user like an ssh option', args: generic('--generic-ssh-user', '-oProxyCommand=x', 'm'), code: 1, stderr: usage(`invalid value "-oProxyCommand=x" for flag -generic-ssh-user: ${USER_FORM}`) },
    { what: 'generic user with @', args: generic('--generic-ssh-user', 'root@x', 'm'), code: 1, stderr: usage(`invalid value "root@x" for flag -generic-ssh-user: ${USER_FORM}`) },

    // generic: the SSH key, checked before anything is made (exit 3, the original's code).
    { what: 'ssh key missing', args: generic('--generic-ssh-key', '/nonexistent/id_rsa', 'm'), code: 3, stdout: PRECHECK, stderr: preCheck('SSH key does not exist: \\"/nonexistent/id_rsa\\"') },
    { what: 'ssh key with an unexpanded ~', args: generic('--generic-ssh-key=~/nonexistent/id_rsa', 'm'), code: 3, stdout: PRECHECK, stderr: preCheck('SSH key does not exist: \\"~/nonexistent/id_rsa\\" (a ~ is not expanded after \\"=\\": write $HOME instead)') },
    { what: 'ssh key a directory', args: generic('--generic-ssh-key', join(keys, 'dir'), 'm'), code: 3, stdout: PRECHECK, stderr: preCheck(`SSH key \\"${join(keys, 'dir')}\\" is a directory: give the private key file (e.g. ${join(keys, 'dir')}/id_rsa)`) },
    { what: 'ssh key the public half', args: generic('--generic-ssh-key', join(keys, 'id.pub'), 'm'), code: 3, stdout: PRECHECK, stderr: preCheck(`SSH key \\"${join(keys, 'id.pub')}\\" is a public key: give the private key (the file without .pub)`) },
    { what: 'ssh key a text file', args: generic('--generic-ssh-key', join(keys, 'text'), 'm'), code: 3, stdout: PRECHECK, stderr: preCheck(`SSH key \\"${join(keys, 'text')}\\" is not a private key (no \\"-----BEGIN ... PRIVATE KEY-----\\" line)`) },
    { what: 'ssh key empty', args: generic('--generic-ssh-key', join(keys, 'empty'), 'm'), code: 3, stdout: PRECHECK, stderr: preCheck(`SSH key \\"${join(keys, 'empty')}\\" is empty`) },
    { what: 'ssh key PuTTY', args: generic('--generic-ssh-key', join(keys, 'putty.ppk'), 'm'), code: 3, stdout: PRECHECK, stderr: preCheck(`SSH key \\"${join(keys, 'putty.ppk')}\\" is a PuTTY key: convert it for OpenSSH (puttygen KEY -O private-openssh -o KEY.openssh)`) },
    { what: 'ssh key a symlink loop', args: generic('--generic-ssh-key', join(keys, 'loop'), 'm'), code: 3, stdout: PRECHECK, stderr: preCheck(`SSH key \\"${join(keys, 'loop')}\\" is a loop of symbolic links`) },
    { what: 'ssh key a FIFO (never read)', args: generic('--generic-ssh-key', join(keys, 'fifo'), 'm'), code: 3, stdout: PRECHECK, stderr: preCheck(`SSH key \\"${join(keys, 'fifo')}\\" is not a regular file`) },
    { what: 'ssh key a device', args: generic('--generic-ssh-key', '/dev/null', 'm'), code: 3, stdout: PRECHECK, stderr: preCheck('SSH key \\"/dev/null\\" is not a regular file') },

    // docker and qemu: counts, sizes and ports (no engine or QEMU needed to refuse them).
    { what: 'qemu cpu count 0', args: ['create', '-d', 'qemu', '--qemu-cpu-count', '0', 'm'], code: 1, stderr: usage('invalid value "0" for flag -qemu-cpu-count: expected a number of CPUs, 1-255') },
    { what: 'qemu memory huge', args: ['create', '-d', 'qemu', '--qemu-memory', '99999999999', 'm'], code: 1, stderr: usage('invalid value "99999999999" for flag -qemu-memory: expected MB of memory, 256-4194304') },
    { what: 'qemu disk -1', args: ['create', '-d', 'qemu', '--qemu-disk-size', '-1', 'm'], code: 1, stderr: usage('invalid value "-1" for flag -qemu-disk-size: expected MB of disk, 1024-67108864') },
    { what: 'qemu ssh port 70000', args: ['create', '-d', 'qemu', '--qemu-ssh-port', '70000', 'm'], code: 1, stderr: usage('invalid value "70000" for flag -qemu-ssh-port: expected a TCP port, 1-65535 (0: a free one)') },
    { what: 'qemu accel unknown', args: ['create', '-d', 'qemu', '--qemu-accel', 'foo', 'm'], code: 1, stderr: usage('invalid value "foo" for flag -qemu-accel: expected one of auto, kvm, hvf, tcg') },
    { what: 'docker memory 10', args: ['create', '-d', 'docker', '--docker-memory', '10', 'm'], code: 1, stderr: usage('invalid value "10" for flag -docker-memory: expected MB of memory, 64-67108864 (0: no limit)') },
    { what: 'docker host unbracketed IPv6', args: ['create', '-d', 'docker', '--docker-host', 'tcp://::1:2375', 'm'], code: 1, stderr: usage('invalid value "tcp://::1:2375" for flag -docker-host: an IPv6 address must be in brackets; expected unix:///PATH or tcp://HOST:PORT (an IPv6 address in brackets)') },
    { what: 'docker host from DOCKER_HOST over ssh', args: ['create', '-d', 'docker', 'm'], env: { DOCKER_HOST: 'ssh://me@h' }, code: 1, stderr: usage('invalid value "ssh://me@h" for flag -docker-host ($DOCKER_HOST): the scheme is ssh, not tcp; expected unix:///PATH or tcp://HOST:PORT (an IPv6 address in brackets)') },
    { what: 'docker disk size past 64 TB', args: ['create', '-d', 'docker', '--docker-disk-size', '99999999T', 'm'], code: 1, stderr: 'Error setting machine configuration from flags provided: --docker-disk-size 99999999T: expected a size such as 20G or 512M, or a whole number of MB (0 for no limit)' },
    { what: 'docker cpus 1e400', args: ['create', '-d', 'docker', '--docker-cpus', '1e400', 'm'], code: 1, stderr: usage('invalid value "1e400" for flag -docker-cpus: expected a number of CPUs, e.g. 2 or 1.5') },

    // The SSH commands of a machine that has no SSH (none driver): at once, one line.
    ...sshRows(),
  ];

  const sshRows = (): Row[] => {
    const noSSH = (verb: string) => `Error: Cannot ${verb}: machine "keep" (driver none) has no SSH access`;
    // biome-ignore format: a table, one row per line
    return [
      { what: 'ssh of a none machine', args: ['ssh', 'keep'], code: 1, stderr: noSSH('run SSH command') },
      { what: 'ssh command of a none machine', args: ['ssh', 'keep', 'uname'], code: 1, stderr: noSSH('run SSH command') },
      { what: 'ssh --native-ssh of a none machine', args: ['--native-ssh', 'ssh', 'keep', 'uname'], code: 1, stderr: noSSH('run SSH command') },
      { what: 'scp to a none machine', args: ['scp', '/etc/hostname', 'keep:/tmp/x'], env: { PATH: `${fakeBin}:${process.env.PATH}` }, code: 1, stderr: noSSH('copy') },
      { what: 'mount of a none machine', args: ['mount', 'keep:/tmp', tmpdir()], env: { PATH: `${fakeBin}:${process.env.PATH}` }, code: 1, stderr: noSSH('mount') },
      { what: 'provision of a none machine', args: ['provision', 'keep'], code: 1, stderr: noSSH('provision') },
      { what: 'provision --native-ssh of a none machine', args: ['--native-ssh', 'provision', 'keep'], code: 1, stderr: noSSH('provision') },
      { what: 'upgrade of a none machine', args: ['upgrade', 'keep'], code: 1, stderr: noSSH('upgrade') },
      { what: 'regenerate-certs -f of a none machine', args: ['regenerate-certs', '-f', 'keep'], code: 1, stdout: 'Regenerating TLS certificates\n', stderr: noSSH('regenerate certificates') },
    ];
  };

  test('the table', async (t) => {
    const all = rows();
    assert.ok(all.length >= 80, `${all.length} rows`);
    for (const row of all) {
      await t.test(row.what, async () => {
        const started = Date.now();
        const r = await s.run(row.args, { env: row.env, timeoutMs: 20_000 });
        const took = Date.now() - started;
        const state = storeState();
        // A machine a row made anyway goes, so that one failure does not fail the rows after it.
        for (const n of readdirSync(join(s.dir, 'machines'))) {
          if (n !== 'keep' && n !== '.locks') await rm(join(s.dir, 'machines', n), { recursive: true });
        }
        assert.equal(r.stderr, `${row.stderr}\n`, `stderr of ${JSON.stringify(row.args)}`);
        assert.equal(r.code, row.code, `exit code of ${JSON.stringify(row.args)}`);
        if (row.stdout instanceof RegExp) assert.match(r.stdout, row.stdout);
        else assert.equal(r.stdout, row.stdout ?? '', `stdout of ${JSON.stringify(row.args)}`);
        assert.ok(took < 8000, `took ${took} ms`);
        assert.equal(state, snapshot, 'the store changed');
      });
    }
  });

  test('a readable private key passes the check; one named key.pem is kept beside the client key, not over it', async () => {
    const { privateKey } = generateKeyPairSync('ed25519', {
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const key = join(keys, 'key.pem');
    await writeFile(key, privateKey, { mode: 0o600 });
    // Nothing listens on the port: create makes the machine, then its wait for SSH fails in 1 s.
    const port = await freePort();
    const r = await s.run(
      generic('--generic-ssh-port', String(port), '--generic-ssh-key', key, '--wait-timeout', '1', 'gk'),
    );
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /\(gk\) Importing SSH key\.\.\.\n/);
    const dir = join(s.dir, 'machines', 'gk');
    assert.equal(readFileSync(join(dir, 'ssh-key.pem'), 'utf8'), privateKey);
    assert.notEqual(readFileSync(join(dir, 'key.pem'), 'utf8'), privateKey);
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    assert.equal(cfg.Driver.SSHKeyPath, join(dir, 'ssh-key.pem'));
    assert.equal((await s.run(['rm', '-y', 'gk'])).code, 0);
    assert.deepEqual(
      (await readdir(join(s.dir, 'machines'))).filter((n) => !n.startsWith('.')),
      ['keep'],
    );
  });

  test('a generic machine saved with SSH port 65536 (earlier versions took it): one line from every command', async () => {
    const old = await tempStore();
    try {
      assert.equal((await old.run(none('--url', okURL, 'og'))).code, 0);
      const file = join(old.dir, 'machines', 'og', 'config.json');
      const cfg = JSON.parse(readFileSync(file, 'utf8'));
      cfg.DriverName = 'generic';
      Object.assign(cfg.Driver, {
        IPAddress: '127.0.0.1',
        SSHUser: 'root',
        SSHPort: 65536,
        EnginePort: 2376,
      });
      await writeFile(file, JSON.stringify(cfg, null, 4));
      const before = readFileSync(file, 'utf8');
      const bad = 'SSHPort 65536 in config.json is not a TCP port (1-65535)';
      // biome-ignore format: a table, one row per line
      const cases: [string[], number, string, string][] = [
        [['ssh', 'og'], 1, '', bad],
        [['status', 'og'], 1, '', `error getting state for host og: ${bad}`],
        [['url', 'og'], 1, '', bad],
        [['provision', 'og'], 1, '', 'Error: Cannot provision: machine "og" has SSH port 65536 in its config.json, which is not 1-65535'],
        [['ls', '--format', '{{.Name}} {{.Error}}'], 0, `og ${bad}\n`, ''],
      ];
      for (const [args, code, stdout, stderr] of cases) {
        const r = await old.run(args, { timeoutMs: 20_000 });
        assert.deepEqual(
          [r.code, r.stdout, r.stderr],
          [code, stdout, stderr ? `${stderr}\n` : ''],
          args.join(' '),
        );
      }
      assert.equal(readFileSync(file, 'utf8'), before);
    } finally {
      await old.cleanup();
    }
  });

  test('a machine whose driver is not built in: every SSH command answers at once, in one line', async () => {
    const other = await tempStore();
    try {
      assert.equal((await other.run(none('--url', okURL, 'bg'))).code, 0);
      const file = join(other.dir, 'machines', 'bg', 'config.json');
      const cfg = JSON.parse(readFileSync(file, 'utf8'));
      cfg.DriverName = 'bogus';
      await writeFile(file, JSON.stringify(cfg, null, 4));
      const line = `Driver "bogus" not found. ${DRIVERS}\n`;
      for (const args of [
        ['ssh', 'bg'],
        ['--native-ssh', 'ssh', 'bg', 'uname'],
        ['scp', '/etc/hostname', 'bg:/tmp/x'],
        ['provision', 'bg'],
        ['upgrade', 'bg'],
      ]) {
        const r = await other.run(args, {
          timeoutMs: 10_000,
          env: { PATH: `${fakeBin}:${process.env.PATH}` },
        });
        assert.deepEqual([r.code, r.stdout, r.stderr], [1, '', line], args.join(' '));
      }
    } finally {
      await other.cleanup();
    }
  });
});
