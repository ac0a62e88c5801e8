import assert from 'node:assert/strict';
import { test } from 'node:test';
import { goDuration } from './duration.js';
import { formatFloat, formatValue, goStruct, sprintf } from './gofmt.js';
import { goMarshal, goMarshalIndent, sortedKeysDeep } from './gojson.js';
import { naturalCompare, naturalSort } from './natsort.js';
import { tabwrite } from './tabwriter.js';

const LS = { minwidth: 5, tabwidth: 1, padding: 3, padchar: ' ' };
const HELP = { minwidth: 0, tabwidth: 8, padding: 1, padchar: '\t' };

test('tabwriter: the ls layout of the original (spec §2.9)', () => {
  const text =
    'NAME\tACTIVE\tDRIVER\tSTATE\tURL\tSWARM\tDOCKER\tERRORS\n' +
    'default\t-\tnone\tRunning\ttcp://127.0.0.1:2376\t\tv19.03.5\t\n' +
    'gen\t-\tgeneric\tStopped\t\t\tUnknown\t\n';
  assert.equal(
    tabwrite(text, LS),
    'NAME      ACTIVE   DRIVER    STATE     URL                    SWARM   DOCKER     ERRORS\n' +
      'default   -        none      Running   tcp://127.0.0.1:2376           v19.03.5   \n' +
      'gen       -        generic   Stopped                                  Unknown    \n',
  );
  // An empty store: just the header, every column at least 5 + 3 wide.
  assert.equal(
    tabwrite('NAME\tACTIVE\tDRIVER\tSTATE\tURL\tSWARM\tDOCKER\tERRORS\n', LS),
    'NAME   ACTIVE   DRIVER   STATE   URL   SWARM   DOCKER   ERRORS\n',
  );
});

test('tabwriter: TAB padding rounds cells up to the tab width (help)', () => {
  const out = tabwrite(
    '  --debug, -D\tEnable\n  --storage-path, -s "/home/me/.docker/machine"\tConfigures\n',
    HELP,
  );
  assert.equal(
    out,
    '  --debug, -D\t\t\t\t\tEnable\n  --storage-path, -s "/home/me/.docker/machine"\tConfigures\n',
  );
});

test('tabwriter: column blocks end at a line without that column; runes count as one', () => {
  const out = tabwrite('a\tb\tc\nlonger\tx\n\nzz\ty\n∞∞\tq\n', LS);
  assert.equal(out, 'a        b    c\nlonger   x\n\nzz   y\n∞∞   q\n');
  assert.equal(tabwrite('no newline\tat end', LS), 'no newline   at end');
});

test('natural sort: numbers by value, before text, case-insensitive', () => {
  const names = ['m10', 'm2', 'M3', 'a', '10', '9', 'm1', 'ma', 'b'];
  assert.deepEqual(
    naturalSort(names, (s) => s),
    ['9', '10', 'a', 'b', 'm1', 'm2', 'M3', 'm10', 'ma'],
  );
  assert.equal(naturalCompare('x007', 'x7'), 0);
  assert.ok(naturalCompare('x2y', 'x10y') < 0);
});

test('Go durations as ls prints ResponseTime', () => {
  const cases: [number, string][] = [
    [0, '0s'],
    [7, '7ms'],
    [999, '999ms'],
    [1000, '1s'],
    [1500, '1.5s'],
    [1234, '1.234s'],
    [60_000, '1m0s'],
    [90_500, '1m30.5s'],
    [3_600_000, '1h0m0s'],
  ];
  for (const [ms, want] of cases) assert.equal(goDuration(ms), want);
});

test('Go JSON: MarshalIndent layout, HTML escaping, empty collections', () => {
  const v = {
    B: 'x<y>&z',
    A: [],
    N: null,
    O: {},
    L: ['a'],
    I: 3,
    F: 1.5,
    T: true,
    S: 'line\nbreak\ttab\u0001\u2028',
  };
  assert.equal(
    goMarshalIndent(v),
    '{\n    "B": "x\\u003cy\\u003e\\u0026z",\n    "A": [],\n    "N": null,\n    "O": {},\n    "L": [\n        "a"\n    ],\n' +
      '    "I": 3,\n    "F": 1.5,\n    "T": true,\n    "S": "line\\nbreak\\ttab\\u0001\\u2028"\n}',
  );
  assert.equal(goMarshal({ b: 1, a: [1, 2] }), '{"b":1,"a":[1,2]}');
  assert.equal(goMarshal(sortedKeysDeep({ b: 1, a: { d: 1, c: 2 } })), '{"a":{"c":2,"d":1},"b":1}');
  assert.equal(goMarshal(1e21), '1e+21');
  assert.equal(goMarshal(1e-7), '1e-7');
});

test('Go %v of values', () => {
  assert.equal(formatValue(['a', 1, true]), '[a 1 true]');
  assert.equal(formatValue({ b: 2, a: 'x' }), 'map[a:x b:2]');
  assert.equal(formatValue(goStruct('T', { X: 1, Y: 'z' })), '{1 z}');
  assert.equal(formatValue(null), '<nil>');
  assert.equal(formatValue([]), '[]');
  // Integers print as integers (the deliberate fix); other floats as Go's %v.
  assert.equal(formatFloat(1000000), '1000000');
  assert.equal(formatFloat(1.5), '1.5');
  assert.equal(formatFloat(1234567.5), '1.2345675e+06');
  assert.equal(formatFloat(0.0001), '0.0001');
  assert.equal(formatFloat(0.00001), '1e-05');
});

test('Go printf verbs', () => {
  assert.equal(sprintf('%s=%q', 'a', 'b"c'), 'a="b\\"c"');
  assert.equal(sprintf('[%-6s][%6s]', 'ab', 'cd'), '[ab    ][    cd]');
  assert.equal(sprintf('%d %05d %x %X %t', 42, 42, 255, 255, true), '42 00042 ff FF true');
  assert.equal(sprintf('%.2f %v', 1.23456, [1, 2]), '1.23 [1 2]');
  assert.equal(sprintf('%d', 'x'), '%!d(string=x)');
  assert.equal(sprintf('%s %s', 'a'), 'a %!s(MISSING)');
  assert.equal(sprintf('%s', 'a', 'b'), 'a%!(EXTRA string=b)');
  assert.equal(sprintf('100%%'), '100%');
});
