import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { MachineError } from '../../errors.js';

/**
 * The built image's initrd: a static busybox, the few virtio modules that mounting /dev/vda
 * takes, and an /init that loads them, mounts the root file system, applies what of the seed
 * systemd reads at its start (hostname, segment address, a first boot's engine files), and hands
 * over to systemd.
 * Debian's own initrd runs udev and a tree of scripts first, which costs about six seconds of
 * every boot under software emulation; this one needs a fraction of a second.
 */

/** What the disk needs, by module name; their dependencies come from modules.dep. */
export const ROOT_DISK_MODULES = ['virtio_pci', 'virtio_blk'];
/** What reading the seed volume takes (for the engine files a first boot puts in place). */
export const SEED_MODULES = ['isofs'];

/**
 * What of the seed systemd reads when it starts, applied from the mounted seed in $s to the root
 * file system in $r: the hostname and the segment NIC's address (every boot), and the engine
 * files of a first boot. Part of INIT_SCRIPT; kept apart so that a test runs it with busybox.
 */
export const APPLY_SEED = `# The hostname, which systemd sets when it starts, and the segment NIC's address, which
# networkd reads when it starts: neither waits for the machine-seed unit then.
host=$($b sed -n 's/^local-hostname: "\\(.*\\)"$/\\1/p' "$s/meta-data" 2>/dev/null)
case "$host" in
  "" | *[!A-Za-z0-9.-]*) ;;
  *) $b echo "$host" >"$r/etc/hostname" ;;
esac
addr=$($b sed -n 's/^docker-machine-segment-address: "\\([0-9./]*\\)"$/\\1/p' "$s/meta-data" 2>/dev/null)
mac=$($b sed -n 's/^docker-machine-segment-mac: "\\([0-9a-f:]*\\)"$/\\1/p' "$s/meta-data" 2>/dev/null)
net="$r/etc/systemd/network/10-machine-segment.network"
if [ -n "$addr" ] && [ -n "$mac" ]; then
  # Before the DHCP file (90-) in name order: networkd gives the segment NIC this one.
  $b printf '[Match]\\nMACAddress=%s\\n\\n[Link]\\nRequiredForOnline=no\\n\\n[Network]\\nAddress=%s\\nLinkLocalAddressing=no\\nIPv6AcceptRA=no\\n' \\
    "$mac" "$addr" >"$net"
else
  $b rm -f "$net"
fi
# The engine files (seed.ts), so that the engine starts at boot with them. A file already there
# stays: after the first boot the machine's own files (provisioned, regenerated) are the ones
# that count.
if [ -f "$s/engine-files" ]; then
  while read -r name mode target; do
    case "$target" in /etc/*) ;; *) continue ;; esac
    [ -e "$r$target" ] && continue
    umask 022
    $b mkdir -p "$r\${target%/*}"
    umask 077
    $b cp "$s/$name" "$r$target.seed" && $b chmod "$mode" "$r$target.seed" &&
      $b mv "$r$target.seed" "$r$target" || $b echo "initrd: cannot put the seeded $target in place"
  done <"$s/engine-files"
  umask 022
fi
`;

/** Runs as PID 1 from the initrd. busybox is called by path: the initrd has no applet links. */
export const INIT_SCRIPT = `#!/bin/busybox sh
b=/bin/busybox
$b mount -t devtmpfs devtmpfs /dev
$b mount -t proc proc /proc
for m in $($b cat /modules.order); do
  $b insmod "/modules/$m" || $b echo "initrd: cannot load $m"
done
root=/dev/vda fstype=ext4 mode=rw
for a in $($b cat /proc/cmdline); do
  case "$a" in
    root=*) root=\${a#root=} ;;
    rootfstype=*) fstype=\${a#rootfstype=} ;;
    ro) mode=ro ;;
  esac
done
i=0
while [ ! -b "$root" ] && [ "$i" -lt 100 ]; do $b sleep 0.1; i=$((i + 1)); done
if ! $b mount -t "$fstype" -o "$mode" "$root" /root; then
  $b echo "initrd: cannot mount the root file system $root ($fstype): the disk is not a machine image"
  $b sleep 1
  exit 1
fi
seed=$($b findfs LABEL=cidata 2>/dev/null)
if [ -n "$seed" ] && $b mount -t iso9660 -o ro "$seed" /seed 2>/dev/null; then
  s=/seed r=/root
${APPLY_SEED}  $b umount /seed
fi
$b mount --move /dev /root/dev
$b umount /proc
exec $b switch_root /root /sbin/init
`;

/** Module paths (relative to the modules folder) in load order: each after what it needs. */
export function loadOrder(modulesDep: string, wanted: string[]): string[] {
  const deps = new Map<string, string[]>();
  for (const line of modulesDep.split('\n')) {
    const i = line.indexOf(':');
    if (i < 0) continue;
    deps.set(
      line.slice(0, i),
      line
        .slice(i + 1)
        .trim()
        .split(/\s+/)
        .filter(Boolean),
    );
  }
  const byName = new Map([...deps.keys()].map((p) => [basename(p).replace(/\.ko(\..*)?$/, ''), p]));
  const order: string[] = [];
  const visit = (path: string, seen: Set<string>) => {
    if (order.includes(path)) return;
    if (seen.has(path)) throw new MachineError(`the kernel's modules.dep has a cycle at ${path}`);
    seen.add(path);
    for (const d of deps.get(path) ?? []) visit(d, seen);
    order.push(path);
  };
  for (const name of wanted) {
    const path = byName.get(name);
    if (!path)
      throw new MachineError(`the machine image's kernel has no module ${name}: it could not mount its disk`);
    if (!path.endsWith('.ko')) {
      throw new MachineError(`the kernel module ${path} is compressed, which the image's initrd cannot load`);
    }
    visit(path, new Set());
  }
  return order;
}

interface Entry {
  name: string;
  mode: number;
  data?: Buffer;
  rdev?: [number, number];
}

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFCHR = 0o020000;

/** An uncompressed cpio archive in the "newc" format the kernel unpacks as its initramfs. */
export function cpioNewc(entries: Entry[]): Buffer {
  const parts: Buffer[] = [];
  const pad = (n: number) => Buffer.alloc((4 - (n % 4)) % 4);
  const hex = (n: number) => n.toString(16).padStart(8, '0');
  let ino = 1;
  for (const e of [...entries, { name: 'TRAILER!!!', mode: 0 }] as Entry[]) {
    const data = e.data ?? Buffer.alloc(0);
    const name = Buffer.from(`${e.name}\0`);
    const fields = [
      e.name === 'TRAILER!!!' ? 0 : ino++,
      e.mode,
      0,
      0,
      (e.mode & S_IFDIR) === S_IFDIR ? 2 : 1,
      0,
      data.length,
      0,
      0,
      e.rdev?.[0] ?? 0,
      e.rdev?.[1] ?? 0,
      name.length,
      0,
    ];
    const header = Buffer.from(`070701${fields.map(hex).join('')}`, 'latin1');
    parts.push(header, name, pad(header.length + name.length), data, pad(data.length));
  }
  return Buffer.concat(parts);
}

/** The initrd for the kernel whose modules are in `modulesDir`, with `busybox` (a static binary). */
export async function makeInitrd(modulesDir: string, busybox: string): Promise<Buffer> {
  const order = loadOrder(await readFile(join(modulesDir, 'modules.dep'), 'utf8'), [
    ...ROOT_DISK_MODULES,
    ...SEED_MODULES,
  ]);
  const dirs = ['bin', 'dev', 'proc', 'root', 'seed', 'modules'];
  const entries: Entry[] = [
    ...dirs.map((name) => ({ name, mode: S_IFDIR | 0o755 })),
    // The kernel opens the console before /init runs, before devtmpfs is mounted.
    { name: 'dev/console', mode: S_IFCHR | 0o600, rdev: [5, 1] },
    { name: 'bin/busybox', mode: S_IFREG | 0o755, data: await readFile(busybox) },
    { name: 'init', mode: S_IFREG | 0o755, data: Buffer.from(INIT_SCRIPT) },
    {
      name: 'modules.order',
      mode: S_IFREG | 0o644,
      data: Buffer.from(`${order.map((p) => basename(p)).join('\n')}\n`),
    },
  ];
  for (const p of order) {
    entries.push({
      name: `modules/${basename(p)}`,
      mode: S_IFREG | 0o644,
      data: await readFile(join(modulesDir, p)),
    });
  }
  return cpioNewc(entries);
}
