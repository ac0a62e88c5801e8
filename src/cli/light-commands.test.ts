import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { commands } from './commands.js';
import { globalFlagDefs } from './globals.js';
import { LIGHT_COMMANDS, lightCommands } from './light-commands.js';

const loader = readFileSync(join(import.meta.dirname, '../../scripts/cli-loader.cjs'), 'utf8');

function loaderList(name: string): string[] {
  const m = new RegExp(`const ${name} = \\[([^\\]]*)\\]`).exec(loader);
  assert.ok(m, `${name} in scripts/cli-loader.cjs`);
  return [...m[1].matchAll(/'([^']+)'/g)].map((x) => x[1]);
}

test('the loader routes the same commands to the light bundle as the light bundle holds', () => {
  assert.deepEqual(loaderList('LIGHT'), [...LIGHT_COMMANDS]);
});

test('the loader knows which global flags take a value (it skips their value to find the command)', () => {
  const valued = globalFlagDefs({ HOME: '/h' })
    .filter((d) => d.kind !== 'bool')
    .flatMap((d) => (d.short ? [d.short, d.name] : [d.name]));
  assert.deepEqual(loaderList('VALUED').sort(), valued.sort());
});

test('both bundles list the same commands in the same order, for help', () => {
  assert.deepEqual(
    lightCommands.map((c) => [c.name, c.usage, c.description, c.aliases]),
    commands.map((c) => [c.name, c.usage, c.description, c.aliases]),
  );
});
