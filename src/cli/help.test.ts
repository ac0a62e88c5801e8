import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FlagDef } from '../flags/def.js';
import { commands } from './commands.js';
import { globalFlagDefs } from './globals.js';
import { appHelp, commandHelp, flagHelpLine } from './help.js';

test('flag help lines follow codegangsta/cli', () => {
  const cases: [FlagDef, string][] = [
    [
      { name: 'debug', short: 'D', kind: 'bool', usage: 'Enable debug mode' },
      '--debug, -D\tEnable debug mode',
    ],
    [{ name: 'url', kind: 'string', usage: 'URL' }, '--url \tURL'],
    [
      { name: 'user', kind: 'string', usage: 'SSH user', envVar: 'U', default: 'root' },
      '--user "root"\tSSH user [$U]',
    ],
    [{ name: 'timeout', short: 't', kind: 'int', default: 10, usage: 'T' }, '--timeout, -t "10"\tT'],
    [{ name: 'port', kind: 'int', usage: 'P' }, '--port "0"\tP'],
    [{ name: 'filter', kind: 'stringSlice', usage: 'F' }, '--filter [--filter option --filter option]\tF'],
    [{ name: 'y', kind: 'bool', usage: 'yes' }, '-y\tyes'],
  ];
  for (const [def, want] of cases) assert.equal(flagHelpLine(def), want);
});

test('app help lays out options and commands with tabs as the original', () => {
  const text = appHelp('docker-machine', globalFlagDefs({ HOME: '/home/me' }), commands);
  const lines = text.split('\n');
  // Observed in the original (spec §1.3): tab-aligned to the widest cell, the storage path.
  assert.ok(lines.includes('  --debug, -D\t\t\t\t\tEnable debug mode'), text);
  assert.ok(
    lines.includes(
      '  --storage-path, -s "/home/me/.docker/machine"\tConfigures storage path [$MACHINE_STORAGE_PATH]',
    ),
  );
  assert.ok(lines.includes('  --tls-ca-cert \t\t\t\tCA to verify remotes against [$MACHINE_TLS_CA_CERT]'));
  assert.ok(lines.includes('  --help, -h\t\t\t\t\tshow help'));
  // regenerate-certs is the widest command name, so short names take three tabs, as observed.
  assert.ok(lines.includes('  ls\t\t\tList machines'), text);
  assert.ok(lines.includes('  regenerate-certs\tRegenerate TLS Certificates for a machine'), text);
  assert.ok(
    lines.includes('  env\t\t\tDisplay the commands to set up the environment for the Docker client'),
    text,
  );
  assert.ok(lines.includes('  create\t\tCreate a machine'), text);
  assert.equal(lines.at(-2), "Run 'docker-machine COMMAND --help' for more information on a command.");
});

test('command help without flags has no [OPTIONS] and shows the description', () => {
  const info = commands.find((c) => c.name === 'url')!;
  assert.equal(
    commandHelp(info, []),
    'Usage: docker-machine url [arg...]\n\nGet the URL of a machine\n\nDescription:\n   Argument is a machine name.\n',
  );
});
