import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { bootstrapCertificates } from '../../src/cert/bootstrap.js';
import { generateServerCert } from '../../src/cert/server.js';
import { busyboxTarball } from '../helpers/busybox.js';
import { type CliStore, cliShell, runProcess, tempStore } from '../helpers/cli.js';
import { genericCreateArgs, type HostRig, startHostRig } from '../helpers/generic-rig.js';
import { type TestHost, testHostsAvailable } from '../helpers/testhost.js';

/**
 * Self-healing certificates on a real Debian host (systemd, sshd, Docker) of the test's own. The
 * machine is made at 127.0.0.1 (the host's published ports); the host is also reachable at its
 * own address on the test engine's bridge, where sshd and the engine listen on the same ports.
 * Moving the machine's recorded address there is what a server that came back with a new IP
 * looks like: the certificate names 127.0.0.1, not the new address.
 */
const skip = testHostsAvailable()
  ? false
  : 'needs root, dockerd, debootstrap and ip (npm test installs them)';

describe('certificates heal when the machine address changes or they near expiry', {
  skip,
  timeout: 15 * 60_000,
}, () => {
  let rig: HostRig;
  let host: TestHost;
  let s: CliStore;
  let bridgeIP: string;
  const name = 'heal1';
  const container = `keep-${process.pid}-${Date.now().toString(36)}`;

  before(async () => {
    rig = await startHostRig({ prefix: 'certheal', withDocker: true, restartAlways: true });
    host = rig.hosts[0];
    bridgeIP = (await rig.engine.docker(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', host.id])).trim();
    assert.match(bridgeIP, /^172\.30\.\d+\.\d+$/);
    // sshd also on the published port's number, so that the machine's SSH port holds at either address.
    await host.exec(
      `printf 'Port 22\\nPort ${host.sshPort}\\n' > /etc/ssh/sshd_config.d/heal.conf && systemctl restart ssh`,
    );
    s = await tempStore();
  });

  after(async () => {
    await rig?.stop();
    await s?.cleanup();
  });

  const dockerConfig = () => join(s.dir, 'docker-config');
  const withEnv = (script: string, env: NodeJS.ProcessEnv = {}) =>
    runProcess('bash', ['-c', `eval "$(${cliShell} env ${name})" && ${script}`], {
      env: { MACHINE_STORAGE_PATH: s.dir, DOCKER_CONFIG: dockerConfig(), ...env },
      timeoutMs: 240_000,
    });
  const configPath = () => join(s.dir, 'machines', name, 'config.json');
  const setAddress = async (ip: string) => {
    const c = JSON.parse(await readFile(configPath(), 'utf8'));
    c.Driver.IPAddress = ip;
    await writeFile(configPath(), JSON.stringify(c, null, 4));
  };
  const lsRow = async () =>
    (
      await s.run(['ls', '--format', '{{.Name}}|{{.State}}|{{.URL}}|{{.DockerVersion}}|{{.Error}}'])
    ).stdout.trim();
  const serverCert = async () =>
    new X509Certificate(await readFile(join(s.dir, 'machines', name, 'server.pem')));
  const keepState = async () =>
    withEnv(
      `docker ps --filter name=${container} --format '{{.Names}} {{.Status}}' && docker inspect -f '{{.State.StartedAt}}' ${container}`,
    );

  let startedAt = '';

  test('create at 127.0.0.1, and a container left running', async () => {
    const r = await s.run(genericCreateArgs(host, rig.key, name), { timeoutMs: 300_000 });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const run = await withEnv(
      `docker import - busybox < ${busyboxTarball()} >/dev/null && docker run --pull=never -d --name ${container} busybox sleep 100000 >/dev/null && docker inspect -f '{{.State.StartedAt}}' ${container}`,
    );
    assert.equal(run.code, 0, run.stderr);
    startedAt = run.stdout.trim();
    assert.ok(startedAt.length > 0);
  });

  test('the address changes: ls says so in ERRORS with the fix; with healing off env fails as the original', async () => {
    await setAddress(bridgeIP);
    const port = host.ports[0];
    assert.equal(
      await lsRow(),
      `${name}|Running|tcp://${bridgeIP}:${port}|Unknown|Certificate does not name ${bridgeIP}: run 'docker-machine env ${name}' or 'docker-machine regenerate-certs ${name}'`,
    );
    const off = await s.run(['env', name], { env: { MACHINE_NO_CERT_HEAL: '1' } });
    assert.equal(off.code, 1);
    assert.equal(off.stdout, '');
    assert.match(
      off.stderr,
      new RegExp(
        `^Error checking TLS connection: Error checking and/or regenerating the certs: There was an error validating certificates for host "${bridgeIP.replaceAll('.', '\\.')}:${port}": x509: .*\\nYou can attempt to regenerate them using 'docker-machine regenerate-certs ${name}'\\.`,
      ),
    );
    // ls changed nothing: still refused.
    assert.match(await lsRow(), /Certificate does not name/);
  });

  test('env reissues the certificate; docker ps through it shows the container that ran before, still running', async () => {
    const r = await keepState();
    assert.equal(r.code, 0, r.stderr);
    const [ps, started] = r.stdout.trim().split('\n');
    assert.match(ps, new RegExp(`^${container} Up `));
    assert.equal(
      started,
      startedAt,
      'the same run of the container: live-restore kept it through the engine restart',
    );
    assert.match(
      r.stderr,
      new RegExp(
        `The machine's address changed to ${bridgeIP.replaceAll('.', '\\.')}, which its certificate does not name: issuing a new one and restarting its engine \\(containers keep running\\)\\.\\.\\.`,
      ),
    );
    const cert = await serverCert();
    assert.ok(cert.checkIP(bridgeIP), cert.subjectAltName);
    const row = await lsRow();
    assert.equal(row, `${name}|Running|tcp://${bridgeIP}:${host.ports[0]}|v20.10.24+dfsg1|`);
    // The docker context followed: the new URL and certificate.
    const ctx = await runProcess('docker', ['--context', name, 'ps', '--format', '{{.Names}}'], {
      env: { DOCKER_CONFIG: dockerConfig() },
    });
    assert.equal(ctx.code, 0, ctx.stderr);
    assert.ok(ctx.stdout.split('\n').includes(container), ctx.stdout);
    // All is well now: env prints its lines and says nothing else.
    const again = await s.run(['env', name]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stderr, '');
    assert.match(
      again.stdout,
      new RegExp(`DOCKER_HOST="tcp://${bridgeIP.replaceAll('.', '\\.')}:${host.ports[0]}"`),
    );
  });

  test('a server certificate expiring within 30 days is renewed by config; the container keeps running', async () => {
    const dir = join(s.dir, 'machines', name);
    await generateServerCert({
      caCertPath: join(s.dir, 'certs', 'ca.pem'),
      caKeyPath: join(s.dir, 'certs', 'ca-key.pem'),
      certPath: join(dir, 'server.pem'),
      keyPath: join(dir, 'server-key.pem'),
      org: 'unknown.heal1',
      hosts: [bridgeIP, 'localhost'],
      days: 10,
    });
    const short = await serverCert();
    const r = await s.run(['config', name], { timeoutMs: 240_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^--tlsverify\n/);
    assert.match(
      r.stderr,
      new RegExp(
        `The machine's server certificate expires on ${new Date(short.validTo).toISOString().slice(0, 10)}: issuing a new one`,
      ),
    );
    const renewed = await serverCert();
    assert.ok(Date.parse(renewed.validTo) - Date.now() > 1000 * 86_400_000, renewed.validTo);
    const k = await keepState();
    assert.equal(k.code, 0, k.stderr);
    assert.equal(k.stdout.trim().split('\n')[1], startedAt);
  });

  test('a new CA (one that ends in 10 days): env reissues the server certificate from it and warns; regenerate-certs --client-certs renews the CA', async () => {
    const certs = join(s.dir, 'certs');
    const files = ['ca.pem', 'ca-key.pem', 'cert.pem', 'key.pem'];
    for (const f of files) await rm(join(certs, f));
    await bootstrapCertificates(
      {
        CertDir: certs,
        CaCertPath: join(certs, 'ca.pem'),
        CaPrivateKeyPath: join(certs, 'ca-key.pem'),
        ClientCertPath: join(certs, 'cert.pem'),
        ClientKeyPath: join(certs, 'key.pem'),
      },
      () => {},
      { days: 10, env: {} },
    );
    const r = await keepState();
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim().split('\n')[1], startedAt);
    assert.match(
      r.stderr,
      /The machine's server certificate was not signed by the store's current CA: issuing a new one/,
    );
    assert.match(
      r.stderr,
      /Warning: the CA certificate .* expires on .*'docker-machine regenerate-certs --client-certs heal1' renews it/,
    );
    const ca = new X509Certificate(await readFile(join(certs, 'ca.pem')));
    assert.ok((await serverCert()).checkIssued(ca));

    const renew = await s.run(['regenerate-certs', '-f', '--client-certs', name], { timeoutMs: 240_000 });
    assert.equal(renew.code, 0, `${renew.stdout}\n${renew.stderr}`);
    assert.match(renew.stdout, /CA certificate is outdated and needs to be regenerated/);
    assert.match(
      renew.stdout,
      /The store's CA is new: the other machines' server certificates were signed by the old one/,
    );
    const newCA = new X509Certificate(await readFile(join(certs, 'ca.pem')));
    assert.ok(Date.parse(newCA.validTo) - Date.now() > 1000 * 86_400_000);
    const after = await keepState();
    assert.equal(after.code, 0, after.stderr);
    assert.equal(after.stderr, '', 'no warning and nothing to heal');
    assert.equal(after.stdout.trim().split('\n')[1], startedAt);
  });

  test('restart: the machine came back at another address, and restart reissues the certificate', async () => {
    await setAddress('127.0.0.1');
    const r = await s.run(['restart', name], { timeoutMs: 400_000 });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(
      r.stdout,
      /The machine's address changed to 127\.0\.0\.1, which its certificate does not name: issuing a new one/,
    );
    assert.ok((await serverCert()).checkIP('127.0.0.1'));
    const v = await withEnv("docker version --format '{{.Server.Version}}'");
    assert.equal(v.code, 0, v.stderr);
    assert.equal(v.stdout, '20.10.24+dfsg1\n');
    assert.equal(v.stderr, '');
  });
});
