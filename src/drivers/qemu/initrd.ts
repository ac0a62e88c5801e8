import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { MachineError } from '../../errors.js';

/**
 * The built image's initrd: a static busybox, the few virtio modules that mounting /dev/vda
 * takes, and an /init that loads them, mounts the root file system, puts in the engine files a
 * first boot's seed carries, and hands over to systemd.
 * Debian's own initrd runs udev and a tree of scripts first, which costs about six seconds of
 * every boot under software emulation; this one needs a fraction of a second.
 */

/** What the disk needs, by module name; their dependencies come from modules.dep. */
export const ROOT_DISK_MODULES = ['virtio_pci', 'virtio_blk'];
/** What reading the seed volume takes (for the engine files a first boot puts in place). */
export const SEED_MODULES = ['isofs'];

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
# A first boot with engine files on the seed volume (seed.ts): they go in before systemd reads
# its units, so that the engine starts at boot with them. A file already there stays: after the
# first boot the machine's own files (provisioned, regenerated) are the ones that count.
seed=$($b findfs LABEL=cidata 2>/dev/null)
if [ -n "$seed" ] && $b mkdir -p /seed && $b mount -t iso9660 -o ro "$seed" /seed 2>/dev/null; then
  if [ -f /seed/engine-files ]; then
    while read -r name mode target; do
      case "$target" in /etc/*) ;; *) continue ;; esac
      [ -e "/root$target" ] && continue
      umask 022
      $b mkdir -p "/root\${target%/*}"
      umask 077
      $b cp "/seed/$name" "/root$target.seed" && $b chmod "$mode" "/root$target.seed" &&
        $b mv "/root$target.seed" "/root$target" || $b echo "initrd: cannot put the seeded $target in place"
    done </seed/engine-files
    umask 022
  fi
  $b umount /seed
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
