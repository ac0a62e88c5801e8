import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildHostOptions } from '../api/host-options.js';
import { systemdDropIn } from './daemon-options.js';
import { environmentWord, execStartWord } from './systemd-quote.js';

test('ordinary values are written as the original wrote them', () => {
  assert.equal(environmentWord('TEST=VALUE'), '"TEST=VALUE"');
  assert.equal(environmentWord('B=has space'), '"B=has space"');
  assert.equal(execStartWord('--log-driver=none'), '--log-driver=none');
  assert.equal(execStartWord('https://mirror.example'), 'https://mirror.example');
});

test('specifiers, variables, quotes, backslashes and control characters are escaped', () => {
  assert.equal(environmentWord('A=50% "q" \\b $HOME'), '"A=50%% \\"q\\" \\\\b $HOME"');
  assert.equal(environmentWord('A=x\ny'), '"A=x\\ny"');
  assert.equal(execStartWord('note=50%'), 'note=50%%');
  assert.equal(execStartWord('a=$HOME b'), '"a=$$HOME b"');
  assert.equal(execStartWord('a\rb'), '"a\\x0db"');
});

test('the drop-in has exactly one line per directive, whatever the values', () => {
  const engine = buildHostOptions('/s', 'm', {
    engine: {
      env: ['FOO=bar', 'X=1\nExecStartPre=/bin/touch /tmp/pwned'],
      labels: ['l=a\nb'],
      opts: ['log-level=warn\n[Service]'],
    },
  }).EngineOptions;
  const out = systemdDropIn({
    dockerd: '/usr/bin/dockerd',
    port: 2376,
    socketActivated: true,
    driverName: 'generic',
    engine,
  });
  const lines = out.split('\n');
  assert.deepEqual(
    lines.map((l) => l.split('=')[0]),
    ['[Service]', 'ExecStart', 'ExecStart', 'Environment', ''],
  );
  assert.match(lines[2] ?? '', / --label "l=a\\nb" .* "--log-level=warn\\n\[Service\]"$/);
  assert.equal(lines[3], 'Environment="FOO=bar" "X=1\\nExecStartPre=/bin/touch /tmp/pwned"');
});
