// The esbuild options every bundle shares: the Node bundles (scripts/build.mjs) and the one the
// single-file executables are compiled from (scripts/build-standalone.mjs), so that both run the
// same code with the same version and commit.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, sep } from 'node:path';

function gitCommit(root) {
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
export const noNativeAddons = {
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
export const ssh2Beside = {
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
export const builtinsByRequire = {
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

/**
 * src/runtime/fs.ts and path.ts are node:fs and node:path under Node; the single-file executable
 * gets their .bun.ts twins, which do what the light commands need without loading Bun's node:fs
 * and node:path (about 1.5 ms of a 15 ms `env`).
 */
export function bunRuntimeModules(root) {
  const dir = join(root, 'src', 'runtime');
  return {
    name: 'bun-runtime-modules',
    setup(b) {
      b.onResolve({ filter: /(^|\/)runtime\/(fs|path)\.js$/ }, (args) => {
        const twin = join(args.resolveDir, args.path).replace(/\.js$/, '.bun.ts');
        if (!twin.startsWith(dir + sep)) return undefined;
        if (!existsSync(twin)) throw new Error(`${twin} is missing`);
        return { path: twin };
      });
    },
  };
}

/** The version and commit every build carries (`docker-machine --version`). */
export function buildDefines(root, pkg) {
  return {
    __DM_VERSION__: JSON.stringify(pkg.version),
    __DM_COMMIT__: JSON.stringify(gitCommit(root)),
    // A CommonJS bundle has no import.meta (esbuild makes it {} and warns); source-only branches
    // read import.meta.url, so say it is undefined here, as it would be, without the warning.
    'import.meta.url': 'undefined',
  };
}

/** The options of the Node bundles. */
export function bundleOptions(root, pkg) {
  return {
    noNativeAddons,
    common: {
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      minify: true,
      legalComments: 'none',
      logLevel: 'warning',
      plugins: [noNativeAddons, ssh2Beside, builtinsByRequire],
      define: {
        ...buildDefines(root, pkg),
        // The qemu segment hub runs as a process of its own, from this file beside the bundles.
        __DM_SEGMENT_HUB__: JSON.stringify('qemu-segment-hub.cjs'),
      },
    },
  };
}
