// A fake powershell.exe for the hyperv driver's tests: Hyper-V runs only on Windows. It takes
// `-NoProfile -NonInteractive -Command CMD`, records CMD ($FAKE_HYPERV_LOG, one JSON string a
// line), keeps the VMs and switches in a JSON file ($FAKE_HYPERV_STATE), and answers the
// commands the driver sends as Windows PowerShell 5.1 with the Hyper-V module does, errors
// included (in PowerShell's error record format, exit status 1). It reads single-quoted
// literals back as PowerShell does ('' is one quote), so quoting mistakes show as wrong names
// or paths. Start-VM gives the VM the address in $FAKE_HYPERV_IP (none when unset, as a guest
// without the integration daemons). No VM runs: the state is all there is.
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const PREFIX = "$ErrorActionPreference = 'Stop'; $ProgressPreference = 'SilentlyContinue'; ";
const args = process.argv.slice(2);
const statePath = process.env.FAKE_HYPERV_STATE;

function fail(text, code = 1) {
  process.stderr.write(`${text}\r\n`);
  process.exit(code);
}

if (
  args.length !== 4 ||
  args[0] !== '-NoProfile' ||
  args[1] !== '-NonInteractive' ||
  args[2] !== '-Command'
) {
  fail(`fake powershell: unexpected arguments ${JSON.stringify(args)}`, 64);
}
if (!statePath) fail('fake powershell: FAKE_HYPERV_STATE is not set', 64);
const full = args[3];
if (process.env.FAKE_HYPERV_LOG) appendFileSync(process.env.FAKE_HYPERV_LOG, `${JSON.stringify(full)}\n`);
if (!full.startsWith(PREFIX)) fail(`fake powershell: the command does not stop at errors: ${full}`, 64);
const command = full.slice(PREFIX.length);

function load() {
  try {
    return JSON.parse(readFileSync(statePath, 'utf8'));
  } catch {
    return {
      module: true,
      rights: { HyperVAdministrator: true, Administrator: false },
      switches: [],
      vms: {},
    };
  }
}
const state = load();
function save() {
  writeFileSync(`${statePath}.tmp`, JSON.stringify(state, null, 1));
  renameSync(`${statePath}.tmp`, statePath);
}

/** PowerShell's error record, as a non-interactive powershell.exe writes it to stderr. */
function psError(cmdlet, message, category, id) {
  fail(
    [
      `${cmdlet} : ${message}`,
      'At line:1 char:79',
      `+ ${command}`,
      '+ ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~',
      `    + CategoryInfo          : ${category}`,
      `    + FullyQualifiedErrorId : ${id}`,
    ].join('\r\n'),
  );
}

// One single-quoted literal: '' inside is one quote (the typographic quotes pair the same way).
const LIT = "'((?:[^'\u2018\u2019\u201a\u201b]|['\u2018\u2019\u201a\u201b]{2})*)'";
const unq = (s) => s.replace(/(['\u2018\u2019\u201a\u201b])\1/g, '$1');
const m = (re) => re.exec(command);

function vm(name, cmdlet) {
  const v = state.vms[name];
  if (!v) {
    psError(
      cmdlet,
      `Hyper-V was unable to find a virtual machine with name "${name}".`,
      `InvalidArgument: (${name}:String) [${cmdlet}], VirtualizationException`,
      `InvalidParameter,Microsoft.HyperV.PowerShell.Commands.${cmdlet.replace('-', '')}`,
    );
  }
  return v;
}

function out(s) {
  process.stdout.write(`${s}\r\n`);
  process.exit(0);
}

let r;
if (command === '@(Get-Module -ListAvailable -Name Hyper-V).Name | Get-Unique') {
  out(state.module ? 'Hyper-V' : '');
} else if (
  command.includes("SecurityIdentifier('S-1-5-32-578')") &&
  command.includes('WindowsBuiltInRole]::Administrator')
) {
  out(
    JSON.stringify({
      HyperVAdministrator: !!state.rights.HyperVAdministrator,
      Administrator: !!state.rights.Administrator,
    }),
  );
} else if (command.startsWith('ConvertTo-Json -Compress -InputObject @(Hyper-V\\Get-VMSwitch |')) {
  if (!state.module)
    psError(
      'Hyper-V\\Get-VMSwitch',
      "The term 'Hyper-V\\Get-VMSwitch' is not recognized",
      'ObjectNotFound',
      'CommandNotFoundException',
    );
  out(JSON.stringify(state.switches.map((s) => ({ Name: s.Name, SwitchType: s.SwitchType }))));
} else if (
  (r = m(
    new RegExp(
      `^Hyper-V\\\\Get-VM -Name ${LIT} \\| Select-Object Name, @\\{ Name = 'State'; Expression = \\{ \\[string\\]\\$_.State \\} \\}, Path \\| ConvertTo-Json -Compress$`,
    ),
  ))
) {
  const name = unq(r[1]);
  const v = vm(name, 'Get-VM');
  out(JSON.stringify({ Name: name, State: v.State, Path: v.Path }));
} else if (
  (r = m(
    new RegExp(
      `^Hyper-V\\\\New-VM -Name ${LIT} -Path ${LIT} -Generation (1|2) -SwitchName ${LIT} -MemoryStartupBytes (\\d+)MB -NoVHD \\| Out-Null$`,
    ),
  ))
) {
  const [name, path, gen, sw, mem] = [unq(r[1]), unq(r[2]), r[3], unq(r[4]), Number(r[5])];
  if (state.vms[name])
    psError(
      'New-VM',
      `Failed to create a new virtual machine: a virtual machine named "${name}" already exists.`,
      'InvalidArgument',
      'InvalidParameter',
    );
  if (!state.switches.some((s) => s.Name === sw))
    psError(
      'New-VM',
      `Hyper-V was unable to find a virtual switch with name "${sw}".`,
      'InvalidArgument',
      'InvalidParameter',
    );
  if (!existsSync(path))
    psError(
      'New-VM',
      `The system cannot find the path specified. ("${path}")`,
      'ObjectNotFound',
      'ObjectNotFound',
    );
  state.vms[name] = {
    State: 'Off',
    Path: join(path, name),
    Generation: Number(gen),
    SwitchName: sw,
    MemoryStartupMB: mem,
    DynamicMemoryEnabled: true,
    ProcessorCount: 1,
    StaticMacAddress: '',
    VlanId: 0,
    DvdPath: '',
    HardDisks: [],
    StartupOrder: ['CD', 'IDE', 'LegacyNetworkAdapter', 'Floppy'],
    IPAddresses: [],
  };
  save();
  out('');
} else if ((r = m(new RegExp(`^Hyper-V\\\\Set-VMMemory -VMName ${LIT} -DynamicMemoryEnabled \\$false$`)))) {
  vm(unq(r[1]), 'Set-VMMemory').DynamicMemoryEnabled = false;
  save();
  out('');
} else if ((r = m(new RegExp(`^Hyper-V\\\\Set-VMProcessor -VMName ${LIT} -Count (\\d+)$`)))) {
  vm(unq(r[1]), 'Set-VMProcessor').ProcessorCount = Number(r[2]);
  save();
  out('');
} else if ((r = m(new RegExp(`^Hyper-V\\\\Set-VMNetworkAdapter -VMName ${LIT} -StaticMacAddress ${LIT}$`)))) {
  const mac = unq(r[2]);
  if (!/^[0-9A-F]{12}$/.test(mac))
    psError('Set-VMNetworkAdapter', `Invalid MAC address "${mac}".`, 'InvalidArgument', 'InvalidParameter');
  vm(unq(r[1]), 'Set-VMNetworkAdapter').StaticMacAddress = mac;
  save();
  out('');
} else if (
  (r = m(new RegExp(`^Hyper-V\\\\Set-VMNetworkAdapterVlan -VMName ${LIT} -Access -VlanId (\\d+)$`)))
) {
  vm(unq(r[1]), 'Set-VMNetworkAdapterVlan').VlanId = Number(r[2]);
  save();
  out('');
} else if ((r = m(new RegExp(`^Hyper-V\\\\Set-VMDvdDrive -VMName ${LIT} -Path ${LIT}$`)))) {
  const path = unq(r[2]);
  if (!existsSync(path))
    psError(
      'Set-VMDvdDrive',
      `Failed to add device 'Virtual CD/DVD Disk'. The system cannot find the file specified. ("${path}")`,
      'ObjectNotFound',
      'ObjectNotFound',
    );
  vm(unq(r[1]), 'Set-VMDvdDrive').DvdPath = path;
  save();
  out('');
} else if ((r = m(new RegExp(`^Hyper-V\\\\Add-VMHardDiskDrive -VMName ${LIT} -Path ${LIT}$`)))) {
  const path = unq(r[2]);
  if (!existsSync(path))
    psError(
      'Add-VMHardDiskDrive',
      `Failed to add device 'Virtual Hard Disk'. The system cannot find the file specified. ("${path}")`,
      'ObjectNotFound',
      'ObjectNotFound',
    );
  vm(unq(r[1]), 'Add-VMHardDiskDrive').HardDisks.push(path);
  save();
  out('');
} else if (
  (r = m(
    new RegExp(`^Hyper-V\\\\Set-VMBios -VMName ${LIT} -StartupOrder @\\(('[A-Za-z]+'(?:, '[A-Za-z]+')*)\\)$`),
  ))
) {
  vm(unq(r[1]), 'Set-VMBios').StartupOrder = r[2].split(', ').map((x) => x.slice(1, -1));
  save();
  out('');
} else if ((r = m(new RegExp(`^Hyper-V\\\\Start-VM -Name ${LIT}$`)))) {
  const v = vm(unq(r[1]), 'Start-VM');
  if (v.HardDisks.length === 0)
    psError(
      'Start-VM',
      "'" + unq(r[1]) + "' failed to start. The virtual machine has no boot device.",
      'NotSpecified',
      'OperationFailed',
    );
  v.State = 'Running';
  v.IPAddresses = process.env.FAKE_HYPERV_IP ? [process.env.FAKE_HYPERV_IP, 'fe80::215:5dff:fe01:2345'] : [];
  save();
  out('');
} else if ((r = m(new RegExp(`^Hyper-V\\\\Resume-VM -Name ${LIT}$`)))) {
  const v = vm(unq(r[1]), 'Resume-VM');
  if (v.State !== 'Paused')
    psError(
      'Resume-VM',
      `The virtual machine "${unq(r[1])}" is not paused.`,
      'InvalidOperation',
      'InvalidOperation',
    );
  v.State = 'Running';
  save();
  out('');
} else if ((r = m(new RegExp(`^Hyper-V\\\\Stop-VM -Name ${LIT}( -TurnOff)?$`)))) {
  const v = vm(unq(r[1]), 'Stop-VM');
  if (v.State === 'Off') {
    // Stop-VM on a VM that is off warns and succeeds.
    process.stderr.write('WARNING: The virtual machine is already in the specified state.\r\n');
  }
  v.State = 'Off';
  v.IPAddresses = [];
  save();
  out('');
} else if ((r = m(new RegExp(`^Hyper-V\\\\Remove-VM -Name ${LIT} -Force$`)))) {
  const name = unq(r[1]);
  const v = vm(name, 'Remove-VM');
  if (v.State !== 'Off')
    psError(
      'Remove-VM',
      `The virtual machine "${name}" is running: turn it off first.`,
      'InvalidOperation',
      'InvalidOperation',
    );
  delete state.vms[name];
  save();
  out('');
} else if (
  (r = m(
    new RegExp(
      `^ConvertTo-Json -Compress -InputObject @\\(\\(Hyper-V\\\\Get-VM -Name ${LIT}\\)\\.NetworkAdapters\\[0\\]\\.IPAddresses\\)$`,
    ),
  ))
) {
  out(JSON.stringify(vm(unq(r[1]), 'Get-VM').IPAddresses));
} else {
  psError('fake', `the fake powershell does not know this command: ${command}`, 'NotImplemented', 'Fake');
}
