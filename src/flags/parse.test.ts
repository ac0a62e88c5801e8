import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from '../errors.js';
import type { FlagDef } from './def.js';
import { parseFlags, parseGoBool, parseGoInt } from './parse.js';

const defs: FlagDef[] = [
  { name: 'quiet', short: 'q', kind: 'bool', usage: '' },
  { name: 'timeout', short: 't', kind: 'int', default: 10, usage: '' },
  { name: 'format', short: 'f', kind: 'string', usage: '' },
  { name: 'filter', kind: 'stringSlice', usage: '' },
  { name: 'url', kind: 'string', usage: '', envVar: 'TEST_URL', default: 'tcp://x:1' },
  { name: 'mirror', kind: 'stringSlice', usage: '', envVar: 'TEST_MIRRORS' },
  { name: 'port', kind: 'int', usage: '', envVar: 'TEST_PORT', default: 22 },
  { name: 'native', kind: 'bool', usage: '', envVar: 'TEST_NATIVE' },
];

test('single and double dash, = or space', () => {
  const r = parseFlags(
    ['-q', '--timeout=5', '-format', '{{.Name}}', '--filter', 'a=b', '-filter=c=d'],
    defs,
    {
      env: {},
    },
  );
  assert.equal(r.flags.values.get('quiet'), true);
  assert.equal(r.flags.values.get('timeout'), 5);
  assert.equal(r.flags.values.get('format'), '{{.Name}}');
  assert.deepEqual(r.flags.values.get('filter'), ['a=b', 'c=d']);
  assert.deepEqual([...r.flags.explicit].sort(), ['filter', 'format', 'quiet', 'timeout']);
});

test('flags after arguments and arguments between flags', () => {
  const r = parseFlags(['name1', '-q', 'name2', '--timeout', '3'], defs, { env: {} });
  assert.deepEqual(r.args, ['name1', 'name2']);
  assert.equal(r.flags.values.get('timeout'), 3);
});

test('-- ends the flags', () => {
  const r = parseFlags(['a', '--', '-q', '--x'], defs, { env: {} });
  assert.deepEqual(r.args, ['a', '-q', '--x']);
  assert.equal(r.flags.values.get('quiet'), false);
});

test('a lone dash is an argument', () => {
  assert.deepEqual(parseFlags(['-'], defs, { env: {} }).args, ['-']);
});

test('bool flags take only =value', () => {
  const r = parseFlags(['-q=false', 'x'], defs, { env: {} });
  assert.equal(r.flags.values.get('quiet'), false);
  assert.deepEqual(r.args, ['x']);
  assert.throws(() => parseFlags(['-q=maybe'], defs, { env: {} }), /invalid boolean value "maybe" for -q/);
});

test('unknown flag, missing value and bad int are usage errors naming the flag', () => {
  assert.throws(
    () => parseFlags(['--bogus'], defs, { env: {}, command: 'ls' }),
    (e: unknown) =>
      e instanceof UsageError && e.message === 'flag provided but not defined: -bogus' && e.command === 'ls',
  );
  assert.throws(() => parseFlags(['--format'], defs, { env: {} }), /flag needs an argument: -format/);
  assert.throws(
    () => parseFlags(['-t', 'abc'], defs, { env: {} }),
    /invalid value "abc" for flag -t: parse error/,
  );
  assert.throws(() => parseFlags(['---q'], defs, { env: {} }), /bad flag syntax: ---q/);
});

test('two forms of one flag are refused, as in the original', () => {
  assert.throws(
    () => parseFlags(['-q', '--quiet'], defs, { env: {} }),
    /Cannot use two forms of the same flag: q quiet/,
  );
  // The same form twice is fine.
  assert.doesNotThrow(() => parseFlags(['-q', '-q'], defs, { env: {} }));
});

test('env vars fill flags not given, defaults the rest', () => {
  const env = { TEST_URL: 'tcp://env:2', TEST_MIRRORS: ' a , b,,c ', TEST_PORT: '2222', TEST_NATIVE: 'true' };
  const r = parseFlags([], defs, { env });
  assert.equal(r.flags.values.get('url'), 'tcp://env:2');
  assert.deepEqual(r.flags.values.get('mirror'), ['a', 'b', 'c']);
  assert.equal(r.flags.values.get('port'), 2222);
  assert.equal(r.flags.values.get('native'), true);
  assert.equal(r.flags.values.get('timeout'), 10);
  assert.equal(r.flags.explicit.size, 0);
  // The command line wins over the env var.
  assert.equal(parseFlags(['--url', 'tcp://cli:3'], defs, { env }).flags.values.get('url'), 'tcp://cli:3');
});

test('invalid env values are ignored, as the original does', () => {
  const r = parseFlags([], defs, { env: { TEST_PORT: 'x', TEST_NATIVE: 'yes' } });
  assert.equal(r.flags.values.get('port'), 22);
  assert.equal(r.flags.values.get('native'), false);
});

test('stopAtFirstArg leaves the command and its arguments in rest', () => {
  const r = parseFlags(['-q', 'ls', '-t', '3'], defs, { env: {}, stopAtFirstArg: true });
  assert.deepEqual(r.rest, ['ls', '-t', '3']);
  assert.equal(r.flags.values.get('timeout'), 10);
});

test('Go bool and int syntax', () => {
  for (const s of ['1', 't', 'T', 'true', 'TRUE', 'True']) assert.equal(parseGoBool(s), true);
  for (const s of ['0', 'f', 'F', 'false', 'FALSE', 'False']) assert.equal(parseGoBool(s), false);
  assert.equal(parseGoBool('yes'), undefined);
  assert.equal(parseGoInt('10'), 10);
  assert.equal(parseGoInt('-7'), -7);
  assert.equal(parseGoInt('0x1f'), 31);
  assert.equal(parseGoInt('010'), 8);
  assert.equal(parseGoInt('0b101'), 5);
  assert.equal(parseGoInt('0o17'), 15);
  assert.equal(parseGoInt('1.5'), undefined);
  assert.equal(parseGoInt(''), undefined);
  assert.equal(parseGoInt('9'.repeat(30)), undefined);
});
