// Builds the single-file executables of the CLI (no Node.js needed to run them) with Bun's
// compiler: dist/standalone/docker-machine-{linux,darwin}-{x64,arm64} and SHA256SUMS beside them.
//
//   node scripts/build-standalone.mjs [--target linux-x64 ...]
//
// The code is the Node build's (same sources, same esbuild options, same version and commit),
// bundled into one CommonJS file that Bun compiles. Bun itself, and the runtime of each target,
// come from Bun's own npm packages (@oven/bun-OS-ARCH), fetched with `npm pack` into a cache
// folder and checked against the integrity pinned below: the compiler never downloads anything.
// Their os/cpu fields keep `npm install` from installing another platform's package, which is why
// they are not dependencies.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { buildDefines, bunRuntimeModules, noNativeAddons } from './bundle-options.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

// One Bun release for the compiler and every target's runtime; upgrading means changing the
// version and the four integrities (`npm view @oven/bun-linux-x64@VERSION dist.integrity`).
const BUN_VERSION = '1.4.5';
const RUNTIMES = {
  'linux-x64': {
    pkg: 'bun-linux-x64',
    integrity:
      'sha512-IWX9BELoGHAUtMonkeSaNaZwXzRk+oDw6Mk+HBFXd3KHYIBNBsIGRupMZPcgNoDbJpLu6gAJjIoIVPZtt1aJ1g==',
  },
  'linux-arm64': {
    pkg: 'bun-linux-aarch64',
    integrity:
      'sha512-4BXmsSKnjOrlGWqZV4x/oWa7AVoR+B6lCXddMzOAXBIm3t50eslg9wb66gmtW1AamEQ1l1CDvmmruysEhqOWMg==',
  },
  'darwin-x64': {
    pkg: 'bun-darwin-x64',
    integrity:
      'sha512-qkLPMGHZM9NI6CeHTWwVezzmlo6cC4Ta7yUAjYIWXS366qQcOlcp75t2uZyiuVRBMPS0h9qE0tCcvCHGaFqjJg==',
  },
  'darwin-arm64': {
    pkg: 'bun-darwin-aarch64',
    integrity:
      'sha512-4MIFXHmctH2EhAxLXm2/qxNtv17dFtLJylvaOCsrgq6KSqHTs6eW5YSrJjRbJxYUJaR901fsN8JfZOa+CsWpWQ==',
  },
};

// What the executable gives its first argument to run the qemu segment hub instead of the CLI
// (src/main-standalone.ts, src/drivers/qemu/segment.ts).
const SEGMENT_HUB_ARG = '--run-qemu-segment-hub';

// An ES module made by esbuild from a CommonJS package exports only `default`, where Node (and
// the CommonJS bundles) give its properties as named exports too: `const { Client } = await
// import('ssh2')` would get undefined. The package's import() gets a module of its own that
// exports each property by name, as Node's import of it does.
function cjsNamedExports(pkgName) {
  const names = Object.keys(createRequire(join(root, 'package.json'))(pkgName)).filter((k) =>
    /^[A-Za-z_$][\w$]*$/.test(k),
  );
  const filter = new RegExp(`^${pkgName}$`);
  return {
    name: 'cjs-named-exports',
    setup(b) {
      b.onResolve({ filter }, (args) =>
        args.kind === 'dynamic-import' || args.kind === 'import-statement'
          ? { path: pkgName, namespace: 'cjs-named-exports' }
          : undefined,
      );
      b.onLoad({ filter: /.*/, namespace: 'cjs-named-exports' }, () => ({
        contents: [
          `const m = require(${JSON.stringify(pkgName)});`,
          ...names.map((n) => `export const ${n} = m.${n};`),
          'export default m;',
        ].join('\n'),
        resolveDir: root,
        loader: 'js',
      }));
    },
  };
}

function fail(message) {
  process.stderr.write(`build-standalone: ${message}\n`);
  process.exit(1);
}

function parseTargets(argv) {
  const targets = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = a === '--target' ? argv[++i] : a.startsWith('--target=') ? a.slice(9) : undefined;
    if (value === undefined) fail(`unknown argument '${a}'; use --target ${Object.keys(RUNTIMES).join('|')}`);
    for (const t of value.split(',')) {
      if (!RUNTIMES[t]) fail(`unknown target '${t}'; use one of ${Object.keys(RUNTIMES).join(', ')}`);
      targets.push(t);
    }
  }
  return targets.length > 0 ? [...new Set(targets)] : Object.keys(RUNTIMES);
}

function cacheRoot() {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'docker-machine-build', `bun-${BUN_VERSION}`);
}

/** The bun executable of one target, from its npm package (fetched once, integrity checked). */
function runtime(target) {
  const { pkg: name, integrity } = RUNTIMES[target];
  const dir = join(cacheRoot(), target);
  const exe = join(dir, 'bun');
  if (existsSync(exe)) return exe;
  const work = `${dir}.${process.pid}.tmp`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    const spec = `@oven/${name}@${BUN_VERSION}`;
    process.stderr.write(`fetching ${spec}\n`);
    const packed = JSON.parse(
      execFileSync('npm', ['pack', spec, '--pack-destination', work, '--json', '--loglevel=error'], {
        stdio: ['ignore', 'pipe', 'inherit'],
      }).toString(),
    );
    const tgz = join(work, packed[0].filename);
    const actual = `sha512-${createHash('sha512').update(readFileSync(tgz)).digest('base64')}`;
    if (actual !== integrity) fail(`${spec}: integrity ${actual} is not the pinned ${integrity}`);
    execFileSync('tar', ['-xzf', tgz, '-C', work, 'package/bin/bun']);
    chmodSync(join(work, 'package', 'bin', 'bun'), 0o755);
    renameSync(join(work, 'package', 'bin', 'bun'), join(work, 'bun'));
    rmSync(tgz);
    rmSync(join(work, 'package'), { recursive: true });
    rmSync(dir, { recursive: true, force: true });
    renameSync(work, dir);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return exe;
}

function hostTarget() {
  const arch = { x64: 'x64', arm64: 'arm64' }[process.arch];
  const target = `${process.platform}-${arch}`;
  if (!RUNTIMES[target]) fail(`no Bun compiler for this computer (${process.platform} ${process.arch})`);
  return target;
}

const targets = parseTargets(process.argv.slice(2));
const outDir = join(root, 'dist', 'standalone');
mkdirSync(outDir, { recursive: true });

// Every command, ssh2 (its pure-JS code, the native add-on left out) and the segment hub, all
// inside, since nothing can sit beside an executable; but not in one script. The runtime reads the
// whole of a script it starts, so every driver and every heavy command would be read by each
// light command too. esbuild splits the code at each import() into ES modules (the modules two
// of them share, such as errors.ts with MachineError and the driver registry, in chunks of their
// own, so each class exists once), and Bun compiles those modules into the executable, each
// read on its first import.
const work = join(outDir, `.modules-${process.pid}`);
rmSync(work, { recursive: true, force: true });
// Gone however the build ends: dist/ is what npm packs.
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
await build({
  entryPoints: [join(root, 'src/main-standalone.ts')],
  outdir: work,
  entryNames: '[name]',
  chunkNames: '[name]-[hash]',
  bundle: true,
  splitting: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
  // No builtinsByRequire: the executable runs real import() of Node's modules.
  plugins: [noNativeAddons, cjsNamedExports('ssh2'), bunRuntimeModules(root)],
  define: { ...buildDefines(root, pkg), __DM_SEGMENT_HUB_ARG__: JSON.stringify(SEGMENT_HUB_ARG) },
});
const entry = join(work, 'main-standalone.js');

const compiler = runtime(hostTarget());
const sums = [];
for (const target of targets) {
  const name = `docker-machine-${target}`;
  const out = join(outDir, name);
  execFileSync(
    compiler,
    [
      'build',
      entry,
      '--compile',
      // Bun splits again where esbuild did (at each import()) and embeds every module; with
      // --bytecode each is compiled ahead of time, which ES modules allow since Bun 1.4.
      '--splitting',
      '--format=esm',
      `--target=bun-${target}`,
      `--compile-executable-path=${runtime(target)}`,
      `--outfile=${out}`,
      '--minify',
      '--bytecode',
      // Tier-up thresholds x10 at start: a light command ends before JIT-compiling its code
      // would pay (about 1 ms of CPU less per run); src/main-standalone.ts sets the normal policy
      // back for every other command.
      '--compile-jit-policy=10',
      // Nothing in the directory the command runs in may change what it does: no .env, no
      // bunfig.toml (whose preload would run code inside the CLI), no tsconfig.json or
      // package.json read at run time.
      '--no-compile-autoload-dotenv',
      '--no-compile-autoload-bunfig',
      '--no-compile-autoload-tsconfig',
      '--no-compile-autoload-package-json',
    ],
    { cwd: outDir, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const sum = createHash('sha256').update(readFileSync(out)).digest('hex');
  sums.push(`${sum}  ${name}`);
  process.stderr.write(`${name}: ${(statSync(out).size / 1e6).toFixed(1)} MB\n`);
}

// sha256sum -c / shasum -a 256 -c format. A build of some targets keeps the others' lines.
const sumsFile = join(outDir, 'SHA256SUMS');
const kept = existsSync(sumsFile)
  ? readFileSync(sumsFile, 'utf8')
      .split('\n')
      .filter((l) => l && !targets.some((t) => l.endsWith(`  docker-machine-${t}`)))
      .filter((l) => existsSync(join(outDir, l.slice(l.indexOf('  ') + 2))))
  : [];
writeFileSync(
  sumsFile,
  `${[...kept, ...sums].sort((a, b) => a.slice(66).localeCompare(b.slice(66))).join('\n')}\n`,
);
