// Bundles the CLI and the library API into single files that run with no node_modules beside them.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

function gitCommit() {
  try {
    return execFileSync('git', ['rev-parse', '--short=8', 'HEAD'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .trim();
  } catch {
    return 'dev';
  }
}

// ssh2 (loaded by later drivers) tries optional native addons inside try/catch; make them throw so
// that its pure-JS code is used and nothing outside the bundle is required.
const noNativeAddons = {
  name: 'no-native-addons',
  setup(b) {
    b.onResolve({ filter: /\.node$|^cpu-features$/ }, (args) => ({
      path: args.path,
      namespace: 'no-native',
    }));
    b.onLoad({ filter: /.*/, namespace: 'no-native' }, () => ({
      contents: 'throw new Error("native addon not bundled");',
      loader: 'js',
    }));
  },
};

// ssh2 is two thirds of the code, and only --native-ssh uses it: it goes into a file of its own
// beside the bundles, read on first use, so that every other command starts without parsing it.
const ssh2Beside = {
  name: 'ssh2-beside',
  setup(b) {
    b.onResolve({ filter: /^ssh2$/ }, (args) => ({ path: args.path, namespace: 'ssh2-beside' }));
    b.onLoad({ filter: /.*/, namespace: 'ssh2-beside' }, () => ({
      contents: 'module.exports = require(require("node:path").join(__dirname, "ssh2.cjs"));',
      loader: 'js',
    }));
  },
};

// import('node:x') of Node's own modules would stay a real dynamic import in a CommonJS bundle,
// which a script compiled through node:vm (the code-cache loader) cannot run. As require()
// behind a promise they load as lazily and need nothing of the loader.
const builtinsByRequire = {
  name: 'builtins-by-require',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (args) =>
      args.kind === 'dynamic-import' ? { path: args.path, namespace: 'builtin-require' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'builtin-require' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
  plugins: [noNativeAddons, ssh2Beside, builtinsByRequire],
  define: {
    __DM_VERSION__: JSON.stringify(pkg.version),
    __DM_COMMIT__: JSON.stringify(gitCommit()),
    // The qemu segment hub runs as a process of its own, from this file beside the bundles.
    __DM_SEGMENT_HUB__: JSON.stringify('qemu-segment-hub.cjs'),
    // A CommonJS bundle has no import.meta (esbuild makes it {} and warns); source-only branches
    // read import.meta.url, so say it is undefined here, as it would be, without the warning.
    'import.meta.url': 'undefined',
  },
};

await Promise.all([
  build({
    ...common,
    entryPoints: [join(root, 'src/main.ts')],
    outfile: join(root, 'dist/cli.cjs'),
  }),
  // The light commands (src/cli/light-commands.ts) alone: what most command lines run, a third of
  // the full bundle's size. The loader picks it from the command line.
  build({
    ...common,
    entryPoints: [join(root, 'src/main-light.ts')],
    outfile: join(root, 'dist/cli-light.cjs'),
  }),
  build({ ...common, entryPoints: [join(root, 'src/api/index.ts')], outfile: join(root, 'dist/api.cjs') }),
  build({
    ...common,
    entryPoints: [join(root, 'src/drivers/qemu/segment-hub-main.ts')],
    outfile: join(root, 'dist/qemu-segment-hub.cjs'),
  }),
  build({
    ...common,
    plugins: [noNativeAddons],
    stdin: { contents: 'module.exports = require("ssh2");', resolveDir: root, loader: 'js' },
    outfile: join(root, 'dist/ssh2.cjs'),
  }),
]);

// The entry users run: a small loader that compiles dist/cli.cjs with V8's code cache.
mkdirSync(join(root, 'dist'), { recursive: true });
copyFileSync(join(root, 'scripts/cli-loader.cjs'), join(root, 'dist/docker-machine.cjs'));
