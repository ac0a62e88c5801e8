// Bundles the CLI and the library API into single files that run with no node_modules beside them.
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { bundleOptions } from './bundle-options.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

const { common, noNativeAddons } = bundleOptions(root, pkg);

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
