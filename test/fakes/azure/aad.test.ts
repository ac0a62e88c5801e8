import assert from 'node:assert/strict';
import { createHash, sign } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeTestCA } from '../../helpers/test-ca.js';
import { AZURE_CLI_CLIENT_ID, FakeAzureAD } from './aad.js';

/** The fake itself: Azure AD's shapes and refusals, as the driver's credential tests rely on them. */

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const APP = 'a1b2c3d4-0000-4000-8000-00000000000a';
const CERT_APP = 'a1b2c3d4-0000-4000-8000-00000000000c';

let aad: FakeAzureAD;
let ca: Buffer;
let dir = '';
let key = '';

async function call(
  method: string,
  path: string,
  form?: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const url = new URL(path, aad.url);
  const payload = form ? new URLSearchParams(form).toString() : undefined;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        ca,
        headers: payload ? { 'content-type': 'application/x-www-form-urlencoded' } : {},
      },
      (res) => {
        let text = '';
        res.on('data', (c) => {
          text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

function assertAADError(body: Record<string, unknown>, error: string, aadsts: number): void {
  assert.equal(body.error, error);
  assert.match(
    String(body.error_description),
    new RegExp(
      `^AADSTS${aadsts}: .+\\r\\nTrace ID: [0-9a-f-]{36}\\r\\nCorrelation ID: [0-9a-f-]{36}\\r\\nTimestamp: \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ$`,
    ),
  );
  assert.deepEqual(body.error_codes, [aadsts]);
  assert.match(String(body.timestamp), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/);
  assert.match(String(body.trace_id), /^[0-9a-f-]{36}$/);
  assert.match(String(body.correlation_id), /^[0-9a-f-]{36}$/);
}

function assertion(aud: string, der: Buffer, iss = CERT_APP, signWith = key): string {
  const b = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const head = b({
    alg: 'RS256',
    typ: 'JWT',
    'x5t#S256': createHash('sha256').update(der).digest('base64url'),
  });
  const body = b({ aud, iss, sub: iss, jti: 'x', nbf: now, exp: now + 600 });
  return `${head}.${body}.${sign('RSA-SHA256', Buffer.from(`${head}.${body}`), signWith).toString('base64url')}`;
}

before(async () => {
  aad = new FakeAzureAD({ interval: 1 });
  await aad.start();
  ca = await readFile(aad.caPath);
  aad.addTenant(TENANT);
  aad.registerApp({ clientId: APP, tenant: TENANT, secret: 's3cret-value' });
  aad.registerApp({ clientId: AZURE_CLI_CLIENT_ID, publicClient: true });
  dir = await mkdtemp(join(tmpdir(), 'fake-aad-test-'));
  await makeTestCA(dir, 'app');
  await makeTestCA(dir, 'other');
  key = await readFile(join(dir, 'app', 'key.pem'), 'utf8');
  aad.registerApp({
    clientId: CERT_APP,
    tenant: TENANT,
    certificatePem: await readFile(join(dir, 'app', 'cert.pem'), 'utf8'),
  });
});

after(async () => {
  await aad.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('fake Azure AD', () => {
  it('describes each tenant at its OpenID configuration, and refuses an unknown tenant as Azure AD does', async () => {
    const ok = await call('GET', `${TENANT}/v2.0/.well-known/openid-configuration`);
    assert.equal(ok.status, 200);
    assert.equal(ok.body.token_endpoint, `${aad.url}${TENANT}/oauth2/v2.0/token`);
    assert.equal(ok.body.device_authorization_endpoint, `${aad.url}${TENANT}/oauth2/v2.0/devicecode`);
    assert.equal(ok.body.issuer, `${aad.url}${TENANT}/v2.0`);
    const bad = await call('GET', 'nobody.onmicrosoft.com/v2.0/.well-known/openid-configuration');
    assert.equal(bad.status, 400);
    assertAADError(bad.body, 'invalid_request', 90002);
  });

  it('issues client-credentials tokens for the right secret only, and knows the tokens it issued', async () => {
    const form = {
      grant_type: 'client_credentials',
      client_id: APP,
      scope: 'https://management.azure.com/.default',
    };
    const ok = await call('POST', `${TENANT}/oauth2/v2.0/token`, { ...form, client_secret: 's3cret-value' });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.token_type, 'Bearer');
    assert.equal(ok.body.expires_in, 3599);
    assert.equal(ok.body.refresh_token, undefined);
    const token = String(ok.body.access_token);
    assert.ok(aad.acceptToken(token));
    assert.equal(aad.issued(token)?.scope, 'https://management.azure.com/.default');
    assert.equal(aad.acceptToken('made-up'), false);

    const wrong = await call('POST', `${TENANT}/oauth2/v2.0/token`, { ...form, client_secret: 'nope' });
    assert.equal(wrong.status, 401);
    assertAADError(wrong.body, 'invalid_client', 7000215);
    const unknown = await call('POST', `${TENANT}/oauth2/v2.0/token`, {
      ...form,
      client_id: CERT_APP.replace('c', 'e'),
      client_secret: 'x',
    });
    assertAADError(unknown.body, 'unauthorized_client', 700016);
    const scope = await call('POST', `${TENANT}/oauth2/v2.0/token`, {
      ...form,
      scope: 'https://management.azure.com/user_impersonation',
      client_secret: 's3cret-value',
    });
    assertAADError(scope.body, 'invalid_scope', 1002012);
  });

  it('expires its tokens after tokenLifetimeSec', async () => {
    aad.opts.tokenLifetimeSec = 1;
    try {
      const r = await call('POST', `${TENANT}/oauth2/v2.0/token`, {
        grant_type: 'client_credentials',
        client_id: APP,
        client_secret: 's3cret-value',
        scope: 'https://management.azure.com/.default',
      });
      assert.equal(r.body.expires_in, 1);
      assert.ok(aad.acceptToken(String(r.body.access_token)));
      await new Promise((res) => setTimeout(res, 1100));
      assert.equal(aad.acceptToken(String(r.body.access_token)), false);
    } finally {
      aad.opts.tokenLifetimeSec = 3599;
    }
  });

  it("checks a client assertion: the registered certificate's key, the token endpoint as audience", async () => {
    const der = Buffer.from(
      (await readFile(join(dir, 'app', 'cert.pem'), 'utf8')).replace(/-----[A-Z ]+-----|\s/g, ''),
      'base64',
    );
    const endpoint = `${aad.url}${TENANT}/oauth2/v2.0/token`;
    const form = (a: string) => ({
      grant_type: 'client_credentials',
      client_id: CERT_APP,
      scope: 'https://management.azure.com/.default',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: a,
    });
    assert.equal(
      (await call('POST', `${TENANT}/oauth2/v2.0/token`, form(assertion(endpoint, der)))).status,
      200,
    );
    const otherKey = await readFile(join(dir, 'other', 'key.pem'), 'utf8');
    const forged = await call(
      'POST',
      `${TENANT}/oauth2/v2.0/token`,
      form(assertion(endpoint, der, CERT_APP, otherKey)),
    );
    assertAADError(forged.body, 'invalid_client', 700027);
    const elsewhere = await call(
      'POST',
      `${TENANT}/oauth2/v2.0/token`,
      form(assertion('https://login.example/x', der)),
    );
    assertAADError(elsewhere.body, 'invalid_client', 700212);
  });

  it('runs a device code from pending to approved, once, with a refresh token that can be revoked', async () => {
    const scope = 'https://management.azure.com/.default offline_access';
    const dc = await call('POST', `${TENANT}/oauth2/v2.0/devicecode`, {
      client_id: AZURE_CLI_CLIENT_ID,
      scope,
    });
    assert.equal(dc.status, 200);
    assert.equal(dc.body.verification_uri, 'https://microsoft.com/devicelogin');
    assert.equal(dc.body.interval, 1);
    assert.equal(dc.body.expires_in, 900);
    assert.match(String(dc.body.message), new RegExp(`enter the code ${dc.body.user_code} `));
    assert.deepEqual(aad.pendingUserCodes().slice(-1), [dc.body.user_code]);
    const poll = {
      grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
      client_id: AZURE_CLI_CLIENT_ID,
      device_code: String(dc.body.device_code),
    };
    assertAADError(
      (await call('POST', `${TENANT}/oauth2/v2.0/token`, poll)).body,
      'authorization_pending',
      70016,
    );
    aad.approve(String(dc.body.user_code));
    const ok = await call('POST', `${TENANT}/oauth2/v2.0/token`, poll);
    assert.equal(ok.status, 200);
    assert.equal(ok.body.scope, 'https://management.azure.com/.default');
    assert.equal(aad.issued(String(ok.body.access_token))?.grant, 'device_code');
    assertAADError((await call('POST', `${TENANT}/oauth2/v2.0/token`, poll)).body, 'invalid_grant', 70000);

    const refresh = {
      grant_type: 'refresh_token',
      client_id: AZURE_CLI_CLIENT_ID,
      refresh_token: String(ok.body.refresh_token),
      scope,
    };
    const renewed = await call('POST', `${TENANT}/oauth2/v2.0/token`, refresh);
    assert.equal(aad.issued(String(renewed.body.access_token))?.grant, 'refresh_token');
    aad.revokeRefreshTokens();
    assertAADError(
      (await call('POST', `${TENANT}/oauth2/v2.0/token`, refresh)).body,
      'invalid_grant',
      700082,
    );
  });

  it('answers a declined, an expired and a too-eager device code as Azure AD does', async () => {
    const scope = 'https://management.azure.com/.default';
    const start = async () =>
      (await call('POST', `${TENANT}/oauth2/v2.0/devicecode`, { client_id: AZURE_CLI_CLIENT_ID, scope }))
        .body;
    const poll = (d: Record<string, unknown>) =>
      call('POST', `${TENANT}/oauth2/v2.0/token`, {
        grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
        client_id: AZURE_CLI_CLIENT_ID,
        device_code: String(d.device_code),
      });
    const declined = await start();
    aad.deny(String(declined.user_code));
    assertAADError((await poll(declined)).body, 'authorization_declined', 70000);

    aad.opts.deviceCodeLifetimeSec = 0;
    const expired = await start();
    aad.opts.deviceCodeLifetimeSec = 900;
    assertAADError((await poll(expired)).body, 'expired_token', 70019);

    aad.opts.enforceInterval = true;
    try {
      const eager = await start();
      assertAADError((await poll(eager)).body, 'authorization_pending', 70016);
      assertAADError((await poll(eager)).body, 'slow_down', 70016);
    } finally {
      aad.opts.enforceInterval = false;
    }
  });
});
