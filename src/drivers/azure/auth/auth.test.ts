import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AZURE_CLI_CLIENT_ID, FakeAzureAD } from '../../../../test/fakes/azure/aad.js';
import { makeTestCA } from '../../../../test/helpers/test-ca.js';
import { generateServerCert } from '../../../cert/server.js';
import { setDebugSink } from '../../../debug.js';
import { MachineError } from '../../../errors.js';
import { deviceCodeLogin } from './device-code.js';
import {
  type AzureAuthOptions,
  azureCloud,
  azureTokenSource,
  DEVICE_CODE_CLIENT_ID,
  discoverTenant,
} from './index.js';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const OTHER_TENANT = '11111111-2222-3333-4444-555555555555';
const SUB = '9e4b5c3a-0d7f-4a61-8f2e-1c3b5d7e9f00';
const SP = 'a1b2c3d4-0000-4000-8000-00000000000a';
const SP_SECRET = 'Kx8Q~sekret-value-never-printed-1234';
const CERT_APP = 'a1b2c3d4-0000-4000-8000-00000000000c';
const CONFIDENTIAL = 'a1b2c3d4-0000-4000-8000-00000000000d';
const OWN_PUBLIC = 'c0ffee00-0000-4000-8000-000000000001';

let dir = '';
let aad: FakeAzureAD;
let arm: {
  url: string;
  requests: string[];
  answer: (req: IncomingMessage, res: ServerResponse) => void;
  close(): Promise<void>;
};
let trust = '';
let certPem = '';
let noAzPath = '';

/** A Resource Manager stand-in that answers only the unauthenticated subscription GET. */
async function armStandIn(): Promise<typeof arm> {
  await makeTestCA(dir, 'arm-ca');
  await generateServerCert({
    caCertPath: join(dir, 'arm-ca', 'ca.pem'),
    caKeyPath: join(dir, 'arm-ca', 'ca-key.pem'),
    certPath: join(dir, 'arm.pem'),
    keyPath: join(dir, 'arm-key.pem'),
    org: 'arm',
    hosts: ['127.0.0.1'],
  });
  const requests: string[] = [];
  const self = {
    url: '',
    requests,
    answer(req: IncomingMessage, res: ServerResponse) {
      if (req.headers.authorization) {
        res.writeHead(500).end();
        return;
      }
      res.writeHead(401, {
        'content-type': 'application/json',
        'www-authenticate': `Bearer authorization_uri="https://login.windows.net/${TENANT}", error="invalid_token", error_description="The authentication failed because of missing 'Authorization' header."`,
      });
      res.end(
        JSON.stringify({
          error: { code: 'AuthenticationFailed', message: "missing 'Authorization' header" },
        }),
      );
    },
    close: async () => {},
  };
  const srv = createServer(
    { cert: await readFile(join(dir, 'arm.pem')), key: await readFile(join(dir, 'arm-key.pem')) },
    (req, res) => {
      requests.push(`${req.method} ${req.url}`);
      self.answer(req, res);
    },
  );
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  self.url = `https://127.0.0.1:${(srv.address() as AddressInfo).port}/`;
  self.close = async () => {
    srv.closeAllConnections();
    await new Promise((r) => srv.close(r));
  };
  return self;
}

function cloud() {
  return azureCloud('AzurePublicCloud', { resourceManager: arm.url, authorityHost: aad.url });
}

function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { NODE_EXTRA_CA_CERTS: trust, PATH: noAzPath, ...extra };
}

/** Options for one command: a store of its own, the user's lines collected, debug lines collected raw. */
function opts(extra: Partial<AzureAuthOptions> & { cacheDir: string }) {
  const lines: string[] = [];
  const debugLines: string[] = [];
  const o: AzureAuthOptions = {
    cloud: cloud(),
    subscriptionId: SUB,
    env: env(),
    notify: (l) => lines.push(l),
    debug: (l) => debugLines.push(l),
    ...extra,
  };
  return { o, lines, debugLines };
}

/** The user who reads the printed line and answers the code in a browser. */
function answering(fake: FakeAzureAD, lines: string[], how: 'approve' | 'deny' | 'ignore' = 'approve') {
  return (line: string) => {
    lines.push(line);
    const code = /enter the code (\w+)/.exec(line)?.[1];
    assert.ok(code, `no code in "${line}"`);
    if (how !== 'ignore') setTimeout(() => fake[how](code), 150);
  };
}

async function freshStore(): Promise<string> {
  return join(await mkdtemp(join(dir, 'store-')), 'credentials', 'azure');
}

/** The one line a refused sign-in gives: a MachineError, one line, never the secret. */
async function oneLine(p: Promise<unknown>, ...want: RegExp[]): Promise<string> {
  const err = await p.then(
    () => assert.fail('expected an error'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof MachineError, `not a MachineError: ${err}`);
  assert.doesNotMatch(err.message, /\n/);
  assert.ok(!err.message.includes(SP_SECRET), 'the secret is in the error line');
  for (const w of want) assert.match(err.message, w);
  return err.message;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dm-azure-auth-'));
  aad = new FakeAzureAD({ interval: 0.2 });
  await aad.start();
  arm = await armStandIn();
  trust = join(dir, 'trust.pem');
  await writeFile(
    trust,
    (await readFile(aad.caPath, 'utf8')) + (await readFile(join(dir, 'arm-ca', 'ca.pem'), 'utf8')),
  );
  aad.addTenant(TENANT);
  aad.addTenant(OTHER_TENANT);
  aad.registerApp({ clientId: SP, tenant: TENANT, secret: SP_SECRET });
  aad.registerApp({ clientId: DEVICE_CODE_CLIENT_ID, publicClient: true });
  aad.registerApp({ clientId: OWN_PUBLIC, publicClient: true });
  aad.registerApp({ clientId: CONFIDENTIAL, tenant: TENANT, secret: 'other-secret-value' });
  // A certificate and its key in one PEM, as "az ad sp create-for-rbac --create-cert" writes it.
  await makeTestCA(dir, 'sp');
  certPem = await readFile(join(dir, 'sp', 'cert.pem'), 'utf8');
  await writeFile(join(dir, 'sp.pem'), certPem + (await readFile(join(dir, 'sp', 'key.pem'), 'utf8')), {
    mode: 0o600,
  });
  aad.registerApp({ clientId: CERT_APP, tenant: TENANT, certificatePem: certPem });
  noAzPath = join(dir, 'empty-path');
  await mkdir(noAzPath);
});

after(async () => {
  setDebugSink(undefined);
  await aad.stop();
  await arm.close();
  await rm(dir, { recursive: true, force: true });
});

describe('named clouds', () => {
  it('knows the original names, in any case, and each has its own Resource Manager and Azure AD', () => {
    assert.deepEqual(azureCloud(undefined), {
      name: 'AzurePublicCloud',
      resourceManager: 'https://management.azure.com/',
      authorityHost: 'https://login.microsoftonline.com/',
      armScope: 'https://management.azure.com/.default',
    });
    assert.equal(azureCloud('azurechinacloud').authorityHost, 'https://login.chinacloudapi.cn/');
    assert.equal(azureCloud('AzureChinaCloud').armScope, 'https://management.chinacloudapi.cn/.default');
    assert.equal(
      azureCloud('AzureUSGovernmentCloud').resourceManager,
      'https://management.usgovcloudapi.net/',
    );
    assert.equal(azureCloud('AzureUSGovernmentCloud').authorityHost, 'https://login.microsoftonline.us/');
  });

  it('takes a custom Resource Manager and authority host, https only', () => {
    const c = azureCloud('AzurePublicCloud', {
      resourceManager: 'https://127.0.0.1:8443',
      authorityHost: 'https://login.example.test/base',
    });
    assert.equal(c.resourceManager, 'https://127.0.0.1:8443/');
    assert.equal(c.armScope, 'https://127.0.0.1:8443/.default');
    assert.equal(c.authorityHost, 'https://login.example.test/base/');
    assert.throws(
      () => azureCloud(undefined, { resourceManager: 'http://127.0.0.1:8080/' }),
      /^MachineError: --azure-resource-manager-endpoint "http:\/\/127.0.0.1:8080\/" must be an https:\/\/ URL/,
    );
    assert.throws(
      () => azureCloud(undefined, { authorityHost: 'not a url' }),
      /--azure-authority-host .* is not a URL/,
    );
  });

  it('says in one line that AzureGermanCloud closed, and lists the names for an unknown one', () => {
    assert.throws(
      () => azureCloud('AzureGermanCloud'),
      (e: Error) =>
        e instanceof MachineError &&
        /closed in October 2021/.test(e.message) &&
        /--azure-environment AzurePublicCloud/.test(e.message) &&
        !e.message.includes('\n'),
    );
    assert.throws(
      () => azureCloud('AzureMoonCloud'),
      /^MachineError: unknown azure environment "AzureMoonCloud" \(--azure-environment, AZURE_ENVIRONMENT\); use one of AzurePublicCloud, AzureChinaCloud, AzureUSGovernmentCloud$/,
    );
  });
});

describe("the subscription's tenant", () => {
  it("is read from Resource Manager's 401 challenge, kept 0600, and not asked again", async () => {
    const cacheDir = await freshStore();
    const before = arm.requests.length;
    assert.equal(await discoverTenant(cloud(), SUB.toUpperCase(), { cacheDir, env: env() }), TENANT);
    assert.deepEqual(arm.requests.slice(before), [`GET /subscriptions/${SUB}?api-version=2022-12-01`]);
    const file = join(cacheDir, `${SUB}.tenantid`);
    assert.equal(await readFile(file, 'utf8'), TENANT);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal((await stat(cacheDir)).mode & 0o777, 0o700);
    assert.equal(await discoverTenant(cloud(), SUB, { cacheDir, env: env() }), TENANT);
    assert.equal(arm.requests.length, before + 1);
  });

  it('gives one line for a malformed or unknown subscription, or an answer without a tenant', async () => {
    await oneLine(
      discoverTenant(cloud(), 'my-subscription', { env: env() }),
      /"my-subscription" is not a subscription id/,
    );
    const keep = arm.answer;
    try {
      arm.answer = (_req, res) => {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'SubscriptionNotFound', message: 'not found' } }));
      };
      await oneLine(
        discoverTenant(cloud(), SUB, { env: env() }),
        new RegExp(`azure subscription ${SUB} was not found at ${arm.url}`),
        /--azure-subscription-id/,
      );
      arm.answer = (_req, res) => {
        res.writeHead(401).end();
      };
      await oneLine(
        discoverTenant(cloud(), SUB, { env: env() }),
        /answered HTTP 401 without naming it; give --azure-tenant-id/,
      );
    } finally {
      arm.answer = keep;
    }
  });

  it('is found when no tenant is given, then the service principal signs in to it', async () => {
    const { o } = opts({ cacheDir: await freshStore(), clientId: SP, clientSecret: SP_SECRET });
    const ts = await azureTokenSource(o);
    assert.equal(ts.tenantId, TENANT);
    assert.equal(aad.issued(await ts.token())?.tenant, TENANT);
  });
});

describe('service principal with a secret', () => {
  it("signs in with the client credentials grant for Resource Manager's scope", async () => {
    const { o } = opts({
      cacheDir: await freshStore(),
      env: env({ AZURE_CLIENT_ID: SP, AZURE_CLIENT_SECRET: SP_SECRET, AZURE_TENANT_ID: TENANT }),
    });
    const ts = await azureTokenSource(o);
    const token = await ts.token();
    assert.ok(aad.acceptToken(token));
    assert.deepEqual(
      { ...aad.issued(token), expiresAt: 0 },
      {
        tenant: TENANT,
        clientId: SP,
        scope: `${arm.url}.default`,
        grant: 'client_credentials',
        expiresAt: 0,
      },
    );
    assert.equal(ts.describe, `service principal ${SP} (client secret)`);
    assert.equal(await ts.token(), token, 'a valid token is reused');
  });

  it('renews a token shortly before it expires, and at once after invalidate()', async () => {
    aad.opts.tokenLifetimeSec = 2;
    try {
      const { o } = opts({
        cacheDir: await freshStore(),
        tenantId: TENANT,
        clientId: SP,
        clientSecret: SP_SECRET,
      });
      const ts = await azureTokenSource(o);
      const first = await ts.token();
      const grants = () => aad.count('client_credentials');
      const n = grants();
      assert.equal(await ts.token(), first);
      await new Promise((r) => setTimeout(r, 1100));
      const [a, b] = await Promise.all([ts.token(), ts.token()]);
      assert.notEqual(a, first);
      assert.equal(a, b, 'two callers share one renewal');
      assert.equal(grants(), n + 1);
      ts.invalidate();
      assert.notEqual(await ts.token(), a);
      assert.equal(grants(), n + 2);
    } finally {
      aad.opts.tokenLifetimeSec = 3599;
    }
  });

  it('waits out a throttled token endpoint', async () => {
    aad.failNext(1, 429, 0);
    const { o } = opts({
      cacheDir: await freshStore(),
      tenantId: TENANT,
      clientId: SP,
      clientSecret: SP_SECRET,
    });
    assert.ok(aad.acceptToken(await (await azureTokenSource(o)).token()));
  });

  it('gives one line naming the credential, the tenant and what to do for each refusal', async () => {
    const store = await freshStore();
    const sp = (extra: Partial<AzureAuthOptions>) =>
      azureTokenSource(
        opts({ cacheDir: store, tenantId: TENANT, clientId: SP, clientSecret: SP_SECRET, ...extra }).o,
      );
    await oneLine(
      sp({ clientSecret: 'wrong-secret-value' }),
      new RegExp(
        `^service principal ${SP} \\(client secret\\): the client secret was refused \\(AADSTS7000215\\)`,
      ),
      /--azure-client-secret/,
      new RegExp(`tenant ${TENANT}`),
    );
    await oneLine(
      sp({ clientId: 'b1b2c3d4-0000-4000-8000-00000000000b' }),
      /has no application b1b2c3d4-0000-4000-8000-00000000000b in this tenant \(AADSTS700016\)/,
      /--azure-client-id/,
    );
    await oneLine(
      sp({ tenantId: '99999999-9999-9999-9999-999999999999' }),
      /no such tenant in AzurePublicCloud \(AADSTS90002\); check --azure-tenant-id/,
      /tenant 99999999-9999-9999-9999-999999999999/,
    );
    await oneLine(sp({ clientId: 'my-app' }), /azure client id "my-app" is not an application \(client\) id/);
    await oneLine(sp({ tenantId: 'bad/tenant' }), /azure tenant "bad\/tenant" is not a tenant id/);
    await oneLine(
      azureTokenSource(opts({ cacheDir: store, tenantId: TENANT, clientSecret: SP_SECRET }).o),
      /client secret needs its application \(client\) id: give --azure-client-id/,
    );
    const unreachable = azureCloud(undefined, {
      resourceManager: arm.url,
      authorityHost: 'https://127.0.0.1:9/',
    });
    await oneLine(
      azureTokenSource({
        ...opts({ cacheDir: store, tenantId: TENANT, clientId: SP, clientSecret: SP_SECRET }).o,
        cloud: unreachable,
      }),
      /^Azure AD API at https:\/\/127.0.0.1:9 could not be reached/,
    );
  });
});

describe('service principal with a certificate', () => {
  it("signs in with an assertion signed by the certificate's key", async () => {
    const { o } = opts({
      cacheDir: await freshStore(),
      env: env({
        AZURE_CLIENT_ID: CERT_APP,
        AZURE_CLIENT_CERTIFICATE_PATH: join(dir, 'sp.pem'),
        AZURE_TENANT_ID: TENANT,
      }),
    });
    const ts = await azureTokenSource(o);
    assert.equal(aad.issued(await ts.token())?.clientId, CERT_APP);
    assert.equal(ts.describe, `service principal ${CERT_APP} (certificate ${join(dir, 'sp.pem')})`);
  });

  it('opens an encrypted key with AZURE_CLIENT_CERTIFICATE_PASSWORD, and a secret given as well wins', async () => {
    const key = createPrivateKey(await readFile(join(dir, 'sp', 'key.pem'))).export({
      type: 'pkcs8',
      format: 'pem',
      cipher: 'aes-256-cbc',
      passphrase: 'pem-pass-phrase',
    });
    const encrypted = join(dir, 'sp-encrypted.pem');
    await writeFile(encrypted, certPem + String(key));
    const base = { cacheDir: dir, tenantId: TENANT, clientId: CERT_APP, clientCertificatePath: encrypted };
    const ts = await azureTokenSource(
      opts({ ...base, env: env({ AZURE_CLIENT_CERTIFICATE_PASSWORD: 'pem-pass-phrase' }) }).o,
    );
    assert.equal(aad.issued(await ts.token())?.clientId, CERT_APP);
    await oneLine(
      azureTokenSource(opts(base).o),
      /the private key in .*sp-encrypted.pem is encrypted and no AZURE_CLIENT_CERTIFICATE_PASSWORD was given/,
    );
    const both = await azureTokenSource(opts({ ...base, clientId: SP, clientSecret: SP_SECRET }).o);
    assert.equal(both.describe, `service principal ${SP} (client secret)`);
  });

  it('gives one line for a certificate the app does not have, or a file that is not key and certificate', async () => {
    await makeTestCA(dir, 'stranger');
    const stranger = join(dir, 'stranger.pem');
    await writeFile(
      stranger,
      (await readFile(join(dir, 'stranger', 'cert.pem'), 'utf8')) +
        (await readFile(join(dir, 'stranger', 'key.pem'), 'utf8')),
    );
    const cert = (path: string) =>
      azureTokenSource(
        opts({ cacheDir: dir, tenantId: TENANT, clientId: CERT_APP, clientCertificatePath: path }).o,
      );
    await oneLine(
      cert(stranger),
      new RegExp(
        `^service principal ${CERT_APP} \\(certificate ${stranger}\\): the certificate in ${stranger} is not one the application has \\(AADSTS700027\\)`,
      ),
    );
    const onlyCert = join(dir, 'only-cert.pem');
    await writeFile(onlyCert, certPem);
    await oneLine(
      cert(onlyCert),
      /must be a PEM file with both the certificate and its private key \(missing the private key\)/,
    );
    const mismatched = join(dir, 'mismatched.pem');
    await writeFile(mismatched, certPem + (await readFile(join(dir, 'stranger', 'key.pem'), 'utf8')));
    await oneLine(cert(mismatched), /is not the key of the certificate in it/);
    await oneLine(
      cert(join(dir, 'absent.pem')),
      /^reading the client certificate .*absent.pem: no such file or directory$/,
    );
  });
});

describe('device-code login', () => {
  it("prints the service's line, waits for the answer, keeps the login 0600 and reuses it without a new code", async () => {
    const cacheDir = await freshStore();
    const lines: string[] = [];
    const { o } = opts({ cacheDir, tenantId: TENANT, notify: answering(aad, lines) });
    const codes = aad.count('/devicecode');
    const ts = await azureTokenSource(o);
    assert.equal(lines.length, 1);
    assert.match(
      lines[0],
      /^To sign in, use a web browser to open the page https:\/\/microsoft.com\/devicelogin and enter the code \w{9} to authenticate\.$/,
    );
    assert.equal(aad.count('/devicecode'), codes + 1);
    // The Azure CLI's public client, as Microsoft's SDKs use it, unless --azure-client-id names another.
    assert.equal(DEVICE_CODE_CLIENT_ID, AZURE_CLI_CLIENT_ID);
    const token = await ts.token();
    assert.deepEqual(
      { ...aad.issued(token), expiresAt: 0 },
      {
        tenant: TENANT,
        clientId: DEVICE_CODE_CLIENT_ID,
        scope: `${arm.url}.default`,
        grant: 'device_code',
        expiresAt: 0,
      },
    );
    const file = join(cacheDir, `${TENANT}.json`);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal((await stat(cacheDir)).mode & 0o777, 0o700);

    // The next command: no code, no request at all while the kept access token is valid.
    const calls = aad.calls.length;
    const second = opts({ cacheDir, tenantId: TENANT, notify: answering(aad, lines, 'ignore') });
    const ts2 = await azureTokenSource(second.o);
    assert.equal(await ts2.token(), token);
    assert.equal(aad.calls.length, calls);
    assert.equal(ts2.describe, `device-code login kept in ${file}`);

    // Once the kept access token expired: the refresh token, still no code.
    const kept = JSON.parse(await readFile(file, 'utf8'));
    await writeFile(file, JSON.stringify({ ...kept, expiresAt: 0 }));
    const ts3 = await azureTokenSource(
      opts({ cacheDir, tenantId: TENANT, notify: answering(aad, lines, 'ignore') }).o,
    );
    const renewed = await ts3.token();
    assert.notEqual(renewed, token);
    assert.equal(aad.issued(renewed)?.grant, 'refresh_token');
    assert.equal(aad.count('/devicecode'), codes + 1);
    assert.equal(lines.length, 1);
    assert.equal(JSON.parse(await readFile(file, 'utf8')).accessToken, renewed);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
  });

  it('asks for a new code when Azure AD no longer takes the kept refresh token', async () => {
    const cacheDir = await freshStore();
    const lines: string[] = [];
    await azureTokenSource(opts({ cacheDir, tenantId: TENANT, notify: answering(aad, lines) }).o);
    const file = join(cacheDir, `${TENANT}.json`);
    const kept = JSON.parse(await readFile(file, 'utf8'));
    await writeFile(file, JSON.stringify({ ...kept, expiresAt: 0 }));
    aad.revokeRefreshTokens();
    const ts = await azureTokenSource(opts({ cacheDir, tenantId: TENANT, notify: answering(aad, lines) }).o);
    assert.equal(lines.length, 2);
    assert.equal(aad.issued(await ts.token())?.grant, 'device_code');
  });

  it('says in one line that the sign-in was declined, or that the code expired', async () => {
    const lines: string[] = [];
    await oneLine(
      azureTokenSource(
        opts({ cacheDir: await freshStore(), tenantId: TENANT, notify: answering(aad, lines, 'deny') }).o,
      ),
      /^the sign-in with device code \w{9} was declined at https:\/\/microsoft.com\/devicelogin; run the command again/,
    );
    aad.opts.deviceCodeLifetimeSec = 1;
    try {
      const started = Date.now();
      await oneLine(
        azureTokenSource(
          opts({ cacheDir: await freshStore(), tenantId: TENANT, notify: answering(aad, lines, 'ignore') }).o,
        ),
        /^the device code \w{9} expired/,
        /run the command again/,
      );
      assert.ok(Date.now() - started < 3000, 'bounded by expires_in');
    } finally {
      aad.opts.deviceCodeLifetimeSec = 900;
    }
  });

  it('says in one line that the tenant is unknown, before printing any code', async () => {
    const lines: string[] = [];
    await oneLine(
      azureTokenSource(
        opts({
          cacheDir: await freshStore(),
          tenantId: 'contoso.onmicrosoft.com',
          notify: answering(aad, lines),
        }).o,
      ),
      new RegExp(
        `^device-code login \\(app ${DEVICE_CODE_CLIENT_ID}\\): Azure AD has no such tenant in AzurePublicCloud \\(AADSTS90002\\)`,
      ),
      /tenant contoso.onmicrosoft.com/,
    );
    assert.equal(lines.length, 0);
  });

  it('signs in with --azure-client-id when it is a public client, and says what to do when it is not', async () => {
    const lines: string[] = [];
    const cacheDir = await freshStore();
    const ts = await azureTokenSource(
      opts({
        cacheDir,
        tenantId: TENANT,
        clientId: OWN_PUBLIC,
        notify: answering(aad, lines),
      }).o,
    );
    assert.equal(aad.issued(await ts.token())?.clientId, OWN_PUBLIC);
    await oneLine(
      azureTokenSource(
        opts({ cacheDir, tenantId: TENANT, clientId: CONFIDENTIAL, notify: answering(aad, lines) }).o,
      ),
      new RegExp(
        `^device-code login \\(app ${CONFIDENTIAL}\\): application ${CONFIDENTIAL} is not a public client`,
      ),
      /AADSTS7000218/,
    );
  });
});

describe('device-code polling', () => {
  it('waits the interval Azure AD gives, and five seconds more after each slow_down (RFC 8628)', async () => {
    const lines: string[] = [];
    const waits: number[] = [];
    const c = { cloud: cloud(), tenantId: TENANT, env: env() };
    aad.slowDownNext(2);
    const user = (line: string) => {
      lines.push(line);
      // Answered after the two slow_down polls and one more that is still pending.
      setTimeout(() => aad.approve(/enter the code (\w+)/.exec(line)![1]), 450);
    };
    const t = await deviceCodeLogin(c, DEVICE_CODE_CLIENT_ID, user, async (ms) => {
      waits.push(ms);
      await new Promise((r) => setTimeout(r, 100));
    });
    assert.equal(aad.issued(t.accessToken)?.grant, 'device_code');
    assert.deepEqual(waits.slice(0, 3), [200, 5200, 10200]);
    assert.ok(waits.length >= 4 && waits.slice(3).every((w) => w === 10200), String(waits));
    assert.equal(lines.length, 1);
  });
});

describe("the Azure CLI's account", () => {
  async function fakeAz(script: string): Promise<string> {
    const bin = await mkdtemp(join(dir, 'az-'));
    await writeFile(join(bin, 'az'), `#!/bin/sh\nprintf '%s\\n' "$@" > "${bin}/args"\n${script}\n`);
    await chmod(join(bin, 'az'), 0o755);
    return bin;
  }

  it('gives the token when az is signed in, after the kept login and before a new device code', async () => {
    const expires = Math.floor(Date.now() / 1000) + 3600;
    const bin = await fakeAz(
      `echo '{"accessToken": "az-token-0123456789", "expiresOn": "2099-01-01 00:00:00.000000", "expires_on": ${expires}, "subscription": "${SUB}", "tenant": "${TENANT}", "tokenType": "Bearer"}'`,
    );
    const lines: string[] = [];
    const { o, debugLines } = opts({
      cacheDir: await freshStore(),
      tenantId: TENANT,
      env: env({ PATH: bin }),
      notify: answering(aad, lines, 'ignore'),
    });
    const ts = await azureTokenSource(o);
    assert.equal(await ts.token(), 'az-token-0123456789');
    assert.equal(ts.describe, "the Azure CLI's account (az login)");
    assert.deepEqual((await readFile(join(bin, 'args'), 'utf8')).trim().split('\n'), [
      'account',
      'get-access-token',
      '--resource',
      arm.url,
      '--tenant',
      TENANT,
      '-o',
      'json',
    ]);
    assert.equal(lines.length, 0);
    assert.ok(!debugLines.join('\n').includes('az-token-0123456789'));
  });

  it("reads an older az's local expiresOn, and runs az again only when the token expires", async () => {
    const local = new Date(Date.now() + 3600_000);
    const pad = (n: number) => String(n).padStart(2, '0');
    const expiresOn = `${local.getFullYear()}-${pad(local.getMonth() + 1)}-${pad(local.getDate())} ${pad(local.getHours())}:${pad(local.getMinutes())}:${pad(local.getSeconds())}.000000`;
    const bin = await fakeAz(
      `echo run >> "\${0%/*}/runs"\necho '{"accessToken": "az-token-older-cli", "expiresOn": "${expiresOn}", "tokenType": "Bearer"}'`,
    );
    const ts = await azureTokenSource(
      opts({
        cacheDir: await freshStore(),
        tenantId: TENANT,
        env: env({ PATH: bin }),
        notify: () => assert.fail('no code'),
      }).o,
    );
    assert.equal(await ts.token(), 'az-token-older-cli');
    assert.equal(await ts.token(), 'az-token-older-cli');
    assert.equal((await readFile(join(bin, 'runs'), 'utf8')).trim().split('\n').length, 1);
    ts.invalidate();
    await ts.token();
    assert.equal((await readFile(join(bin, 'runs'), 'utf8')).trim().split('\n').length, 2);
  });

  it('is not used when --azure-client-id names the application to sign in with', async () => {
    const bin = await fakeAz(`echo '{"accessToken": "az-token-not-wanted", "expires_on": 4102444800}'`);
    const lines: string[] = [];
    const ts = await azureTokenSource(
      opts({
        cacheDir: await freshStore(),
        tenantId: TENANT,
        clientId: OWN_PUBLIC,
        env: env({ PATH: bin }),
        notify: answering(aad, lines),
      }).o,
    );
    assert.equal(aad.issued(await ts.token())?.clientId, OWN_PUBLIC);
    await assert.rejects(readFile(join(bin, 'args')), /ENOENT/);
  });

  it('is passed over when az is not signed in: the device code follows', async () => {
    const bin = await fakeAz(`echo "ERROR: Please run 'az login' to setup account." >&2\nexit 1`);
    const lines: string[] = [];
    const ts = await azureTokenSource(
      opts({
        cacheDir: await freshStore(),
        tenantId: TENANT,
        env: env({ PATH: bin }),
        notify: answering(aad, lines),
      }).o,
    );
    assert.equal(lines.length, 1);
    assert.equal(aad.issued(await ts.token())?.grant, 'device_code');
  });
});

describe('secrets in the debug log', () => {
  it('never shows the secret, the assertion, or a token, at --debug', async () => {
    const sink: string[] = [];
    setDebugSink((l) => sink.push(l));
    const raw: string[] = [];
    try {
      const secrets: string[] = [SP_SECRET];
      const spOpts = opts({
        cacheDir: await freshStore(),
        tenantId: TENANT,
        clientId: SP,
        clientSecret: SP_SECRET,
      });
      secrets.push(await (await azureTokenSource(spOpts.o)).token());
      raw.push(...spOpts.debugLines);
      // Through the default debug log as well.
      const viaLog = { ...spOpts.o, debug: undefined };
      secrets.push(await (await azureTokenSource(viaLog)).token());
      const certOpts = opts({
        cacheDir: await freshStore(),
        tenantId: TENANT,
        clientId: CERT_APP,
        clientCertificatePath: join(dir, 'sp.pem'),
      });
      secrets.push(await (await azureTokenSource(certOpts.o)).token());
      raw.push(...certOpts.debugLines);
      const lines: string[] = [];
      const cacheDir = await freshStore();
      const dev = opts({ cacheDir, tenantId: TENANT, notify: answering(aad, lines) });
      secrets.push(await (await azureTokenSource(dev.o)).token());
      raw.push(...dev.debugLines);
      const kept = JSON.parse(await readFile(join(cacheDir, `${TENANT}.json`), 'utf8'));
      secrets.push(kept.refreshToken);
      await writeFile(join(cacheDir, `${TENANT}.json`), JSON.stringify({ ...kept, expiresAt: 0 }));
      const again = opts({ cacheDir, tenantId: TENANT, notify: answering(aad, lines, 'ignore') });
      secrets.push(await (await azureTokenSource(again.o)).token());
      raw.push(...again.debugLines);
      await azureTokenSource({ ...spOpts.o, clientSecret: 'Wrong~secret-value-5678' }).catch(() => {});
      secrets.push('Wrong~secret-value-5678');

      assert.ok(
        raw.some((l) => /^POST https:\/\/127\.0\.0\.1:\d+\/.+\/oauth2\/v2\.0\/token /.test(l)),
        raw.join('\n'),
      );
      assert.ok(
        sink.some((l) => l.includes('/oauth2/v2.0/token')),
        'the default log got the requests',
      );
      const all = [...raw, ...sink].join('\n');
      for (const s of secrets)
        assert.ok(s && !all.includes(s), `a secret reached the debug log: ${s.slice(0, 8)}...`);
      assert.doesNotMatch(all, /client_assertion=|eyJhbGciOiJSUzI1Ni/);
    } finally {
      setDebugSink(undefined);
    }
  });
});
