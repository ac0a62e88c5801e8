import { X509Certificate } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { errorMessage, fsError, MachineError } from '../errors.js';
import {
  collectFiles,
  decodePayload,
  type ExportedAuth,
  type ExportedFile,
  encodePayload,
  type Payload,
  PayloadError,
  rewritePaths,
} from '../export/bundle.js';
import { DEFAULT_COST, open, type ScryptCost, SealError, seal } from '../export/format.js';
import { goMarshalIndent } from '../format/gojson.js';
import { processRuns } from '../process-alive.js';
import { writeFileAtomic } from '../store/atomic.js';
import { CONFIG_VERSION, type HostConfig } from '../store/host.js';
import { checkHostV3, SchemaError } from '../store/schema.js';
import { NotExistError, validateMachineName } from '../store/store.js';
import { pauseAt } from '../test-pause.js';
import { VERSION } from '../version.js';
import type { ApiContext } from './context.js';
import { syncMachineContext } from './docker-context.js';
import { type Machine, machineFromConfig } from './machine.js';

export interface ExportRequest {
  passphrase: string;
  /** Also carry the CA's private key (whoever has the file and passphrase can then sign for the CA). */
  withCA?: boolean;
  /** scrypt's cost; the default is for people, lower ones are for tests. */
  cost?: ScryptCost;
}

export interface ImportRequest {
  passphrase: string;
  /** The name in this store; default the exported machine's name. */
  name?: string;
  /** How errors name the data ("FILE"); default "the export". */
  source?: string;
}

/** One sealed file with the machine's config.json, keys and certificates (docs/export.md). */
export async function exportMachine(ctx: ApiContext, name: string, req: ExportRequest): Promise<Buffer> {
  if (req.passphrase === '') throw new MachineError('Error: the passphrase is empty: nothing was exported');
  if (!(await ctx.store.exists(name))) throw new NotExistError(name);
  // Under the machine's lock: a save or certificate renewal in progress is not caught half-way.
  const payload = await ctx.store.withLock(name, () => readMachine(ctx, name, !!req.withCA), {
    doing: `exporting machine ${name}`,
    log: (message) => ctx.events({ kind: 'info', message }),
  });
  if (payload.skipped.length > 0) {
    const disk = payload.skipped.some((s) => s.reason === 'a disk image');
    ctx.events({
      kind: 'warn',
      message: `Warning: not exported: ${payload.skipped.map((s) => `${s.path} (${s.reason}, ${size(s.size)})`).join(', ')}${
        disk ? `; the machine's disk stays here, so the imported machine cannot start (docs/export.md)` : ''
      }`,
    });
  }
  const plain = encodePayload(payload, goMarshalIndent(payload.config));
  return seal(plain, req.passphrase, req.cost ?? DEFAULT_COST);
}

async function readMachine(ctx: ApiContext, name: string, withCA: boolean): Promise<Payload> {
  const config = await ctx.store.load(name);
  const auth = config.HostOptions.AuthOptions;
  const dir = ctx.store.machineDir(name);
  const { files, skipped } = await collectFiles(dir);
  const read = async (what: string, path: string) => {
    try {
      return await fsp.readFile(path);
    } catch (err) {
      throw new MachineError(
        `Error: cannot export "${name}": ${what} ${path} cannot be read: ${errorMessage(fsError('reading', path, err))}`,
      );
    }
  };
  // A CA key kept in the machine folder (a machine imported with its own CA) is the CA's key too.
  const caKeyPath = resolve(auth.CaPrivateKeyPath || join(ctx.store.certsDir, 'ca-key.pem'));
  const kept = files.filter((f) => resolve(dir, f.path) !== caKeyPath);
  if (!withCA && kept.length < files.length) {
    skipped.push({
      path: 'ca-key.pem',
      size: files.find((f) => resolve(dir, f.path) === caKeyPath)?.data.length ?? 0,
      reason: "the CA's private key; export with --with-ca to include it",
    });
  }
  const exportedAuth: ExportedAuth = {
    ca: await read('its CA certificate', auth.CaCertPath),
    cert: await read('its client certificate', auth.ClientCertPath),
    key: await read('its client key', auth.ClientKeyPath),
    ...(withCA ? { caKey: await read("its CA's private key", caKeyPath) } : {}),
  };
  return {
    machine: name,
    driver: config.DriverName,
    store: ctx.store.root,
    exported: new Date().toISOString(),
    tool: VERSION,
    config,
    files: withCA ? files : kept,
    auth: exportedAuth,
    skipped,
  };
}

function size(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

function parseConfig(text: string): HostConfig {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new PayloadError('its config.json is not JSON');
  }
  const version = (v as { ConfigVersion?: unknown } | null)?.ConfigVersion;
  if (version !== CONFIG_VERSION) {
    throw new PayloadError(
      `its config.json has ConfigVersion ${String(version)}; this version reads ${CONFIG_VERSION}`,
    );
  }
  try {
    return checkHostV3(v);
  } catch (err) {
    if (err instanceof SchemaError) throw new PayloadError(`its config.json: ${err.message}`);
    throw err;
  }
}

/**
 * Add an exported machine to this store. Everything that can be refused (the passphrase, a
 * changed file, the name) is before anything is written; the machine's folder is then made
 * whole in a hidden folder and renamed into place, so a kill leaves it there whole or not at all.
 */
export async function importMachine(ctx: ApiContext, data: Buffer, req: ImportRequest): Promise<Machine> {
  const source = req.source ?? 'the export';
  let payload: Payload;
  try {
    payload = decodePayload(await open(data, req.passphrase), parseConfig);
  } catch (err) {
    if (err instanceof SealError) throw new MachineError(`Error: cannot decrypt ${source}: ${err.reason}`);
    if (err instanceof PayloadError) throw new MachineError(`Error: cannot import ${source}: ${err.message}`);
    throw err;
  }
  const name = req.name ?? payload.machine;
  validateMachineName(name);
  const { hasDriver } = await import('../drivers/registry.js');
  if (!hasDriver(payload.config.DriverName)) {
    throw new MachineError(
      `Error: cannot import ${source}: its machine uses the driver "${payload.config.DriverName}", which this version does not have`,
    );
  }
  const taken = () =>
    new MachineError(
      `Error: Docker machine "${name}" already exists in this store (${ctx.store.root}): import it under another name with --name NEW`,
    );
  if (await ctx.store.exists(name)) throw taken();

  const config = await ctx.store.withLock(
    name,
    async () => {
      if (await ctx.store.exists(name)) throw taken();
      return placeMachine(ctx, payload, name);
    },
    { doing: `importing machine ${name}`, log: (message) => ctx.events({ kind: 'info', message }) },
  );
  for (const s of payload.skipped) {
    ctx.events({
      kind: 'warn',
      message: `Warning: not in the export: ${s.path} (${s.reason}, ${size(s.size)})`,
    });
  }
  const machine = await machineFromConfig(config);
  await syncMachineContext(ctx, machine);
  return machine;
}

const IMPORTING = '.importing-';
const IMPORTING_RE = /^\.importing-(\d+)-/;
let counter = 0;

async function placeMachine(ctx: ApiContext, payload: Payload, name: string): Promise<HostConfig> {
  const store = ctx.store;
  await fsp.mkdir(store.machinesDir, { recursive: true, mode: 0o700 });
  await sweepImports(store.machinesDir);
  // Hidden (never listed as a machine) and in machines/ (the rename stays on one file system).
  const tmp = join(store.machinesDir, `${IMPORTING}${process.pid}-${++counter}`);
  await fsp.mkdir(tmp, { mode: 0o700 });
  try {
    const dir = store.machineDir(name);
    const files = new Map<string, ExportedFile>(payload.files.map((f) => [f.path, f]));
    const plan = await planCertificates(ctx, payload.auth);
    const own: [string, Buffer | undefined, number][] = [
      ['ca.pem', payload.auth.ca, 0o644],
      ['cert.pem', payload.auth.cert, 0o644],
      ['key.pem', payload.auth.key, 0o600],
    ];
    if (plan.kind === 'own') own.push(['ca-key.pem', payload.auth.caKey, 0o600]);
    for (const [file, content, mode] of own) {
      // Its own CA: the folder's copies are what its AuthOptions name. Shared: copies if missing.
      if (content && (plan.kind === 'own' || !files.has(file)))
        files.set(file, { path: file, mode, data: content });
    }
    for (const f of files.values()) await writeNew(join(tmp, f.path), f.data, fileMode(f));
    let config = rewritePaths(
      payload.config,
      { store: payload.store, name: payload.machine },
      { store: store.root, name },
    );
    const auth = { ...config.HostOptions.AuthOptions, CertDir: store.certsDir };
    if (plan.kind === 'own') {
      auth.CaCertPath = join(dir, 'ca.pem');
      auth.CaPrivateKeyPath = join(dir, 'ca-key.pem');
      auth.ClientCertPath = join(dir, 'cert.pem');
      auth.ClientKeyPath = join(dir, 'key.pem');
    } else {
      Object.assign(auth, plan.paths);
    }
    config = { ...config, HostOptions: { ...config.HostOptions, AuthOptions: auth } };
    await writeNew(join(tmp, 'config.json'), Buffer.from(goMarshalIndent(config)), 0o600);
    await syncDir(tmp);
    if (plan.kind === 'adopt') await adoptCA(ctx, payload.auth, plan.paths);
    if (plan.kind === 'own') {
      ctx.events({
        kind: 'info',
        message: `The machine keeps the CA it was made with (${plan.storeHasCA ? "this store's CA is another one" : 'this store has none; an export made with --with-ca would give it this one'}): its CA and client certificates are in ${dir}`,
      });
    }
    await pauseAt('import-before-rename');
    await fsp.rename(tmp, dir);
    await syncDir(store.machinesDir);
    return config;
  } catch (err) {
    await fsp.rm(tmp, { recursive: true, force: true }).catch(() => {});
    throw err;
  }
}

interface CertPaths {
  CaCertPath: string;
  CaPrivateKeyPath: string;
  ClientCertPath: string;
  ClientKeyPath: string;
}

type CertPlan =
  /** The store's CA is the machine's: its AuthOptions name the store's files. */
  | { kind: 'shared'; paths: CertPaths }
  /** A store without a CA takes the exported one (--with-ca). */
  | { kind: 'adopt'; paths: CertPaths }
  /** Another CA, or none: the machine keeps its own in its folder, so that both keep working. */
  | { kind: 'own'; storeHasCA: boolean };

async function planCertificates(ctx: ApiContext, auth: ExportedAuth): Promise<CertPlan> {
  const certs = ctx.store.certsDir;
  const paths: CertPaths = {
    CaCertPath: ctx.certs.caCert || join(certs, 'ca.pem'),
    CaPrivateKeyPath: ctx.certs.caKey || join(certs, 'ca-key.pem'),
    ClientCertPath: ctx.certs.clientCert || join(certs, 'cert.pem'),
    ClientKeyPath: ctx.certs.clientKey || join(certs, 'key.pem'),
  };
  const storeCA = await readIfThere(paths.CaCertPath);
  if (storeCA) {
    return sameCertificate(storeCA, auth.ca) ? { kind: 'shared', paths } : { kind: 'own', storeHasCA: true };
  }
  const overridden = Object.values(ctx.certs).some(Boolean);
  if (auth.caKey && !overridden && !(await readIfThere(paths.CaPrivateKeyPath)))
    return { kind: 'adopt', paths };
  return { kind: 'own', storeHasCA: false };
}

/** The exported CA (and its client pair, where the store has none) become the store's. */
async function adoptCA(ctx: ApiContext, auth: ExportedAuth, paths: CertPaths): Promise<void> {
  await ctx.store.withStoreLock(
    'certs',
    async () => {
      await fsp.mkdir(ctx.store.certsDir, { recursive: true, mode: 0o700 });
      // Another command may have made a CA meanwhile: then this one is not the store's to take.
      if ((await readIfThere(paths.CaCertPath)) || (await readIfThere(paths.CaPrivateKeyPath))) {
        throw new MachineError(
          `Error: the store got a CA of its own while this import ran (${paths.CaCertPath}); import again`,
        );
      }
      // Key first, certificate last, as bootstrap writes them (cert/files.ts).
      await writeFileAtomic(paths.CaPrivateKeyPath, auth.caKey as Buffer, 0o600);
      await writeFileAtomic(paths.CaCertPath, auth.ca, 0o644);
      if (!(await readIfThere(paths.ClientCertPath)) && !(await readIfThere(paths.ClientKeyPath))) {
        await writeFileAtomic(paths.ClientKeyPath, auth.key, 0o600);
        await writeFileAtomic(paths.ClientCertPath, auth.cert, 0o644);
      }
      ctx.events({ kind: 'info', message: `The exported CA is now this store's CA: ${paths.CaCertPath}` });
    },
    {
      doing: "taking the exported CA as the store's",
      log: (message) => ctx.events({ kind: 'info', message }),
    },
  );
}

function sameCertificate(a: Buffer, b: Buffer): boolean {
  try {
    return new X509Certificate(a).raw.equals(new X509Certificate(b).raw);
  } catch {
    return a.equals(b);
  }
}

async function readIfThere(path: string): Promise<Buffer | undefined> {
  try {
    return await fsp.readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw fsError('reading', path, err);
  }
}

/** Private keys are 0600 whatever mode they travelled with; nothing gets more than 0755. */
function fileMode(f: ExportedFile): number {
  const secret = /PRIVATE KEY-----/.test(f.data.toString('latin1')) || /(^|\/)id_[a-z0-9]+$/.test(f.path);
  return secret ? 0o600 : f.mode & 0o755;
}

async function writeNew(path: string, data: Buffer, mode: number): Promise<void> {
  try {
    await fsp.mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const fh = await fsp.open(path, 'wx', mode);
    try {
      await fh.writeFile(data);
      await fh.chmod(mode);
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (err) {
    throw fsError('writing', path, err);
  }
}

async function syncDir(path: string): Promise<void> {
  const fh = await fsp.open(path, 'r').catch(() => undefined);
  if (!fh) return;
  await fh.sync().catch(() => {});
  await fh.close();
}

/** Folders of imports whose process was killed before the rename. */
async function sweepImports(machinesDir: string): Promise<void> {
  for (const n of await fsp.readdir(machinesDir).catch(() => [] as string[])) {
    const m = IMPORTING_RE.exec(n);
    if (!m || processRuns(Number(m[1]))) continue;
    await fsp.rm(join(machinesDir, n), { recursive: true, force: true }).catch(() => {});
  }
}
