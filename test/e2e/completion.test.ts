import assert from 'node:assert/strict';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { binPath, type CliStore, runProcess, tempStore } from '../helpers/cli.js';

// The completion scripts in the real shells (Debian's bash, zsh and fish): each is loaded as the
// script's own first lines say, then asked what completes a command line, as the shell would ask.
describe('docker-machine completion bash|zsh|fish', () => {
  let s: CliStore;
  let bin: string;
  let other: CliStore;

  before(async () => {
    s = await tempStore();
    other = await tempStore();
    for (const name of ['alpha', 'beta']) {
      const r = await s.run(['create', '-d', 'none', '--url', 'tcp://127.0.0.1:1', name]);
      assert.equal(r.code, 0, r.stderr);
    }
    const r = await other.run(['create', '-d', 'none', '--url', 'tcp://127.0.0.1:1', 'gamma']);
    assert.equal(r.code, 0, r.stderr);
    // The shells run `docker-machine` from the PATH, as a user's would.
    bin = join(s.dir, 'bin');
    await mkdir(bin);
    await writeFile(join(bin, 'docker-machine'), `#!/bin/sh\nexec "${process.execPath}" "${binPath}" "$@"\n`);
    await chmod(join(bin, 'docker-machine'), 0o755);
  });
  after(async () => {
    await s?.cleanup();
    await other?.cleanup();
  });

  const inShell = async (shell: string, script: string) => {
    const r = await runProcess(shell, ['-c', script], {
      env: { PATH: `${bin}:${process.env.PATH}`, MACHINE_STORAGE_PATH: s.dir, HOME: s.dir },
    });
    assert.equal(r.code, 0, `${shell}: ${r.stderr}`);
    return r.stdout.split('\n').filter(Boolean);
  };

  /** COMPREPLY for the words, the last one under the cursor. */
  const bash = (...words: string[]) =>
    inShell(
      'bash',
      `source <(docker-machine completion bash)
       COMP_WORDS=(docker-machine ${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length}
       _docker_machine_complete; printf '%s\\n' "\${COMPREPLY[@]}"`,
    );
  /** What the script hands to compadd (or "FILES" when it falls back to _files). */
  const zsh = (...words: string[]) =>
    inShell(
      'zsh',
      `compdef() { :; }; compadd() { while [[ $1 != -- ]]; do shift; done; shift; print -l -- "$@"; }; _files() { print FILES; }
       source <(docker-machine completion zsh)
       words=(docker-machine ${words.map((w) => `'${w}'`).join(' ')}); CURRENT=${words.length + 1}
       _docker_machine`,
    );
  /** fish's own completion engine for the command line. */
  const fish = async (line: string) =>
    (await inShell('fish', `docker-machine completion fish | source; complete -C '${line}'`)).map(
      (l) => l.split('\t')[0],
    );

  test('bash: commands, flags, drivers, machine names, --flag=value split at =, unknown shell refused', async () => {
    assert.deepEqual(await bash('st'), ['start', 'status', 'stop']);
    assert.deepEqual(await bash('create', '--dri'), ['--driver']);
    assert.deepEqual(await bash('create', '-d', 'gen'), ['generic']);
    assert.deepEqual(await bash('create', '--driver', '=', 'hetz'), ['hetzner']);
    assert.deepEqual(await bash('create', '-d', 'amazonec2', '--amazonec2-regi'), ['--amazonec2-region']);
    assert.deepEqual(await bash('rm', ''), ['alpha', 'beta']);
    assert.deepEqual(await bash('rm', 'alpha', ''), ['beta'], 'a name given once is not offered again');
    assert.deepEqual(await bash('-s', other.dir, 'stop', ''), ['gamma'], 'the store given with -s');
    assert.deepEqual(await bash('env', '--shell', 'f'), ['fish']);
    assert.deepEqual(await bash('create', '--engine-end'), ['--engine-endpoint']);
    assert.deepEqual(await bash('create', '--engine-endpoint', ''), ['tcp', 'ssh']);
    assert.deepEqual(await bash('scp', 'al'), ['alpha:']);
    assert.deepEqual(await bash('completion', ''), ['bash', 'zsh', 'fish']);
    assert.deepEqual(await bash('ls', ''), [], 'nothing: the shell completes file names');
    assert.deepEqual(await bash('__comp'), [], 'the helper command is not offered');
    const registered = await inShell(
      'bash',
      'source <(docker-machine completion bash); complete -p docker-machine',
    );
    assert.deepEqual(registered, ['complete -o default -F _docker_machine_complete docker-machine']);
    const bad = await s.run(['completion', 'tcsh']);
    assert.equal(bad.code, 1);
    assert.equal(
      bad.stderr,
      `Incorrect Usage: no completion for the shell "tcsh": choose one of bash, zsh, fish. See 'docker-machine completion --help'.\n`,
    );
  });

  test('zsh: the same answers through compadd; nothing to offer falls back to files', async () => {
    assert.deepEqual(await zsh('st'), ['start', 'status', 'stop']);
    assert.deepEqual(await zsh('create', '--driver=gen'), ['--driver=generic']);
    assert.deepEqual(await zsh('inspect', ''), ['alpha', 'beta']);
    assert.deepEqual(await zsh('scp', 'alpha:/etc/'), ['FILES']);
  });

  test("fish: complete -C through fish's own engine", async () => {
    assert.deepEqual(await fish('docker-machine st'), ['start', 'status', 'stop']);
    assert.deepEqual(await fish('docker-machine create -d gen'), ['generic']);
    assert.deepEqual(await fish('docker-machine restart '), ['alpha', 'beta']);
    assert.deepEqual(await fish('docker-machine env --sh'), ['--shell']);
  });
});
