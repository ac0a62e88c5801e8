import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as cmd from './commands.js';
import {
  COMMAND_PREFIX,
  type Exec,
  errorLine,
  findPowerShell,
  PowerShell,
  PowerShellError,
  psQuote,
  VMNotFoundError,
} from './powershell.js';

test('psQuote: one single-quoted literal; quotes doubled, nothing else touched', () => {
  assert.equal(psQuote('m1'), "'m1'");
  assert.equal(psQuote(''), "''");
  assert.equal(psQuote("O'Brien"), "'O''Brien'");
  assert.equal(psQuote("''"), "''''''");
  // $, backtick and double quotes mean nothing inside single quotes: left as they are.
  assert.equal(psQuote('C:\\My "VMs"\\$env:x `n'), '\'C:\\My "VMs"\\$env:x `n\'');
  // PowerShell ends a single-quoted string at a typographic quote too.
  assert.equal(psQuote('a\u2019b\u2018c'), "'a\u2019\u2019b\u2018\u2018c'");
  assert.throws(() => psQuote('a\0b'), /holds a NUL/);
});

test('the commands: exact strings, every value quoted', () => {
  const dir = "C:\\Users\\Jo O'Neil\\.docker\\machine\\machines\\dev";
  assert.equal(
    cmd.newVM({ name: 'dev', path: dir, switchName: 'Jo\'s "LAN" switch', memoryMB: 1024 }),
    "Hyper-V\\New-VM -Name 'dev' -Path 'C:\\Users\\Jo O''Neil\\.docker\\machine\\machines\\dev' -Generation 1 -SwitchName 'Jo''s \"LAN\" switch' -MemoryStartupBytes 1024MB -NoVHD | Out-Null",
  );
  assert.equal(
    cmd.vmInfo('dev'),
    "Hyper-V\\Get-VM -Name 'dev' | Select-Object Name, @{ Name = 'State'; Expression = { [string]$_.State } }, Path | ConvertTo-Json -Compress",
  );
  assert.equal(
    cmd.dvd('dev', `${dir}\\seed.iso`),
    `Hyper-V\\Set-VMDvdDrive -VMName 'dev' -Path '${dir.replace("'", "''")}\\seed.iso'`,
  );
  assert.equal(
    cmd.addDisk('dev', 'D:\\a b\\disk.vhdx'),
    "Hyper-V\\Add-VMHardDiskDrive -VMName 'dev' -Path 'D:\\a b\\disk.vhdx'",
  );
  assert.equal(cmd.setProcessor('dev', 4), "Hyper-V\\Set-VMProcessor -VMName 'dev' -Count 4");
  assert.equal(
    cmd.staticMac('dev', '00155D012345'),
    "Hyper-V\\Set-VMNetworkAdapter -VMName 'dev' -StaticMacAddress '00155D012345'",
  );
  assert.equal(cmd.vlan('dev', 42), "Hyper-V\\Set-VMNetworkAdapterVlan -VMName 'dev' -Access -VlanId 42");
  assert.equal(
    cmd.disableDynamicMemory('dev'),
    "Hyper-V\\Set-VMMemory -VMName 'dev' -DynamicMemoryEnabled $false",
  );
  assert.equal(cmd.start('dev'), "Hyper-V\\Start-VM -Name 'dev'");
  assert.equal(cmd.resume('dev'), "Hyper-V\\Resume-VM -Name 'dev'");
  assert.equal(cmd.stop('dev'), "Hyper-V\\Stop-VM -Name 'dev'");
  assert.equal(cmd.turnOff('dev'), "Hyper-V\\Stop-VM -Name 'dev' -TurnOff");
  assert.equal(cmd.remove('dev'), "Hyper-V\\Remove-VM -Name 'dev' -Force");
  assert.equal(
    cmd.addresses('dev'),
    "ConvertTo-Json -Compress -InputObject @((Hyper-V\\Get-VM -Name 'dev').NetworkAdapters[0].IPAddresses)",
  );
  assert.throws(() => cmd.setProcessor('dev', 1.5), /not an integer/);
});

test("errorLine: PowerShell's first error line, from plain text or CLIXML", () => {
  const record = [
    'Get-VM : Hyper-V was unable to find a virtual machine with name "dev".',
    'At line:1 char:79',
    "+ Hyper-V\\Get-VM -Name 'dev' | Select-Object Name",
    '+ ~~~~~~~~~~~~~~~~~~~~~~~~~~',
    '    + CategoryInfo          : InvalidArgument: (dev:String) [Get-VM], VirtualizationException',
    '    + FullyQualifiedErrorId : InvalidParameter,Microsoft.HyperV.PowerShell.Commands.GetVM',
  ].join('\r\n');
  assert.equal(errorLine(record), 'Get-VM : Hyper-V was unable to find a virtual machine with name "dev".');
  const clixml =
    '#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04"><S S="Error">Start-VM : &apos;dev&apos; failed to start._x000D__x000A_</S><S S="Error">At line:1 char:1_x000D__x000A_</S></Objs>';
  assert.equal(errorLine(clixml), "Start-VM : 'dev' failed to start.");
  assert.equal(errorLine(''), 'no output');
});

test('run: the program, its arguments, and the errors it turns into', async () => {
  const calls: string[][] = [];
  let answer = { code: 0, stdout: 'Hyper-V\r\n', stderr: '' };
  const exec: Exec = async (program, args) => {
    calls.push([program, ...args]);
    return answer;
  };
  const ps = new PowerShell('C:\\ps.exe', exec);
  assert.equal(await ps.run(cmd.hyperVModule), 'Hyper-V\r\n');
  assert.deepEqual(calls[0], [
    'C:\\ps.exe',
    '-NoProfile',
    '-NonInteractive',
    '-Command',
    COMMAND_PREFIX + cmd.hyperVModule,
  ]);
  answer = {
    code: 1,
    stdout: '',
    stderr: 'Get-VM : Hyper-V was unable to find a virtual machine with name "x".\r\nAt line:1 char:1\r\n',
  };
  await assert.rejects(ps.run(cmd.vmInfo('x')), VMNotFoundError);
  answer = { code: 1, stdout: '', stderr: "Start-VM : 'x' failed to start.\r\nAt line:1 char:1\r\n" };
  await assert.rejects(ps.run(cmd.start('x')), (err) => {
    assert.ok(err instanceof PowerShellError);
    assert.equal(
      err.message,
      `PowerShell command "Hyper-V\\Start-VM -Name 'x'" failed: Start-VM : 'x' failed to start.`,
    );
    return true;
  });
  answer = { code: 0, stdout: 'WARNING: not json\r\n', stderr: '' };
  await assert.rejects(ps.json(cmd.switches), /printed no JSON: WARNING: not json/);
  answer = { code: 0, stdout: '\r\n', stderr: '' };
  assert.equal(await ps.json(cmd.switches), undefined);
});

test('findPowerShell: the override first (also off Windows), and nothing else off Windows', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ps-'));
  try {
    const fake = join(dir, 'powershell');
    await writeFile(fake, '#!/bin/sh\n');
    await chmod(fake, 0o755);
    assert.equal(findPowerShell({ MACHINE_HYPERV_POWERSHELL: fake, PATH: '' }), fake);
    assert.equal(findPowerShell({ MACHINE_HYPERV_POWERSHELL: join(dir, 'missing'), PATH: dir }), undefined);
    if (process.platform !== 'win32') assert.equal(findPowerShell({ PATH: dir }), undefined);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
