import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DocError, type Node } from './doc.js';
import { parseJson } from './json.js';
import { parseYaml } from './yaml.js';

/** A node as plain data, to compare whole documents. */
function plain(n: Node): unknown {
  if (n.kind === 'scalar') return n.value;
  if (n.kind === 'list') return n.items.map(plain);
  return Object.fromEntries([...n.entries].map(([k, e]) => [k, plain(e.value)]));
}

test('the YAML subset: block maps and lists, list items that start maps, flow values, scalars', () => {
  const doc = parseYaml(`---
# comment
label: "fleet #1"   # a comment after a quoted value
machines:
- name: a
  driver: none
  flags:
    url: tcp://10.0.0.5:2376
    engine-label: [env=ci, 'it''s=ok', "tab=\\t"]
    swarm-master: true
    wait-timeout: 30
    engine-opt:
      - log-level=debug
  empty:
- {name: b, driver: none, flags: {url: "tcp://x:1"}}
`);
  assert.deepEqual(plain(doc), {
    label: 'fleet #1',
    machines: [
      {
        name: 'a',
        driver: 'none',
        flags: {
          url: 'tcp://10.0.0.5:2376',
          'engine-label': ['env=ci', "it's=ok", 'tab=\t'],
          'swarm-master': true,
          'wait-timeout': 30,
          'engine-opt': ['log-level=debug'],
        },
        empty: null,
      },
      { name: 'b', driver: 'none', flags: { url: 'tcp://x:1' } },
    ],
  });
  // Lines are kept: the second machine's url is on line 15.
  const machines = (doc as Extract<Node, { kind: 'map' }>).entries.get('machines')?.value as Extract<
    Node,
    { kind: 'list' }
  >;
  assert.equal(machines.items[1].line, 15);
  const a = machines.items[0] as Extract<Node, { kind: 'map' }>;
  assert.equal(a.entries.get('driver')?.keyLine, 6);
});

test('what the subset refuses, at its line', () => {
  const cases: [string, number, RegExp][] = [
    ['a: 1\na: 2\n', 2, /given twice/],
    ['a:\n  - x\n  y: 1\n', 3, /expected|key/],
    ['a: &anchor 1\n', 1, /after the value|unsupported/],
    ['a: "open\n', 1, /close on its line/],
    ['a: 1\n---\nb: 2\n', 2, /several YAML documents/],
    ['a: [1, 2\n', 1, /close with \]/],
  ];
  for (const [src, line, message] of cases) {
    assert.throws(
      () => parseYaml(src),
      (e: unknown) => e instanceof DocError && e.line === line && message.test(e.message),
      JSON.stringify(src),
    );
  }
});

test('JSON with lines', () => {
  const doc = parseJson('{\n  "machines": [\n    {"name": "a"}\n  ],\n  "n": -1.5e2\n}');
  assert.deepEqual(plain(doc), { machines: [{ name: 'a' }], n: -150 });
  assert.throws(
    () => parseJson('{\n  "a": 1,\n  "a": 2\n}'),
    (e: unknown) => e instanceof DocError && e.line === 3,
  );
  assert.throws(
    () => parseJson('{\n  "a": 1\n  "b": 2\n}'),
    (e: unknown) => e instanceof DocError && e.line === 3,
  );
});
