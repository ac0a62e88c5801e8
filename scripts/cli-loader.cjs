'use strict';
// dist/docker-machine.cjs: runs a CLI bundle through V8's code cache. Two bundles sit beside this
// file: dist/cli-light.cjs holds only the light commands (ls, env, url, ...: what people run many
// times a day), dist/cli.cjs everything. The command line picks one; the light bundle checks the
// choice with its own flag parser and hands anything else to the full one before doing anything.
//
// Compiling a bundle is about 11 ms of every command on a 2-core machine; with the cache an
// earlier run left, most of that is skipped. The caches sit in the user's cache folder, named by
// the bundle's size and time and the runtime's version; the light bundle has one per command, so
// that each holds exactly the functions its command runs. A missing, stale or unwritable cache
// only means the bundle compiles as usual, and where node:vm lacks what this needs the bundle is
// simply required.
const fs = require('node:fs');
const path = require('node:path');

// Keep in step with src/cli/light-commands.ts (src/cli/light-commands.test.ts checks it).
const LIGHT = ['active', 'config', 'env', 'inspect', 'ip', 'ls', 'url'];
// The global flags that take a value (src/cli/globals.ts): the word after them is not a command.
const VALUED = [
  's',
  'storage-path',
  'tls-ca-cert',
  'tls-ca-key',
  'tls-client-cert',
  'tls-client-key',
  'github-api-token',
  'bugsnag-api-token',
];

/** The command word of a command line, as far as a quick look can tell. */
function commandOf(args) {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') return args[i + 1];
    if (a.length < 2 || a[0] !== '-') return a;
    const name = a.slice(a[1] === '-' ? 2 : 1);
    if (!name.includes('=') && VALUED.includes(name)) i++;
  }
  return undefined;
}

/** The bundle compiled with its cache, as a function that runs it; null where that cannot be done. */
function compileWithCache(file, cacheTag) {
  const vm = require('node:vm');
  // The loader's own module is an instance of Node's Module: no need to load node:module.
  const Module = typeof module.constructor.wrap === 'function' ? module.constructor : require('node:module');
  // The bundles have no import() (scripts/build.mjs turns those into require), which a script
  // compiled here could not run.
  if (typeof Module.wrap !== 'function' || typeof vm.Script !== 'function') return null;
  let cache;
  let cached;
  try {
    const st = fs.statSync(file);
    const env = process.env;
    const base =
      env.XDG_CACHE_HOME ||
      (env.HOME ? path.join(env.HOME, '.cache') : path.join(require('node:os').homedir(), '.cache'));
    const build = `${st.size}-${Math.floor(st.mtimeMs)}-${process.version}-${process.arch}`;
    const stem = path.basename(file, '.cjs');
    cache = {
      dir: path.join(base, 'docker-machine'),
      name: `${stem}-${build}${cacheTag ? `-${cacheTag}` : ''}.v8`,
      // Caches of this bundle from other builds; the full bundle's names start with a digit.
      stale: (f) =>
        f.endsWith('.v8') &&
        (stem === 'cli' ? /^cli-\d/.test(f) : f.startsWith(`${stem}-`)) &&
        !f.startsWith(`${stem}-${build}`),
    };
    cached = fs.readFileSync(path.join(cache.dir, cache.name));
  } catch {}
  const script = new vm.Script(Module.wrap(fs.readFileSync(file, 'utf8')), {
    filename: file,
    cachedData: cached,
  });
  if (cache && (!cached || script.cachedDataRejected)) {
    // At exit the cache also holds the functions this run compiled lazily.
    process.once('exit', () => saveCache(cache, script));
  }
  const mod = new Module(file, module);
  mod.filename = file;
  mod.paths = Module._nodeModulePaths ? Module._nodeModulePaths(__dirname) : [];
  return () =>
    script.runInThisContext().call(mod.exports, mod.exports, (id) => mod.require(id), mod, file, __dirname);
}

function saveCache(cache, script) {
  try {
    fs.mkdirSync(cache.dir, { recursive: true, mode: 0o700 });
    const file = path.join(cache.dir, cache.name);
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, script.createCachedData(), { mode: 0o600 });
    fs.renameSync(tmp, file);
    // Caches of earlier builds are of no use any more.
    for (const f of fs.readdirSync(cache.dir)) {
      if (cache.stale(f)) fs.rmSync(path.join(cache.dir, f), { force: true });
    }
  } catch {}
}

function runBundle(name, cacheTag) {
  const file = path.join(__dirname, name);
  let run = null;
  try {
    run = compileWithCache(file, cacheTag);
  } catch {}
  if (run) run();
  else require(file);
}

const command = commandOf(process.argv.slice(2));
if (LIGHT.includes(command)) {
  // How the light bundle hands over a command line it does not hold (see src/main-light.ts).
  globalThis[Symbol.for('docker-machine.run-full-cli')] = () => runBundle('cli.cjs');
  runBundle('cli-light.cjs', command);
} else {
  runBundle('cli.cjs');
}
