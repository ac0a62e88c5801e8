'use strict';
// dist/docker-machine.cjs: runs the CLI bundle (dist/cli.cjs) through V8's code cache. Compiling
// the bundle is about 11 ms of every command on a 2-core machine; with the cache an earlier run
// left, most of that is skipped. The cache sits in the user's cache folder, named by the bundle's
// size and time and the runtime's version; a missing, stale or unwritable cache only means the
// bundle compiles as usual, and where node:vm lacks what this needs the bundle is simply required.
const fs = require('node:fs');
const path = require('node:path');

const file = path.join(__dirname, 'cli.cjs');

function compileWithCache() {
  const vm = require('node:vm');
  const Module = require('node:module');
  // The bundle has no import() (scripts/build.mjs turns those into require), which a script
  // compiled here could not run.
  if (typeof Module.wrap !== 'function' || typeof vm.Script !== 'function') return null;
  let cacheFile;
  let cached;
  try {
    const st = fs.statSync(file);
    const base = process.env.XDG_CACHE_HOME || path.join(require('node:os').homedir(), '.cache');
    const name = `cli-${st.size}-${Math.floor(st.mtimeMs)}-${process.version}-${process.arch}.v8`;
    cacheFile = path.join(base, 'docker-machine', name);
    cached = fs.readFileSync(cacheFile);
  } catch {}
  const script = new vm.Script(Module.wrap(fs.readFileSync(file, 'utf8')), {
    filename: file,
    cachedData: cached,
  });
  if (cacheFile && (!cached || script.cachedDataRejected)) {
    // At exit the cache also holds the functions this run compiled lazily.
    process.once('exit', () => saveCache(cacheFile, script));
  }
  const mod = new Module(file, module);
  mod.filename = file;
  mod.paths = Module._nodeModulePaths ? Module._nodeModulePaths(__dirname) : [];
  return () =>
    script.runInThisContext().call(mod.exports, mod.exports, (id) => mod.require(id), mod, file, __dirname);
}

function saveCache(cacheFile, script) {
  try {
    const dir = path.dirname(cacheFile);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = `${cacheFile}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, script.createCachedData(), { mode: 0o600 });
    fs.renameSync(tmp, cacheFile);
    // Caches of earlier builds are of no use any more.
    for (const f of fs.readdirSync(dir)) {
      if (f.startsWith('cli-') && f.endsWith('.v8') && f !== path.basename(cacheFile))
        fs.rmSync(path.join(dir, f), { force: true });
    }
  } catch {}
}

let run = null;
try {
  run = compileWithCache();
} catch {}
if (run) run();
else require(file);
