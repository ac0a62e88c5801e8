import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { instanceTypeName } from './flags.js';
import { exoscaleAuthorization, exoscaleMessage } from './sign.js';
import { machineState, sshUserFor } from './state.js';

test("the message to sign is the reference's example, segment for segment", () => {
  // The reference's GET /v2/resource/...?p1=v1&p2=v2: an empty body line and an empty header line.
  assert.equal(
    exoscaleMessage({
      method: 'GET',
      path: '/v2/resource/a02baf5a-a3e4-49a0-857b-8a08d276c1c0',
      body: '',
      queryValues: 'v1v2',
      expires: 1599140767,
    }),
    'GET /v2/resource/a02baf5a-a3e4-49a0-857b-8a08d276c1c0\n\nv1v2\n\n1599140767',
  );
  // Its security group example: the body, then empty query and header lines.
  assert.equal(
    exoscaleMessage({
      method: 'POST',
      path: '/v2/security-group',
      body: '{"name": "my-security-group"}',
      queryValues: '',
      expires: 1599140767,
    }),
    'POST /v2/security-group\n{"name": "my-security-group"}\n\n\n1599140767',
  );
});

test('the Authorization header: credential, the signed query names in order, expiry, base64 HMAC-SHA256', () => {
  const url = new URL('https://api-ch-gva-2.exoscale.com/v2/resource/x?p1=v1&p2=v2');
  const h = exoscaleAuthorization({
    key: 'EXOkey',
    secret: 'sekrit',
    method: 'GET',
    url,
    body: undefined,
    now: 1599140167_000,
  });
  const sig = createHmac('sha256', 'sekrit')
    .update('GET /v2/resource/x\n\nv1v2\n\n1599140767')
    .digest('base64');
  assert.equal(
    h,
    `EXO2-HMAC-SHA256 credential=EXOkey,signed-query-args=p1;p2,expires=1599140767,signature=${sig}`,
  );
  const plain = exoscaleAuthorization({
    key: 'EXOkey',
    secret: 'sekrit',
    method: 'POST',
    url: new URL('https://x/v2/ssh-key'),
    body: '{}',
    now: 0,
  });
  assert.match(plain, /^EXO2-HMAC-SHA256 credential=EXOkey,expires=600,signature=[A-Za-z0-9+/]+=*$/);
});

test("instance types: the original's names are the standard family's sizes", () => {
  assert.equal(instanceTypeName('Small'), 'standard.small');
  assert.equal(instanceTypeName('Extra-large'), 'standard.extra-large');
  assert.equal(instanceTypeName('gpu3.small'), 'gpu3.small');
  assert.equal(instanceTypeName('Bogus'), '');
});

test('states and the SSH user from a template name', () => {
  assert.equal(machineState('running'), 'Running');
  assert.equal(machineState('stopping'), 'Stopping');
  assert.equal(machineState('expunging'), 'Stopped');
  assert.equal(machineState('migrating'), 'Paused');
  assert.equal(machineState('error'), 'Error');
  assert.equal(sshUserFor('Linux RedHat 9 64-bit'), 'cloud-user');
  assert.equal(sshUserFor('Linux CoreOS stable'), 'core');
  assert.equal(sshUserFor('OpenBSD 7'), 'root');
});
