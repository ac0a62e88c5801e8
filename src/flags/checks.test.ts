import assert from 'node:assert/strict';
import { test } from 'node:test';
import { certSAN, engineURL, hostOrIP, insecureRegistry, intRange, sshUser, tcpPort } from './checks.js';

// The refusals are in test/e2e/bad-input-create.test.ts; here the good values that must pass.
test('good values pass every check', () => {
  const good: [string, (v: string | number) => string | undefined, (string | number)[]][] = [
    [
      'engineURL',
      engineURL,
      [
        '',
        'tcp://127.0.0.1:2376',
        'tcp://[::1]:2376',
        'tcp://[2001:db8::1]:1',
        'tcp://host.example:65535',
        'tcp://h',
        'tcp://h:2376/',
        'tcp://10.0.0.5:2376',
      ],
    ],
    [
      'hostOrIP',
      hostOrIP,
      ['', '192.0.2.10', '::1', '2001:db8::1', 'build1', 'a-b.example.com', 'x.example.'],
    ],
    ['sshUser', sshUser, ['root', 'docker', 'ci_user', 'a.b', 'user-1', 'machine$']],
    ['tcpPort', tcpPort, [1, 22, 2376, 65535]],
    ['certSAN', certSAN, ['foo.tld', '10.9.9.9', '*.example.com', '::1']],
    [
      'insecureRegistry',
      insecureRegistry,
      ['registry.myco.com', 'r.example:5000', '10.0.0.0/8', '[::1]:5000'],
    ],
    ['intRange with zero', intRange(64, 128, 'MB', 'no limit'), [0, 64, 128]],
  ];
  for (const [name, check, values] of good) {
    for (const v of values) assert.equal(check(v), undefined, `${name}(${JSON.stringify(v)})`);
  }
});

test('an int flag that did not parse gets the same hint as one out of range', () => {
  assert.equal(tcpPort(Number.NaN), 'expected a TCP port, 1-65535');
  assert.equal(tcpPort(70000), 'expected a TCP port, 1-65535');
});
