import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { build, type Metafile } from 'esbuild';

const root = join(import.meta.dirname, '..', '..');

/**
 * What the executable's light commands load when all goes well: the entry, the command's module,
 * and the modules it imports on that way (the none driver, the connection check, the certificate
 * health look). ls is left out: it reads the config cache and the sessions of node:tls with
 * node:fs, and is under its target without that.
 */
const LIGHT_PATH = [
  'src/main-standalone.ts',
  'src/cli/env.ts',
  'src/cli/config.ts',
  'src/cli/url.ts',
  'src/cli/ip.ts',
  'src/cli/inspect.ts',
  'src/cli/active.ts',
  'src/api/connection.ts',
  'src/api/cert-health.ts',
  'src/drivers/none/index.ts',
];

/** The Node modules `from` loads, statically, with the module that imports each. */
function builtinsOf(meta: Metafile, from: string): Map<string, string> {
  const found = new Map<string, string>();
  const seen = new Set<string>();
  const todo = [from];
  for (let f = todo.pop(); f !== undefined; f = todo.pop()) {
    if (seen.has(f)) continue;
    seen.add(f);
    for (const i of meta.inputs[f]?.imports ?? []) {
      if (i.kind === 'dynamic-import') continue;
      if (i.external) found.set(i.path, f);
      else todo.push(i.path);
    }
  }
  return found;
}

test("the executable's light commands load neither node:fs nor node:path when all goes well", async () => {
  const options = (await import(pathToFileURL(join(root, 'scripts', 'bundle-options.mjs')).href)) as {
    bunRuntimeModules(root: string): import('esbuild').Plugin;
    noNativeAddons: import('esbuild').Plugin;
  };
  const r = await build({
    absWorkingDir: root,
    entryPoints: LIGHT_PATH,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    outdir: join(root, 'dist', '.light-path-check'),
    write: false,
    metafile: true,
    logLevel: 'silent',
    plugins: [options.noNativeAddons, options.bunRuntimeModules(root)],
    define: { __DM_SEGMENT_HUB_ARG__: '"x"', __DM_VERSION__: '"x"', __DM_COMMIT__: '"x"' },
  });
  for (const from of LIGHT_PATH) {
    const builtins = builtinsOf(r.metafile, from);
    assert.ok(r.metafile.inputs[from], `${from} is in the build`);
    for (const name of ['node:fs', 'node:fs/promises', 'node:path']) {
      assert.equal(builtins.get(name), undefined, `${from} loads ${name} (through ${builtins.get(name)})`);
    }
  }
  // The check sees what it should: without the twins, env does load both.
  const plain = await build({
    absWorkingDir: root,
    entryPoints: ['src/cli/env.ts'],
    bundle: true,
    format: 'esm',
    platform: 'node',
    write: false,
    metafile: true,
    logLevel: 'silent',
    plugins: [options.noNativeAddons],
  });
  const plainBuiltins = builtinsOf(plain.metafile, 'src/cli/env.ts');
  assert.ok(plainBuiltins.has('node:fs') && plainBuiltins.has('node:path'));
});
