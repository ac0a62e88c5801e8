import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import { addSecret, debug, debugEnabled, isSecretFlag, redact, setDebugSink, traceCalls } from './debug.js';

test('redact: private keys, auth headers and registered secrets never pass', () => {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const pkcs1 = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const out = redact(`key:\n${pkcs1}and\n${pkcs8}end`);
  assert.equal(out, 'key:\n<REDACTED>\nand\n<REDACTED>\nend');
  // A key cut off in the middle (a clipped output) is redacted to the end.
  assert.equal(redact(`x ${pkcs1.slice(0, 200)}`), 'x <REDACTED>');
  assert.equal(redact('Authorization: Bearer abc.def'), 'Authorization: <REDACTED>');
  assert.equal(redact('{"X-Registry-Auth":"eyJ1c2VyIjoi"}'), '{"X-Registry-Auth":"<REDACTED>"}');
  assert.equal(redact('GET https://me:pa55@mirror.example/x'), 'GET https://<REDACTED>@mirror.example/x');
  assert.equal(redact('ssh://docker@127.0.0.1:22'), 'ssh://docker@127.0.0.1:22');
  addSecret('tok-3141592653');
  addSecret('ab'); // too short to be told from ordinary text
  assert.equal(redact('curl -H tok-3141592653 ab'), 'curl -H <REDACTED> ab');
  // Certificates are public and stay.
  assert.equal(redact('-----BEGIN CERTIFICATE-----\nMIIB\n'), '-----BEGIN CERTIFICATE-----\nMIIB\n');
});

test('secret flags by name', () => {
  for (const f of [
    'github-api-token',
    'digitalocean-access-token',
    'hetzner-api-token',
    'google-auth-encoded-json',
    'exoscale-api-key',
    'exoscale-api-secret-key',
    'amazonec2-secret-key',
    'vmwarevsphere-password',
  ])
    assert.ok(isSecretFlag(f), f);
  for (const f of ['url', 'driver', 'generic-ssh-key', 'engine-env', 'swarm-discovery'])
    assert.ok(!isSecretFlag(f), f);
});

test('off: no line built, objects untouched; on: driver calls with their time', async () => {
  setDebugSink(undefined);
  let built = false;
  debug(() => {
    built = true;
    return 'x';
  });
  assert.equal(built, false);
  const driver = {
    async getState() {
      return 'Running';
    },
    toJSON: () => ({}),
  };
  assert.equal(traceCalls(driver, '(m) '), driver);

  const lines: string[] = [];
  setDebugSink((l) => lines.push(l));
  try {
    assert.ok(debugEnabled());
    const traced = traceCalls(driver, '(m) ');
    assert.equal(await traced.getState(), 'Running');
    await new Promise((r) => setImmediate(r));
    assert.equal(lines[0], '(m) Calling .GetState');
    assert.match(lines[1], /^\(m\) \.GetState done in \d+ ms$/);
  } finally {
    setDebugSink(undefined);
  }
});
