import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CLOUD_PLATFORM_SCOPE, COMPUTE_SCOPE, FakeGoogleOAuth, JWT_BEARER } from './oauth.js';

/**
 * The fake token endpoint refuses what Google's refuses, in Google's shape: a credential test
 * that passes against it would not pass by accident.
 */

let fake: FakeGoogleOAuth;
let dir: string;

before(async () => {
  fake = new FakeGoogleOAuth();
  await fake.start();
  dir = await mkdtemp(join(tmpdir(), 'dm-fake-oauth-'));
});

after(async () => {
  await fake.stop();
  await rm(dir, { recursive: true, force: true });
});

function b64(v: unknown): string {
  return Buffer.from(JSON.stringify(v)).toString('base64url');
}

function jwt(
  claims: Record<string, unknown>,
  o: { key?: string; header?: Record<string, unknown>; alg?: string } = {},
): string {
  const account = fake.accounts.values().next().value ?? fake.addServiceAccount();
  const header = o.header ?? { alg: o.alg ?? 'RS256', typ: 'JWT', kid: account.keyId };
  const unsigned = `${b64(header)}.${b64(claims)}`;
  const key = createPrivateKey(o.key ?? account.privateKeyPem);
  return `${unsigned}.${sign('RSA-SHA256', Buffer.from(unsigned), key).toString('base64url')}`;
}

function claims(more: Record<string, unknown> = {}): Record<string, unknown> {
  const account = fake.accounts.values().next().value ?? fake.addServiceAccount();
  const now = Math.floor(Date.now() / 1000);
  return { iss: account.email, aud: fake.tokenUri, scope: COMPUTE_SCOPE, iat: now, exp: now + 3600, ...more };
}

async function post(form: Record<string, string>, contentType = 'application/x-www-form-urlencoded') {
  const res = await fetch(fake.tokenUri, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

test('a well-formed assertion gets an opaque Bearer token with expires_in, which acceptToken knows', async () => {
  fake.expiresIn = 120;
  const r = await post({ grant_type: JWT_BEARER, assertion: jwt(claims()) });
  assert.equal(r.status, 200);
  assert.deepEqual(Object.keys(r.body).sort(), ['access_token', 'expires_in', 'token_type']);
  assert.equal(r.body.token_type, 'Bearer');
  assert.equal(r.body.expires_in, 120);
  const token = String(r.body.access_token);
  assert.ok(fake.acceptToken(token));
  const { acceptToken } = fake; // bound: handed to the Compute fake as it is
  assert.ok(acceptToken(token));
  assert.equal(acceptToken('ya29.never-issued'), false);
  fake.revoke(token);
  assert.equal(acceptToken(token), false);
  fake.expiresIn = 3599;
});

test('an expired token is no longer accepted', async () => {
  fake.expiresIn = 1;
  const r = await post({ grant_type: JWT_BEARER, assertion: jwt(claims()) });
  fake.expiresIn = 3599;
  const token = String(r.body.access_token);
  assert.ok(fake.acceptToken(token));
  await new Promise((res) => setTimeout(res, 1100));
  assert.equal(fake.acceptToken(token), false);
});

test("assertions Google refuses, with Google's error codes", async () => {
  const now = Math.floor(Date.now() / 1000);
  const { privateKey: otherKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const otherPem = otherKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const valid = jwt(claims());
  const cases: [string, string, number, string, RegExp][] = [
    [
      'another key signed it',
      jwt(claims(), { key: otherPem }),
      400,
      'invalid_grant',
      /Invalid JWT Signature/,
    ],
    ['the signature is cut', valid.slice(0, -4), 400, 'invalid_grant', /Invalid JWT Signature/],
    ['alg HS256', jwt(claims(), { alg: 'HS256' }), 400, 'invalid_grant', /Invalid JWT Signature/],
    [
      'unknown kid',
      jwt(claims(), { header: { alg: 'RS256', kid: 'nope' } }),
      400,
      'invalid_grant',
      /Signature/,
    ],
    [
      'unknown issuer',
      jwt(claims({ iss: 'who@x.iam.gserviceaccount.com' })),
      400,
      'invalid_grant',
      /not found/,
    ],
    [
      'wrong audience',
      jwt(claims({ aud: 'https://oauth2.googleapis.com/token' })),
      400,
      'invalid_grant',
      /audience/,
    ],
    ['longer than an hour', jwt(claims({ exp: now + 3700 })), 400, 'invalid_grant', /short-lived/],
    ['expired', jwt(claims({ iat: now - 7200, exp: now - 3600 })), 400, 'invalid_grant', /short-lived/],
    ['issued in the future', jwt(claims({ iat: now + 900, exp: now + 1800 })), 400, 'invalid_grant', /iat/],
    ['no scope', jwt(claims({ scope: undefined })), 400, 'invalid_scope', /scope/],
    ['unknown scope', jwt(claims({ scope: 'https://example.com/x' })), 400, 'invalid_scope', /scope/],
    ['not a JWT', 'abc', 400, 'invalid_request', /format/],
  ];
  for (const [what, assertion, status, error, desc] of cases) {
    const r = await post({ grant_type: JWT_BEARER, assertion });
    assert.equal(r.status, status, what);
    assert.equal(r.body.error, error, what);
    assert.match(String(r.body.error_description), desc, what);
    assert.equal(r.body.access_token, undefined, what);
  }
  // Two scopes it knows, space-separated: granted.
  const ok = await post({
    grant_type: JWT_BEARER,
    assertion: jwt(claims({ scope: `${COMPUTE_SCOPE} ${CLOUD_PLATFORM_SCOPE}` })),
  });
  assert.equal(ok.status, 200);
  assert.deepEqual(fake.issued(String(ok.body.access_token))?.scopes, [COMPUTE_SCOPE, CLOUD_PLATFORM_SCOPE]);
});

test('the refresh_token grant: 401 invalid_client for an unknown client or secret, 400 invalid_grant for a bad token', async () => {
  const u = fake.user;
  const form = { grant_type: 'refresh_token', client_id: u.clientId, client_secret: u.clientSecret };
  const good = await post({ ...form, refresh_token: u.refreshToken });
  assert.equal(good.status, 200);
  assert.equal(good.body.scope, CLOUD_PLATFORM_SCOPE);
  assert.ok(fake.acceptToken(String(good.body.access_token)));
  const unknownClient = await post({ ...form, client_id: 'other', refresh_token: u.refreshToken });
  assert.deepEqual(unknownClient, {
    status: 401,
    body: { error: 'invalid_client', error_description: 'The OAuth client was not found.' },
  });
  const badSecret = await post({ ...form, client_secret: 'x', refresh_token: u.refreshToken });
  assert.deepEqual(badSecret, {
    status: 401,
    body: { error: 'invalid_client', error_description: 'Unauthorized' },
  });
  const badToken = await post({ ...form, refresh_token: '1//revoked' });
  assert.deepEqual(badToken, {
    status: 400,
    body: { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' },
  });
});

test('what is not a token request: other grants, JSON bodies, other paths', async () => {
  const grant = await post({ grant_type: 'password', username: 'u', password: 'p' });
  assert.equal(grant.status, 400);
  assert.equal(grant.body.error, 'unsupported_grant_type');
  const json = await post({ grant_type: JWT_BEARER }, 'application/json');
  assert.equal(json.status, 400);
  assert.equal(json.body.error, 'invalid_request');
  const get = await fetch(fake.tokenUri);
  assert.equal(get.status, 405);
  await get.body?.cancel();
  const other = await fetch(`${fake.url}/oauth2/v4/token`, { method: 'POST' });
  assert.equal(other.status, 404);
  await other.body?.cancel();
  // Every request was recorded with its answer.
  const last = fake.requests.at(-1)!;
  assert.equal(last.path, '/oauth2/v4/token');
  assert.equal(last.status, 404);
});

test('failNext: the next token request gets the given error', async () => {
  fake.failNext(503, 'backend_error', 'Backend Error');
  const r = await post({ grant_type: JWT_BEARER, assertion: jwt(claims()) });
  assert.deepEqual(r, { status: 503, body: { error: 'backend_error', error_description: 'Backend Error' } });
  assert.equal((await post({ grant_type: JWT_BEARER, assertion: jwt(claims()) })).status, 200);
});

test('the key files it writes: 0600, pointing at the fake', async () => {
  const key = join(dir, 'sa.json');
  const account = await fake.writeServiceAccountKey(key);
  assert.equal((await stat(key)).mode & 0o777, 0o600);
  const doc = JSON.parse(await readFile(key, 'utf8'));
  assert.equal(doc.type, 'service_account');
  assert.equal(doc.client_email, account.email);
  assert.equal(doc.private_key_id, account.keyId);
  assert.equal(doc.token_uri, fake.tokenUri);
  assert.match(doc.private_key, /^-----BEGIN PRIVATE KEY-----\n/);

  const user = join(dir, 'adc.json');
  await fake.writeAuthorizedUser(user);
  assert.equal((await stat(user)).mode & 0o777, 0o600);
  const u = JSON.parse(await readFile(user, 'utf8'));
  assert.equal(u.type, 'authorized_user');
  assert.equal(u.token_uri, fake.tokenUri);
  assert.equal(JSON.parse(fake.authorizedUserJSON({ tokenUri: false })).token_uri, undefined);
});

test('the metadata server path: a token only with Metadata-Flavor: Google', async () => {
  const url = `${fake.url}/computeMetadata/v1/instance/service-accounts/default/token`;
  const bare = await fetch(url);
  assert.equal(bare.status, 403);
  await bare.body?.cancel();
  const res = await fetch(url, { headers: { 'metadata-flavor': 'Google' } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('metadata-flavor'), 'Google');
  const body = (await res.json()) as Record<string, unknown>;
  assert.equal(body.token_type, 'Bearer');
  assert.ok(fake.acceptToken(String(body.access_token)));
  const project = await fetch(`${fake.url}/computeMetadata/v1/project/project-id`, {
    headers: { 'metadata-flavor': 'Google' },
  });
  assert.equal(await project.text(), 'fake-gce-project');
});
