import { psQuote as q } from './powershell.js';

/**
 * The PowerShell commands the hyperv driver runs, one function each, so that tests can hold them
 * to exact strings. Every value is a single-quoted literal; numbers are checked integers. The
 * cmdlets are module-qualified (Hyper-V\...) where VMware's PowerCLI has cmdlets of the same
 * names, as the original did.
 */

export const hyperVModule = '@(Get-Module -ListAvailable -Name Hyper-V).Name | Get-Unique';

/** Whether the user may run Hyper-V's cmdlets: in Hyper-V Administrators (S-1-5-32-578) or an Administrator. */
export const rights =
  '$p = New-Object System.Security.Principal.WindowsPrincipal([System.Security.Principal.WindowsIdentity]::GetCurrent()); ' +
  "ConvertTo-Json -Compress -InputObject @{ HyperVAdministrator = $p.IsInRole((New-Object System.Security.Principal.SecurityIdentifier('S-1-5-32-578'))); " +
  'Administrator = $p.IsInRole([System.Security.Principal.WindowsBuiltInRole]::Administrator) }';

/** The switches with their type as a word (ConvertTo-Json would write the enum's number). */
export const switches =
  "ConvertTo-Json -Compress -InputObject @(Hyper-V\\Get-VMSwitch | Select-Object Name, @{ Name = 'SwitchType'; Expression = { [string]$_.SwitchType } })";

/** The VM's state (as a word) and folder; Get-VM fails when there is none. */
export function vmInfo(name: string): string {
  return `Hyper-V\\Get-VM -Name ${q(name)} | Select-Object Name, @{ Name = 'State'; Expression = { [string]$_.State } }, Path | ConvertTo-Json -Compress`;
}

export function newVM(o: { name: string; path: string; switchName: string; memoryMB: number }): string {
  return `Hyper-V\\New-VM -Name ${q(o.name)} -Path ${q(o.path)} -Generation 1 -SwitchName ${q(o.switchName)} -MemoryStartupBytes ${int(o.memoryMB)}MB -NoVHD | Out-Null`;
}

export function disableDynamicMemory(name: string): string {
  return `Hyper-V\\Set-VMMemory -VMName ${q(name)} -DynamicMemoryEnabled $false`;
}

export function setProcessor(name: string, count: number): string {
  return `Hyper-V\\Set-VMProcessor -VMName ${q(name)} -Count ${int(count)}`;
}

export function staticMac(name: string, mac: string): string {
  return `Hyper-V\\Set-VMNetworkAdapter -VMName ${q(name)} -StaticMacAddress ${q(mac)}`;
}

export function vlan(name: string, id: number): string {
  return `Hyper-V\\Set-VMNetworkAdapterVlan -VMName ${q(name)} -Access -VlanId ${int(id)}`;
}

export function dvd(name: string, iso: string): string {
  return `Hyper-V\\Set-VMDvdDrive -VMName ${q(name)} -Path ${q(iso)}`;
}

export function addDisk(name: string, disk: string): string {
  return `Hyper-V\\Add-VMHardDiskDrive -VMName ${q(name)} -Path ${q(disk)}`;
}

/** Boot the disk first: the DVD holds the seed, which is not bootable. */
export function bootOrder(name: string): string {
  return `Hyper-V\\Set-VMBios -VMName ${q(name)} -StartupOrder @('IDE', 'CD', 'LegacyNetworkAdapter', 'Floppy')`;
}

export function start(name: string): string {
  return `Hyper-V\\Start-VM -Name ${q(name)}`;
}

export function resume(name: string): string {
  return `Hyper-V\\Resume-VM -Name ${q(name)}`;
}

export function stop(name: string): string {
  return `Hyper-V\\Stop-VM -Name ${q(name)}`;
}

export function turnOff(name: string): string {
  return `Hyper-V\\Stop-VM -Name ${q(name)} -TurnOff`;
}

export function remove(name: string): string {
  return `Hyper-V\\Remove-VM -Name ${q(name)} -Force`;
}

/** The addresses the guest's integration services report on its first adapter, as a JSON array. */
export function addresses(name: string): string {
  return `ConvertTo-Json -Compress -InputObject @((Hyper-V\\Get-VM -Name ${q(name)}).NetworkAdapters[0].IPAddresses)`;
}

function int(n: number): string {
  if (!Number.isSafeInteger(n)) throw new Error(`not an integer: ${n}`);
  return String(n);
}
