import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, test } from 'node:test';
import { COMPUTE_SCOPE, FakeGoogleOAuth, JWT_BEARER } from '../../../../test/fakes/google/oauth.js';
import { makeTestCA } from '../../../../test/helpers/test-ca.js';
import { generateServerCert } from '../../../cert/server.js';
import { redact, setDebugSink } from '../../../debug.js';
import { MachineError } from '../../../errors.js';
import { metadataHost, onGCE } from './gce.js';
import { type GoogleAuthOptions, type GoogleTokenSource, googleTokenSource } from './index.js';
import { GOOGLE_TOKEN_URI, parseCredentialJSON } from './key-file.js';

let fake: FakeGoogleOAuth;
let dir: string;
let home: string;
let notGCE: string;

before(async () => {
  fake = new FakeGoogleOAuth();
  await fake.start();
  dir = await mkdtemp(join(tmpdir(), 'dm-gauth-'));
  // Every test says which machine this is: none may take the metadata step by accident.
  notGCE = join(dir, 'product_name-pc');
  await writeFile(notGCE, 'Standard PC (Q35 + ICH9, 2009)\n');
});

after(async () => {
  await fake.stop();
  await rm(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  fake.expiresIn = 3599;
  home = await mkdtemp(join(dir, 'home-'));
});

function opts(env: NodeJS.ProcessEnv, more: Partial<GoogleAuthOptions> = {}): GoogleAuthOptions {
  return { env, home, scopes: [COMPUTE_SCOPE], productFile: notGCE, debug: () => {}, ...more };
}

/** The one-line MachineError a promise rejects with. */
async function oneLine(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => assert.fail('expected an error'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof MachineError, `not a MachineError: ${err}`);
  assert.ok(!err.message.includes('\n'), `more than one line: ${err.message}`);
  return err.message;
}

function claimsOf(assertion: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(assertion.split('.')[1], 'base64url').toString('utf8'));
}

test('GOOGLE_APPLICATION_CREDENTIALS with a service-account key: a signed JWT exchanged at its token_uri', async () => {
  const key = join(dir, 'sa.json');
  const account = await fake.writeServiceAccountKey(key);
  assert.equal((await stat(key)).mode & 0o777, 0o600);
  const before = fake.tokenRequests().length;
  const src = await googleTokenSource(opts({ GOOGLE_APPLICATION_CREDENTIALS: key }));
  // Finding the credential reads the file only.
  assert.equal(fake.tokenRequests().length, before);
  assert.match(src.describe, /GOOGLE_APPLICATION_CREDENTIALS \(.*sa\.json\)/);
  assert.ok(src.describe.includes(account.email));
  assert.equal(src.projectId, 'fake-project');

  const token = await src.token();
  assert.ok(fake.acceptToken(token));
  assert.deepEqual(fake.issued(token)?.scopes, [COMPUTE_SCOPE]);
  assert.equal(fake.issued(token)?.source, `service_account:${account.email}`);
  const reqs = fake.tokenRequests().slice(before);
  assert.equal(reqs.length, 1);
  assert.equal(reqs[0].status, 200);
  assert.equal(reqs[0].headers['content-type'], 'application/x-www-form-urlencoded');
  assert.equal(reqs[0].form.grant_type, JWT_BEARER);
  const header = JSON.parse(Buffer.from(reqs[0].form.assertion.split('.')[0], 'base64url').toString());
  assert.deepEqual(header, { alg: 'RS256', typ: 'JWT', kid: account.keyId });
  const c = claimsOf(reqs[0].form.assertion);
  assert.equal(c.iss, account.email);
  assert.equal(c.aud, fake.tokenUri);
  assert.equal(c.scope, COMPUTE_SCOPE);
  assert.equal(Number(c.exp) - Number(c.iat), 3600);
  assert.ok(Math.abs(Number(c.iat) - Date.now() / 1000) < 5);

  // Kept: the second call asks nobody.
  assert.equal(await src.token(), token);
  assert.equal(fake.tokenRequests().length, before + 1);
});

test('several scopes travel space-separated in the assertion', async () => {
  const key = join(dir, 'sa-scopes.json');
  await fake.writeServiceAccountKey(key);
  const scopes = [COMPUTE_SCOPE, 'https://www.googleapis.com/auth/cloud-platform'];
  const src = await googleTokenSource(opts({ GOOGLE_APPLICATION_CREDENTIALS: key }, { scopes }));
  const token = await src.token();
  assert.deepEqual(fake.issued(token)?.scopes, scopes);
  assert.equal(claimsOf(fake.tokenRequests().at(-1)!.form.assertion).scope, scopes.join(' '));
});

test('a token is renewed a minute before it expires, not before', async () => {
  const key = join(dir, 'sa-renew.json');
  await fake.writeServiceAccountKey(key);
  fake.expiresIn = 300;
  let clock = Date.now();
  const src = await googleTokenSource(opts({ GOOGLE_APPLICATION_CREDENTIALS: key }, { now: () => clock }));
  const first = await src.token();
  const n = fake.tokenRequests().length;
  clock += 239_000; // 61 s left
  assert.equal(await src.token(), first);
  assert.equal(fake.tokenRequests().length, n);
  clock += 2_000; // 59 s left
  const second = await src.token();
  assert.notEqual(second, first);
  assert.equal(fake.tokenRequests().length, n + 1);
  assert.ok(fake.acceptToken(second));
});

test('with the real clock: a short-lived token is fetched again once it is within the minute', async () => {
  const key = join(dir, 'sa-short.json');
  await fake.writeServiceAccountKey(key);
  fake.expiresIn = 61;
  const src = await googleTokenSource(opts({ GOOGLE_APPLICATION_CREDENTIALS: key }));
  const first = await src.token();
  assert.equal(await src.token(), first);
  await new Promise((r) => setTimeout(r, 1100));
  const second = await src.token();
  assert.notEqual(second, first);
});

test('invalidate() drops the token: the next call mints a new one (the 401-then-retry path)', async () => {
  const key = join(dir, 'sa-inval.json');
  await fake.writeServiceAccountKey(key);
  const src = await googleTokenSource(opts({ GOOGLE_APPLICATION_CREDENTIALS: key }));
  const first = await src.token();
  fake.revoke(first);
  assert.equal(fake.acceptToken(first), false);
  src.invalidate();
  const second = await src.token();
  assert.notEqual(second, first);
  assert.ok(fake.acceptToken(second));
});

test('callers asking at once share one token request', async () => {
  const key = join(dir, 'sa-shared.json');
  await fake.writeServiceAccountKey(key);
  const src = await googleTokenSource(opts({ GOOGLE_APPLICATION_CREDENTIALS: key }));
  const n = fake.tokenRequests().length;
  const tokens = await Promise.all([src.token(), src.token(), src.token()]);
  assert.equal(new Set(tokens).size, 1);
  assert.equal(fake.tokenRequests().length, n + 1);
});

test('a 503 from the token endpoint is asked again', async () => {
  const key = join(dir, 'sa-503.json');
  await fake.writeServiceAccountKey(key);
  const src = await googleTokenSource(opts({ GOOGLE_APPLICATION_CREDENTIALS: key }));
  fake.failNext(503, 'backend_error', 'Backend Error');
  const n = fake.tokenRequests().length;
  assert.ok(fake.acceptToken(await src.token()));
  assert.deepEqual(
    fake
      .tokenRequests()
      .slice(n)
      .map((r) => r.status),
    [503, 200],
  );
});

test('GOOGLE_APPLICATION_CREDENTIALS with an authorized_user file: the refresh_token grant', async () => {
  const file = join(dir, 'user.json');
  await fake.writeAuthorizedUser(file);
  const src = await googleTokenSource(opts({ GOOGLE_APPLICATION_CREDENTIALS: file }));
  assert.equal(src.projectId, undefined);
  assert.match(src.describe, /^the user credentials in GOOGLE_APPLICATION_CREDENTIALS \(.*user\.json\)$/);
  const token = await src.token();
  assert.ok(fake.acceptToken(token));
  assert.equal(fake.issued(token)?.source, `authorized_user:${fake.user.clientId}`);
  const form = fake.tokenRequests().at(-1)!.form;
  assert.deepEqual(form, {
    grant_type: 'refresh_token',
    client_id: fake.user.clientId,
    client_secret: fake.user.clientSecret,
    refresh_token: fake.user.refreshToken,
  });
});

test("gcloud's application-default credentials under HOME, and under CLOUDSDK_CONFIG", async () => {
  const gcloud = join(home, '.config', 'gcloud');
  await mkdir(gcloud, { recursive: true });
  await fake.writeAuthorizedUser(join(gcloud, 'application_default_credentials.json'));
  const src = await googleTokenSource(opts({}));
  assert.ok(src.describe.includes(join(gcloud, 'application_default_credentials.json')), src.describe);
  assert.ok(fake.acceptToken(await src.token()));

  const other = join(home, 'sdk-config');
  await mkdir(other);
  const key = join(other, 'application_default_credentials.json');
  await fake.writeServiceAccountKey(key);
  const viaConfig = await googleTokenSource(opts({ CLOUDSDK_CONFIG: other }));
  assert.ok(viaConfig.describe.includes(key), viaConfig.describe);
  assert.equal(viaConfig.projectId, 'fake-project');
  const token = await viaConfig.token();
  assert.match(fake.issued(token)?.source ?? '', /^service_account:/);
});

test("an authorized_user file without token_uri (as gcloud writes it) uses Google's endpoint", () => {
  const cred = parseCredentialJSON(fake.authorizedUserJSON({ tokenUri: false }), 'the file');
  assert.equal(cred.tokenUri, GOOGLE_TOKEN_URI);
  assert.equal(GOOGLE_TOKEN_URI, 'https://oauth2.googleapis.com/token');
});

test('--google-auth-encoded-json and GOOGLE_AUTH_ENCODED_JSON: base64 of a key JSON', async () => {
  const b64 = Buffer.from(fake.serviceAccountKeyJSON()).toString('base64');
  const src = await googleTokenSource(opts({}, { encodedJson: b64 }));
  assert.match(src.describe, /^the service-account key of .* in --google-auth-encoded-json$/);
  assert.equal(src.projectId, 'fake-project');
  assert.ok(fake.acceptToken(await src.token()));

  // base64 -w76 breaks lines; the variable works as the flag does.
  const wrapped = b64.replace(/(.{76})/g, '$1\n');
  const viaEnv = await googleTokenSource(opts({ GOOGLE_AUTH_ENCODED_JSON: wrapped }));
  assert.match(viaEnv.describe, / in GOOGLE_AUTH_ENCODED_JSON$/);
  assert.ok(fake.acceptToken(await viaEnv.token()));
});

test('GOOGLE_OAUTH_ACCESS_TOKEN is used as it is, never refreshed; once refused, one line says so', async () => {
  const n = fake.requests.length;
  const src = await googleTokenSource(opts({ GOOGLE_OAUTH_ACCESS_TOKEN: 'ya29.from-the-environment' }));
  assert.equal(src.describe, 'GOOGLE_OAUTH_ACCESS_TOKEN');
  assert.equal(await src.token(), 'ya29.from-the-environment');
  assert.equal(await src.token(), 'ya29.from-the-environment');
  assert.equal(fake.requests.length, n, 'no token request for a given token');
  src.invalidate();
  const msg = await oneLine(src.token());
  assert.match(msg, /GOOGLE_OAUTH_ACCESS_TOKEN/);
  assert.ok(!msg.includes('ya29.from-the-environment'));
});

test('the order: encoded JSON, key file, env token, GOOGLE_APPLICATION_CREDENTIALS, gcloud ADC, metadata', async () => {
  const key = join(dir, 'order-sa.json');
  await fake.writeServiceAccountKey(key);
  const gcloud = join(home, '.config', 'gcloud');
  await mkdir(gcloud, { recursive: true });
  await fake.writeAuthorizedUser(join(gcloud, 'application_default_credentials.json'));
  const onGCEFile = join(dir, 'product_name-gce');
  await writeFile(onGCEFile, 'Google Compute Engine\n');
  const all: NodeJS.ProcessEnv = {
    GOOGLE_AUTH_ENCODED_JSON: Buffer.from(fake.serviceAccountKeyJSON()).toString('base64'),
    GOOGLE_OAUTH_ACCESS_TOKEN: 'ya29.env',
    GOOGLE_APPLICATION_CREDENTIALS: key,
  };
  const describe = async (env: NodeJS.ProcessEnv, more: Partial<GoogleAuthOptions> = {}) =>
    (await googleTokenSource(opts(env, { productFile: onGCEFile, ...more }))).describe;
  assert.match(await describe(all, { keyFile: key }), / in GOOGLE_AUTH_ENCODED_JSON$/);
  const { GOOGLE_AUTH_ENCODED_JSON: _e, ...noEncoded } = all;
  assert.match(await describe(noEncoded, { keyFile: key }), / in the key file /);
  assert.equal(await describe(noEncoded), 'GOOGLE_OAUTH_ACCESS_TOKEN');
  const { GOOGLE_OAUTH_ACCESS_TOKEN: _t, ...noToken } = noEncoded;
  assert.match(await describe(noToken), / in GOOGLE_APPLICATION_CREDENTIALS /);
  assert.match(await describe({}), /^the user credentials in gcloud's application-default credentials /);
  await rm(gcloud, { recursive: true });
  assert.match(await describe({}), /^the GCE metadata server \(this VM's service account\)/);
});

test('bad key files: one line naming the file and the problem, never the key', async () => {
  const account = fake.addServiceAccount('bad-inputs');
  const pemBody = account.privateKeyPem.split('\n')[1];
  const write = async (name: string, text: string) => {
    const p = join(dir, name);
    await writeFile(p, text, { mode: 0o600 });
    return p;
  };
  const good = JSON.parse(fake.serviceAccountKeyJSON(account));
  const cases: [string, string, RegExp][] = [
    ['not-json.json', `${account.privateKeyPem}\n`, /not-json\.json\) is not JSON/],
    ['array.json', '[1]', /array\.json\) is not a JSON object/],
    ['no-key.json', JSON.stringify({ ...good, private_key: undefined }), /no-key\.json\) has no private_key/],
    [
      'bad-pem.json',
      JSON.stringify({ ...good, private_key: `${account.privateKeyPem.slice(0, 200)}garbage` }),
      /bad-pem\.json\): its private_key is not a PEM private key/,
    ],
    [
      'external.json',
      JSON.stringify({ type: 'external_account', audience: 'x', credential_source: { file: '/t' } }),
      /external\.json\) is of type "external_account", which this driver does not support/,
    ],
    ['no-type.json', JSON.stringify({ ...good, type: undefined }), /no-type\.json\) has no "type"/],
    [
      'no-refresh.json',
      JSON.stringify({ type: 'authorized_user', client_id: 'a', client_secret: 'b' }),
      /no-refresh\.json\) has no refresh_token/,
    ],
    ['bad-uri.json', JSON.stringify({ ...good, token_uri: 'not a url' }), /bad-uri\.json\) has a token_uri/],
  ];
  for (const [name, text, want] of cases) {
    const p = await write(name, text);
    const msg = await oneLine(googleTokenSource(opts({ GOOGLE_APPLICATION_CREDENTIALS: p })));
    assert.match(msg, want);
    assert.ok(!msg.includes(pemBody), `${name}: the key is in the message`);
  }
  const missing = await oneLine(
    googleTokenSource(opts({ GOOGLE_APPLICATION_CREDENTIALS: join(dir, 'nowhere.json') })),
  );
  assert.match(
    missing,
    /^GOOGLE_APPLICATION_CREDENTIALS names .*nowhere\.json, which cannot be read: no such file/,
  );

  const noKeyFile = await oneLine(googleTokenSource(opts({}, { keyFile: join(dir, 'gone.json') })));
  assert.match(noKeyFile, /^the Google key file .*gone\.json cannot be read: no such file or directory$/);

  const notB64 = await oneLine(googleTokenSource(opts({}, { encodedJson: 'this is not base64!' })));
  assert.equal(
    notB64,
    '--google-auth-encoded-json is not base64; give the key JSON encoded with base64 -w0 key.json',
  );
  const b64NotJson = await oneLine(
    googleTokenSource(opts({ GOOGLE_AUTH_ENCODED_JSON: Buffer.from(pemBody).toString('base64') })),
  );
  assert.match(b64NotJson, /^GOOGLE_AUTH_ENCODED_JSON is not JSON/);
  assert.ok(!b64NotJson.includes(pemBody));

  // A broken ADC file is an error, not a reason to go on to the metadata server.
  const gcloud = join(home, '.config', 'gcloud');
  await mkdir(gcloud, { recursive: true });
  await writeFile(
    join(gcloud, 'application_default_credentials.json'),
    '{"type": "impersonated_service_account"}',
  );
  assert.match(
    await oneLine(googleTokenSource(opts({}))),
    /application-default credentials .* is of type "impersonated_service_account"/,
  );
});

test('no credentials anywhere: one line naming every place looked and what to do', async () => {
  const msg = await oneLine(googleTokenSource(opts({})));
  for (const place of [
    '--google-auth-encoded-json',
    'GOOGLE_AUTH_ENCODED_JSON',
    'GOOGLE_OAUTH_ACCESS_TOKEN',
    'GOOGLE_APPLICATION_CREDENTIALS',
    join(home, '.config', 'gcloud', 'application_default_credentials.json'),
    'GCE metadata server (not on GCE)',
    'gcloud auth application-default login',
    'GOOGLE_APPLICATION_CREDENTIALS=key.json',
  ]) {
    assert.ok(msg.includes(place), `${place} missing from: ${msg}`);
  }
});

test("the token endpoint's refusal: one line naming the credential's source, not its contents", async () => {
  // A key whose id the endpoint does not know (deleted in the console): invalid_grant.
  const account = fake.addServiceAccount('deleted-key');
  const key = join(dir, 'deleted.json');
  await writeFile(
    key,
    JSON.stringify({ ...JSON.parse(fake.serviceAccountKeyJSON(account)), private_key_id: 'gone' }),
  );
  const sa = await googleTokenSource(opts({ GOOGLE_APPLICATION_CREDENTIALS: key }));
  const saMsg = await oneLine(sa.token());
  assert.match(
    saMsg,
    /^Google refused the service-account key of deleted-key@.* in GOOGLE_APPLICATION_CREDENTIALS \(.*deleted\.json\) at the token endpoint http:\/\/127\.0\.0\.1:\d+\/token: invalid_grant: Invalid JWT Signature\. \(HTTP 400\); check that the key of deleted-key@/,
  );

  const user = join(dir, 'user-revoked.json');
  await writeFile(
    user,
    JSON.stringify({ ...JSON.parse(fake.authorizedUserJSON()), refresh_token: '1//revoked' }),
  );
  const revoked = await oneLine(
    (await googleTokenSource(opts({ GOOGLE_APPLICATION_CREDENTIALS: user }))).token(),
  );
  assert.match(
    revoked,
    /^Google refused the user credentials in GOOGLE_APPLICATION_CREDENTIALS \(.*user-revoked\.json\) at .*invalid_grant: Token has been expired or revoked\. \(HTTP 400\); run `gcloud auth application-default login` again$/,
  );
  assert.ok(!revoked.includes('1//revoked'));

  const client = join(dir, 'user-bad-client.json');
  await writeFile(
    client,
    JSON.stringify({ ...JSON.parse(fake.authorizedUserJSON()), client_secret: 'wrong-secret' }),
  );
  const badClient = await oneLine(
    (await googleTokenSource(opts({ GOOGLE_APPLICATION_CREDENTIALS: client }))).token(),
  );
  assert.match(badClient, /invalid_client: Unauthorized \(HTTP 401\)/);
  assert.ok(!badClient.includes('wrong-secret'));

  // An answer without a token is not taken for one.
  const okKey = join(dir, 'ok-sa.json');
  await fake.writeServiceAccountKey(okKey);
  fake.failNext(200, 'weird', 'no token here');
  const empty = await oneLine(
    (await googleTokenSource(opts({ GOOGLE_APPLICATION_CREDENTIALS: okKey }))).token(),
  );
  assert.match(
    empty,
    /ok-sa\.json\): the token endpoint http:\/\/127\.0\.0\.1:\d+\/token answered without an access_token$/,
  );

  // A token endpoint that is not there: one line, naming the source.
  const dead = join(dir, 'dead-endpoint.json');
  await writeFile(
    dead,
    JSON.stringify({ ...JSON.parse(fake.authorizedUserJSON()), token_uri: 'http://127.0.0.1:9/token' }),
  );
  const unreachable = await oneLine(
    (await googleTokenSource(opts({ GOOGLE_APPLICATION_CREDENTIALS: dead }))).token(),
  );
  assert.match(
    unreachable,
    /^cannot get a Google access token for the user credentials in GOOGLE_APPLICATION_CREDENTIALS \(.*dead-endpoint\.json\): .*127\.0\.0\.1:9 could not be reached/,
  );
});

test('an HTTPS token endpoint is checked against the trust store, NODE_EXTRA_CA_CERTS included', async () => {
  const tlsDir = await mkdtemp(join(dir, 'tls-'));
  await makeTestCA(tlsDir, 'ca');
  await generateServerCert({
    caCertPath: join(tlsDir, 'ca', 'ca.pem'),
    caKeyPath: join(tlsDir, 'ca', 'ca-key.pem'),
    certPath: join(tlsDir, 'server.pem'),
    keyPath: join(tlsDir, 'server-key.pem'),
    org: 'test',
    hosts: ['127.0.0.1'],
  });
  const tlsFake = new FakeGoogleOAuth({
    tls: {
      cert: await readFile(join(tlsDir, 'server.pem')),
      key: await readFile(join(tlsDir, 'server-key.pem')),
    },
  });
  await tlsFake.start();
  try {
    assert.match(tlsFake.tokenUri, /^https:\/\/127\.0\.0\.1:\d+\/token$/);
    const key = join(tlsDir, 'sa.json');
    await tlsFake.writeServiceAccountKey(key);
    const trusted = await googleTokenSource(
      opts({ GOOGLE_APPLICATION_CREDENTIALS: key, NODE_EXTRA_CA_CERTS: join(tlsDir, 'ca', 'ca.pem') }),
    );
    assert.ok(tlsFake.acceptToken(await trusted.token()));
    const strict = await googleTokenSource(opts({ GOOGLE_APPLICATION_CREDENTIALS: key }));
    const msg = await oneLine(strict.token());
    assert.match(
      msg,
      /^cannot get a Google access token for the service-account key .*sa\.json\): .*certificate/,
    );
  } finally {
    await tlsFake.stop();
  }
});

test('the metadata-server decision: GCE_METADATA_HOST, else the DMI product name; no packet either way', async () => {
  const gce = join(dir, 'product_name-gce2');
  await writeFile(gce, 'Google Compute Engine\n');
  const pc = join(dir, 'product_name-pc2');
  await writeFile(pc, 'Standard PC (i440FX + PIIX, 1996)\n');
  assert.equal(onGCE(gce), true);
  assert.equal(onGCE(pc), false);
  assert.equal(onGCE(join(dir, 'no-such-file')), false);
  assert.equal(metadataHost({}, gce), '169.254.169.254');
  assert.equal(metadataHost({}, pc), undefined);
  assert.equal(metadataHost({}, join(dir, 'no-such-file')), undefined);
  assert.equal(metadataHost({ GCE_METADATA_HOST: '127.0.0.1:8080' }, pc), '127.0.0.1:8080');

  // Every socket this process opens meanwhile is seen here: finding credentials opens none.
  const sockets: unknown[] = [];
  const onSocket = (s: unknown) => sockets.push(s);
  subscribe('net.client.socket', onSocket);
  try {
    const msg = await oneLine(googleTokenSource(opts({}, { productFile: pc })));
    assert.match(msg, /GCE metadata server \(not on GCE\)/);
    const onVM = await googleTokenSource(opts({}, { productFile: gce }));
    assert.equal(onVM.describe, "the GCE metadata server (this VM's service account)");
  } finally {
    unsubscribe('net.client.socket', onSocket);
  }
  assert.equal(sockets.length, 0);
});

test('the metadata server (GCE_METADATA_HOST at the fake): a token asked with Metadata-Flavor: Google, never proxied', async () => {
  const n = fake.requests.length;
  const src = await googleTokenSource(
    opts({
      GCE_METADATA_HOST: fake.metadataHost,
      HTTP_PROXY: 'http://127.0.0.1:9',
      http_proxy: 'http://127.0.0.1:9',
    }),
  );
  assert.equal(src.describe, `the GCE metadata server (GCE_METADATA_HOST=${fake.metadataHost})`);
  const token = await src.token();
  assert.equal(fake.issued(token)?.source, 'metadata');
  const reqs = fake.requests.slice(n);
  assert.equal(reqs.length, 1);
  assert.equal(reqs[0].path, '/computeMetadata/v1/instance/service-accounts/default/token');
  assert.equal(reqs[0].headers['metadata-flavor'], 'Google');
  assert.equal(await src.token(), token);
});

test('secrets are never logged with debug on: key, assertion, refresh token, client secret, access tokens', async () => {
  const account = fake.addServiceAccount('debug-check');
  const key = join(dir, 'debug-sa.json');
  await fake.writeServiceAccountKey(key, account);
  const user = join(dir, 'debug-user.json');
  await fake.writeAuthorizedUser(user);
  const raw: string[] = []; // what this module writes, before any redaction
  const sink: string[] = []; // the process's debug log
  setDebugSink((l) => sink.push(l));
  const tokens: string[] = [];
  try {
    for (const env of [{ GOOGLE_APPLICATION_CREDENTIALS: key }, { GOOGLE_APPLICATION_CREDENTIALS: user }]) {
      // Once through the driver's debug function, once through the process's debug log.
      for (const debug of [(l: string) => raw.push(l), undefined]) {
        const src: GoogleTokenSource = await googleTokenSource(opts(env, { debug }));
        tokens.push(await src.token());
        src.invalidate();
        tokens.push(await src.token());
      }
    }
    const envSrc = await googleTokenSource(
      opts({ GOOGLE_OAUTH_ACCESS_TOKEN: 'ya29.env-secret-token' }, { debug: undefined }),
    );
    tokens.push(await envSrc.token());
    // A refusal is logged too.
    fake.failNext(400, 'invalid_grant', 'Invalid JWT Signature.');
    const failing = await googleTokenSource(
      opts({ GOOGLE_APPLICATION_CREDENTIALS: key }, { debug: (l) => raw.push(l) }),
    );
    await oneLine(failing.token());
  } finally {
    setDebugSink(undefined);
  }
  const assertions = fake
    .tokenRequests()
    .map((r) => r.form.assertion)
    .filter(Boolean);
  const secrets = [
    ...account.privateKeyPem.split('\n').filter((l) => l.length > 20),
    ...assertions,
    ...assertions.map((a) => a.split('.')[2]),
    fake.user.refreshToken,
    fake.user.clientSecret,
    ...tokens,
  ];
  assert.ok(raw.some((l) => l.includes('in GOOGLE_APPLICATION_CREDENTIALS')));
  assert.ok(
    raw.some((l) => /POST http:\/\/127\.0\.0\.1:\d+\/token/.test(l)),
    raw.join('\n'),
  );
  assert.ok(sink.some((l) => l.includes('google: credentials from GOOGLE_OAUTH_ACCESS_TOKEN')));
  const rawText = raw.join('\n');
  const sinkText = sink.join('\n');
  for (const s of secrets) {
    assert.ok(!rawText.includes(s), `a secret in the module's debug lines: ${s.slice(0, 12)}...`);
    assert.ok(!sinkText.includes(s), `a secret in the debug log: ${s.slice(0, 12)}...`);
  }
  // And had anything else printed them, the debug log's redaction knows them now.
  for (const s of [fake.user.refreshToken, tokens[0], assertions[0]])
    assert.equal(redact(`x ${s} y`), 'x <REDACTED> y');
});
