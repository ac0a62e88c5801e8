import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { renderEnv } from './env.js';

// env's output really evaluated by each shell installed here (bash and dash always; zsh, fish
// and tcsh from scripts/test.sh's Debian packages; pwsh when someone has it): values that try to
// run commands must come back byte for byte, and nothing may run.

function installed(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

describe('env output evaluated by real shells', () => {
  let dir: string;
  let dump: string;
  let vars: { name: string; value: string }[];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dm-quote-'));
    const mark = (n: string) => join(dir, `ran-${n}`);
    vars = [
      { name: 'DOCKER_TLS_VERIFY', value: '1' },
      {
        name: 'DOCKER_HOST',
        value: `tcp://127.0.0.1:2376/$(touch ${mark('url1')})"; touch ${mark('url2')}; "'; touch ${mark('url3')}; '`,
      },
      {
        name: 'DOCKER_CERT_PATH',
        value:
          `/home/a b/$(touch ${mark('path1')})/\`touch ${mark('path2')}\`/"q"/'s'/back\\slash/bang!!/` +
          `new\nline; touch ${mark('path3')}\n/tab\tcr\r/ $HOME \${HOME} /* ~ %PATH% & | < > ^ ( ) ; {a,b} “x” ‘y’ \\`,
      },
      { name: 'DOCKER_MACHINE_NAME', value: 'm1' },
      { name: 'NO_PROXY', value: '' },
    ];
    // Prints what the shell handed to its child, unambiguously.
    dump = join(dir, 'dump.cjs');
    await writeFile(
      dump,
      `process.stdout.write(JSON.stringify(${JSON.stringify(vars.map((v) => v.name))}.map((n) => process.env[n] ?? null)))`,
    );
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const render = async (shell: string): Promise<string> => {
    const file = join(dir, `env.${shell}`);
    await writeFile(file, renderEnv({ shell, unset: false, vars, commandLine: 'docker-machine env m1' }));
    return file;
  };
  const ran = async () => (await readdir(dir)).filter((f) => f.startsWith('ran-'));

  /** Runs `argv`, then checks that nothing ran and (when exact) the values came back unchanged. */
  const check = async (label: string, argv: string[], exact: boolean, input?: string) => {
    const out = execFileSync(argv[0] ?? '', argv.slice(1), {
      cwd: dir,
      encoding: 'utf8',
      input,
      env: { PATH: process.env.PATH, HOME: '/nonexistent-home', TERM: 'dumb' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    assert.deepEqual(await ran(), [], `${label}: a command in a value ran`);
    const got = JSON.parse(out.slice(out.indexOf('["'))) as (string | null)[];
    if (exact)
      assert.deepEqual(
        got,
        vars.map((v) => v.value),
        label,
      );
    else assert.equal(got[3], 'm1', label);
  };

  test('bash, dash and zsh: eval "$(…)", `.` and the hint\'s unquoted eval $(…)', async () => {
    const f = await render('bash');
    const dumpCmd = `"${process.execPath}" "${dump}"`;
    await check('bash eval', ['bash', '-c', `eval "$(cat '${f}')"; ${dumpCmd}`], true);
    // Unquoted, the shell splits words and expands globs before eval: values may change
    // (as with the original), but nothing may run.
    await check('bash eval unquoted', ['bash', '-c', `eval $(cat '${f}'); ${dumpCmd}`], false);
    await check('dash eval', ['dash', '-c', `eval "$(cat '${f}')"; ${dumpCmd}`], true);
    await check('dash .', ['dash', '-c', `. '${f}'; ${dumpCmd}`], true);
    if (installed('zsh'))
      await check('zsh eval', ['zsh', '-f', '-c', `eval "$(cat '${f}')"; ${dumpCmd}`], true);
  });

  test('an interactive bash with history expansion reads the lines pasted in as they are', async () => {
    const f = await render('bash');
    const lines = await readFile(f, 'utf8');
    await check(
      'bash -i',
      ['bash', '--norc', '--noediting', '-i'],
      true,
      `set -H\n${lines}"${process.execPath}" "${dump}"\n`,
    );
  });

  test('fish: source, and the hint eval (…)', {
    skip: !installed('fish') && 'fish not installed',
  }, async () => {
    const f = await render('fish');
    const dumpCmd = `'${process.execPath}' '${dump}'`;
    await check('fish source', ['fish', '-N', '-c', `source '${f}'; ${dumpCmd}`], true);
    await check('fish eval', ['fish', '-N', '-c', `eval (cat '${f}'); ${dumpCmd}`], true);
  });

  test('tcsh: source, and the hint eval `…`', {
    skip: !installed('tcsh') && 'tcsh not installed',
  }, async () => {
    const f = await render('tcsh');
    const dumpCmd = `'${process.execPath}' '${dump}'`;
    await check('tcsh source', ['tcsh', '-f', '-c', `source '${f}'; ${dumpCmd}`], true);
    // Backquote output is split into words: whitespace in values changes, nothing runs.
    await check('tcsh eval', ['tcsh', '-f', '-c', `eval \`cat '${f}'\`; ${dumpCmd}`], false);
  });

  test('PowerShell: each line through Invoke-Expression', {
    skip: !installed('pwsh') && 'pwsh not installed',
  }, async () => {
    const f = await render('powershell');
    await check(
      'pwsh',
      [
        'pwsh',
        '-NoProfile',
        '-Command',
        `Get-Content -LiteralPath '${f}' | Invoke-Expression; & '${process.execPath}' '${dump}'`,
      ],
      true,
    );
  });
});
