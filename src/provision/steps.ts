import { join } from 'node:path';
import { certOrganization } from '../cert/bootstrap.js';
import { ensureClientCertCopies } from '../cert/client-copies.js';
import { generateServerCert } from '../cert/server.js';
import { isSSHEngine } from '../engine/endpoint.js';
import { goQuote } from '../errors.js';
import type { HostConfig } from '../store/host.js';
import type { BatchStep } from './batch.js';
import type { ProvisionContext } from './context.js';
import { REMOTE_CERT_DIR } from './daemon-options.js';

const HOSTS_TMP = '/tmp/docker-machine-hosts';

/** The machine's hostname, and its /etc/hosts line, as the original sets them (spec §5.2). */
export function hostnameSteps(ctx: ProvisionContext, sudo: string): BatchStep[] {
  const n = ctx.name;
  return [
    { cmd: `${sudo}hostname ${n} && echo ${goQuote(n)} | ${sudo}tee /etc/hostname >/dev/null` },
    {
      // Rewritten in place, not with sed -i: in a container /etc/hosts is a bind mount, which
      // cannot be replaced by a rename.
      cmd: `if ! grep -xq '.*\\s${n}' /etc/hosts; then if grep -xq '127.0.1.1\\s.*' /etc/hosts; then sed 's/^127.0.1.1\\s.*/127.0.1.1 ${n}/g' /etc/hosts > ${HOSTS_TMP} && ${sudo}tee /etc/hosts < ${HOSTS_TMP} >/dev/null && rm -f ${HOSTS_TMP}; else echo '127.0.1.1 ${n}' | ${sudo}tee -a /etc/hosts >/dev/null; fi; fi`,
    },
  ];
}

/**
 * A new server certificate in the machine's folder, for the names it is reached by: the --tls-san
 * entries, its IP, the driver's extra names, localhost (the original's order).
 */
export async function makeServerCert(
  config: HostConfig,
  name: string,
  ip: string,
  certSANs: string[],
): Promise<void> {
  const auth = config.HostOptions.AuthOptions;
  await generateServerCert({
    caCertPath: auth.CaCertPath,
    caKeyPath: auth.CaPrivateKeyPath,
    certPath: auth.ServerCertPath,
    keyPath: auth.ServerKeyPath,
    org: `${certOrganization()}.${name}`,
    hosts: [...auth.ServerCertSANs, ip, ...certSANs, 'localhost'],
  });
}

/** The TLS files the engine gets, by their names in its certificate folder; the key private. */
export function machineCertFiles(config: HostConfig): { local: string; name: string; umask: string }[] {
  const auth = config.HostOptions.AuthOptions;
  return [
    { local: auth.CaCertPath, name: 'ca.pem', umask: '022' },
    { local: auth.ServerCertPath, name: 'server.pem', umask: '022' },
    { local: auth.ServerKeyPath, name: 'server-key.pem', umask: '077' },
  ];
}

/**
 * A new server certificate for the machine's names, and the steps that put the CA and server
 * files on the machine. The PEMs travel on stdin, never on a command line where `ps` would show
 * the private key.
 */
export async function certificateSteps(
  ctx: ProvisionContext,
  sudo: string,
  dir = REMOTE_CERT_DIR,
): Promise<BatchStep[]> {
  if (isSSHEngine(ctx.config)) {
    ctx.info('The engine is reached over SSH only: it gets no TLS port and no server certificate');
    return [];
  }
  ctx.info('Copying certs to the local machine directory...');
  await ensureClientCertCopies(ctx.config, { overwrite: true });
  await makeServerCert(ctx.config, ctx.name, ctx.ip, ctx.certSANs);
  ctx.info('Copying certs to the remote machine...');
  const { readFile } = await import('node:fs/promises');
  const files = await Promise.all(
    machineCertFiles(ctx.config).map(async (f) => ({
      cmd: `${sudo}sh -c 'umask ${f.umask} && cat > ${join(dir, f.name)}'`,
      input: await readFile(f.local, 'utf8'),
    })),
  );
  return [{ cmd: `${sudo}mkdir -p ${dir}` }, ...files];
}
