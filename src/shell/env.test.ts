import assert from 'node:assert/strict';
import { test } from 'node:test';
import { detectShell, hintCommandLine, renderEnv } from './env.js';

const vars = [
  { name: 'DOCKER_TLS_VERIFY', value: '1' },
  { name: 'DOCKER_HOST', value: 'tcp://127.0.0.1:2376' },
  { name: 'DOCKER_CERT_PATH', value: '/s/machines/foo' },
  { name: 'DOCKER_MACHINE_NAME', value: 'foo' },
];
const names = vars.map((v) => ({ ...v, value: '' }));

// Each block is the original's observed output (spec §2.4), store path shortened to /s.
const SET: Record<string, string> = {
  bash:
    'export DOCKER_TLS_VERIFY="1"\nexport DOCKER_HOST="tcp://127.0.0.1:2376"\nexport DOCKER_CERT_PATH="/s/machines/foo"\nexport DOCKER_MACHINE_NAME="foo"\n' +
    '# Run this command to configure your shell: \n# eval $(docker-machine env foo)\n',
  fish:
    'set -gx DOCKER_TLS_VERIFY "1";\nset -gx DOCKER_HOST "tcp://127.0.0.1:2376";\nset -gx DOCKER_CERT_PATH "/s/machines/foo";\nset -gx DOCKER_MACHINE_NAME "foo";\n' +
    '# Run this command to configure your shell: \n# eval (docker-machine env --shell fish foo)\n',
  powershell:
    '$Env:DOCKER_TLS_VERIFY = "1"\n$Env:DOCKER_HOST = "tcp://127.0.0.1:2376"\n$Env:DOCKER_CERT_PATH = "/s/machines/foo"\n$Env:DOCKER_MACHINE_NAME = "foo"\n' +
    '# Run this command to configure your shell: \n# & docker-machine env --shell powershell foo | Invoke-Expression\n',
  cmd:
    'SET DOCKER_TLS_VERIFY=1\nSET DOCKER_HOST=tcp://127.0.0.1:2376\nSET DOCKER_CERT_PATH=/s/machines/foo\nSET DOCKER_MACHINE_NAME=foo\n' +
    'REM Run this command to configure your shell: \nREM \t@FOR /f "tokens=*" %i IN (\'docker-machine env --shell cmd foo\') DO @%i\n',
  tcsh:
    'setenv DOCKER_TLS_VERIFY "1";\nsetenv DOCKER_HOST "tcp://127.0.0.1:2376";\nsetenv DOCKER_CERT_PATH "/s/machines/foo";\nsetenv DOCKER_MACHINE_NAME "foo";\n' +
    ': Run this command to configure your shell: \n: eval `docker-machine env --shell tcsh foo`\n',
  emacs:
    '(setenv "DOCKER_TLS_VERIFY" "1")\n(setenv "DOCKER_HOST" "tcp://127.0.0.1:2376")\n(setenv "DOCKER_CERT_PATH" "/s/machines/foo")\n(setenv "DOCKER_MACHINE_NAME" "foo")\n' +
    ';; Run this command to configure your shell: \n;; (with-temp-buffer (shell-command "docker-machine env --shell emacs foo" (current-buffer)) (eval-buffer))\n',
};

test('set mode, byte for byte as the original, for every shell', () => {
  for (const [shell, want] of Object.entries(SET)) {
    const cmdline = shell === 'bash' ? 'docker-machine env foo' : `docker-machine env --shell ${shell} foo`;
    assert.equal(renderEnv({ shell, unset: false, vars, commandLine: cmdline }), want, shell);
  }
});

test('unset mode for every shell', () => {
  const cases: Record<string, string> = {
    bash: 'unset DOCKER_TLS_VERIFY\nunset DOCKER_HOST\nunset DOCKER_CERT_PATH\nunset DOCKER_MACHINE_NAME\n',
    fish: 'set -e DOCKER_TLS_VERIFY;\nset -e DOCKER_HOST;\nset -e DOCKER_CERT_PATH;\nset -e DOCKER_MACHINE_NAME;\n',
    powershell:
      'Remove-Item Env:\\\\DOCKER_TLS_VERIFY\nRemove-Item Env:\\\\DOCKER_HOST\nRemove-Item Env:\\\\DOCKER_CERT_PATH\nRemove-Item Env:\\\\DOCKER_MACHINE_NAME\n',
    cmd: 'SET DOCKER_TLS_VERIFY=\nSET DOCKER_HOST=\nSET DOCKER_CERT_PATH=\nSET DOCKER_MACHINE_NAME=\n',
    emacs:
      '(setenv "DOCKER_TLS_VERIFY" nil)\n(setenv "DOCKER_HOST" nil)\n(setenv "DOCKER_CERT_PATH" nil)\n(setenv "DOCKER_MACHINE_NAME" nil)\n',
    tcsh: 'unsetenv DOCKER_TLS_VERIFY;\nunsetenv DOCKER_HOST;\nunsetenv DOCKER_CERT_PATH;\nunsetenv DOCKER_MACHINE_NAME;\n',
  };
  for (const [shell, want] of Object.entries(cases)) {
    const out = renderEnv({ shell, unset: true, vars: names, commandLine: 'docker-machine env -u' });
    assert.ok(out.startsWith(want), shell);
  }
  // The NO_PROXY value is never glued to its name (the original's bug).
  const np = renderEnv({
    shell: 'bash',
    unset: true,
    vars: [{ name: 'NO_PROXY', value: 'a,b' }],
    commandLine: 'x',
  });
  assert.ok(np.startsWith('unset NO_PROXY\n'));
  const cmd = renderEnv({
    shell: 'cmd',
    unset: true,
    vars: [{ name: 'NO_PROXY', value: 'a,b' }],
    commandLine: 'x',
  });
  assert.ok(cmd.startsWith('SET NO_PROXY=\n'));
});

test('shell detection and the hint command line', () => {
  assert.equal(detectShell({ SHELL: '/usr/bin/zsh' }, 'linux'), 'zsh');
  assert.equal(detectShell({}, 'linux'), undefined);
  assert.equal(detectShell({}, 'win32'), 'cmd');
  assert.equal(hintCommandLine(['docker-machine', 'env', 'default']), 'docker-machine env default');
  assert.equal(
    hintCommandLine(['C:\\Program Files\\docker-machine.exe', 'env', 'default']),
    '"C:\\Program Files\\docker-machine.exe" env default',
  );
});

test('a value with spaces keeps the original double quotes; a special character switches to safe quoting', () => {
  const one = (shell: string, value: string) =>
    renderEnv({ shell, unset: false, vars: [{ name: 'V', value }], commandLine: 'x' }).split('\n')[0];
  const spaced = '/Users/John Smith/.docker/machine/machines/foo';
  assert.equal(one('bash', spaced), `export V="${spaced}"`);
  assert.equal(one('fish', spaced), `set -gx V "${spaced}";`);
  assert.equal(one('tcsh', spaced), `setenv V "${spaced}";`);
  assert.equal(one('powershell', spaced), `$Env:V = "${spaced}"`);
  assert.equal(one('emacs', spaced), `(setenv "V" "${spaced}")`);
  assert.equal(one('cmd', 'C:\\Users\\John Smith\\m'), 'SET V=C:\\Users\\John Smith\\m');
  // cmd: & | < > ^ ( ) are kept literal by quoting the whole assignment.
  assert.equal(one('cmd', 'C:\\Program Files (x86)\\a&b'), 'SET "V=C:\\Program Files (x86)\\a&b"');
  assert.equal(one('bash', 'a$(b)'), "export V='a$(b)'");
  assert.equal(one('bash', "it's $x"), "export V='it'\\''s $x'");
  assert.equal(one('tcsh', 'a!b'), "setenv V 'a'\\!'b';");
  // PowerShell runs each line on its own, and Emacs reads forms: neither gets a raw newline.
  assert.equal(one('powershell', 'a$(b)`"c"\nd'), '$Env:V = "a`$(b)```"c`"`nd"');
  assert.equal(one('emacs', 'a"b\\c\nd'), '(setenv "V" "a\\"b\\\\c\\nd")');
  assert.equal(one('fish', "a'b\\c$d\ne"), "set -gx V 'a\\'b\\\\c$d'\\x0a'e';");
});

test('cmd refuses a value it cannot set literally, naming the variable', () => {
  for (const value of ['50%PATH%', 'a"b', 'a!b', 'a\nb']) {
    assert.throws(
      () =>
        renderEnv({
          shell: 'cmd',
          unset: false,
          vars: [{ name: 'DOCKER_CERT_PATH', value }],
          commandLine: 'x',
        }),
      (e: Error) =>
        e.message.startsWith('Error: cmd cannot set DOCKER_CERT_PATH to ') &&
        e.message.endsWith('use --shell powershell'),
    );
  }
});

test('the hint command line leaves out secret flags and their values', () => {
  for (const argv of [
    ['docker-machine', '--github-api-token', 'ghp_SECRET', 'env', 'm1'],
    ['docker-machine', '--github-api-token=ghp_SECRET', 'env', 'm1'],
    ['docker-machine', '-github-api-token', 'ghp_SECRET', 'env', 'm1'],
    ['docker-machine', '-github-api-token=ghp_SECRET', '--bugsnag-api-token', 'bs_SECRET', 'env', 'm1'],
  ])
    assert.equal(hintCommandLine(argv), 'docker-machine env m1', argv.join(' '));
  assert.equal(
    hintCommandLine(['docker-machine', '-D', '-s', '/st', 'env', '--shell', 'fish', 'm1']),
    'docker-machine -D -s /st env --shell fish m1',
  );
});
