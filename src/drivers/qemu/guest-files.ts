import { HOSTKEYS_UNIT } from '../guest-units.js';

/**
 * The files the project's own machine image carries besides its packages: what a cloud image
 * gets from cloud-init (hostname, user, SSH key, network), done by one small oneshot unit that
 * reads the same NoCloud seed (cloud-init itself takes far too long to start under software
 * emulation), plus first-boot host keys, a root file system that grows to the disk, and DHCP on
 * the first NIC. Every file here is part of the image's recipe hash.
 */

/** Reads the seed volume (labelled cidata) that seed.ts writes; runs at every boot, idempotent. */
export const SEED_SCRIPT = `#!/bin/sh
# Applies the machine's NoCloud seed: hostname, user with sudo and SSH keys.
# Few processes: under software emulation each one costs.
set -u
log() { echo "machine-seed: $*"; }

dev=
i=0
while [ "$i" -lt 50 ]; do
  dev=$(blkid -l -o device -t LABEL=cidata 2>/dev/null || true)
  [ -n "$dev" ] && break
  i=$((i + 1))
  sleep 0.2
done
if [ -z "$dev" ]; then
  log "no seed volume labelled cidata after 10 s: nothing to apply"
  exit 0
fi
mnt=/run/machine-seed
mkdir -p "$mnt"
mount -t iso9660 -o ro "$dev" "$mnt" || { log "cannot mount the seed volume $dev"; exit 1; }
set --
for f in meta-data user-data; do [ -f "$mnt/$f" ] && set -- "$@" "$mnt/$f"; done
if [ "$#" -eq 0 ]; then
  umount "$mnt"
  log "the seed volume has neither meta-data nor user-data: nothing to apply"
  exit 0
fi

# One pass over both files: "meta KEY VALUE" for each top-level line of meta-data, and "name X",
# "sudo X", "shell X", "key X" for the first user of user-data's users list.
parsed=$(awk '
  function unq(s) {
    sub(/^[ \\t]+/, "", s); sub(/[ \\t\\r]+$/, "", s)
    if (s ~ /^".*"$/ || s ~ /^\\047.*\\047$/) s = substr(s, 2, length(s) - 2)
    return s
  }
  function val(s) { sub(/^[^:]*:/, "", s); return unq(s) }
  FILENAME ~ /meta-data$/ {
    if (match($0, /^[A-Za-z0-9_-]+:/)) print "meta " substr($0, 1, RLENGTH - 1) " " val($0)
    next
  }
  /^users:/ { u = 1; next }
  /^[^ \\t#]/ { u = 0; next }
  !u { next }
  /^[ \\t]*-?[ \\t]*name:/ { n++; keys = 0; if (n == 1) print "name " val($0); next }
  n != 1 { next }
  /^[ \\t]*ssh_authorized_keys:/ { keys = 1; next }
  keys && /^[ \\t]*-[ \\t]/ { s = $0; sub(/^[ \\t]*-[ \\t]*/, "", s); print "key " unq(s); next }
  /^[ \\t]*[A-Za-z_]+:/ {
    keys = 0; k = $0; sub(/^[ \\t]*/, "", k); sub(/:.*/, "", k)
    if (k == "sudo" || k == "shell") print k " " val($0)
  }' "$@")
umount "$mnt"

host= name= shell= sudo= keys=
nl='
'
while IFS= read -r line; do
  tag=\${line%% *}
  rest=\${line#* }
  case "$tag" in
    meta)
      k=\${rest%% *}
      case "$rest" in *" "*) v=\${rest#* } ;; *) v= ;; esac
      case "$k" in
        local-hostname) host=$v ;;
      esac
      ;;
    name) [ -n "$name" ] || name=$rest ;;
    shell) [ -n "$shell" ] || shell=$rest ;;
    sudo) [ -n "$sudo" ] || sudo=$rest ;;
    key) keys="$keys$rest$nl" ;;
  esac
done <<PARSED
$parsed
PARSED

case "$host" in
  "") ;;
  *[!A-Za-z0-9.-]*) log "ignoring the hostname '$host': not a host name" ;;
  *)
    echo "$host" >/etc/hostname
    hostname "$host"
    # sudo and others look up the machine's own name: answer from /etc/hosts, not DNS.
    sed -i -e '/^127\\.0\\.1\\.1[[:space:]]/d' -e "1a 127.0.1.1\\t$host" /etc/hosts
    ;;
esac

name=\${name:-docker}
case "$name" in
  *[!a-z0-9_-]*) log "ignoring the user '$name': not a user name"; exit 1 ;;
esac
if ! entry=$(getent passwd "$name"); then
  # The user "docker" joins the group docker.io made: the engine's socket is its group's.
  if getent group "$name" >/dev/null; then group_opt="--gid=$name"; else group_opt=--user-group; fi
  useradd --create-home "$group_opt" --shell "\${shell:-/bin/bash}" "$name" || { log "cannot create the user $name"; exit 1; }
  log "created the user $name"
  entry=$(getent passwd "$name")
fi
if [ -n "$sudo" ]; then
  printf '%s %s\\n' "$name" "$sudo" >"/etc/sudoers.d/90-machine-$name"
  chmod 0440 "/etc/sudoers.d/90-machine-$name"
fi
IFS=: read -r _ _ _ gid _ home _ <<ENTRY
$entry
ENTRY
ssh="$home/.ssh"
[ -d "$ssh" ] || install -d -m 0700 -o "$name" -g "$gid" "$ssh"
[ -f "$ssh/authorized_keys" ] || install -m 0600 -o "$name" -g "$gid" /dev/null "$ssh/authorized_keys"
# Keys are added, never removed: keys the user added later stay.
printf '%s' "$keys" | while IFS= read -r key; do
  grep -qxF -- "$key" "$ssh/authorized_keys" || printf '%s\\n' "$key" >>"$ssh/authorized_keys"
done
# The segment NIC's address is the initrd's to write (initrd.ts APPLY_SEED): networkd reads it
# when it starts, which need not wait for this then.
`;

export const SEED_UNIT = `[Unit]
Description=Machine settings from the seed volume (hostname, user, SSH key)
DefaultDependencies=no
After=local-fs.target
Before=ssh.service shutdown.target
Conflicts=shutdown.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/machine-seed
StandardOutput=journal+console
TimeoutStartSec=60

[Install]
WantedBy=multi-user.target
`;

/** --qemu-disk-size makes the overlay larger than the image: the file system follows at boot. */
export const GROWFS_UNIT = `[Unit]
Description=Grow the root file system to the size of its disk
After=local-fs.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/sbin/resize2fs /dev/vda

[Install]
WantedBy=multi-user.target
`;

/** NIC 1 is QEMU's user networking, which answers DHCP; a segment NIC gets 10-machine-segment. */
export const DHCP_NETWORK = `[Match]
Name=en* eth*

[Network]
DHCP=ipv4
LinkLocalAddressing=no
IPv6AcceptRA=no
`;

/** QEMU's user networking answers DNS at 10.0.2.3 (no resolver daemon in the image). */
export const RESOLV_CONF = 'nameserver 10.0.2.3\n';

export const FSTAB = '/dev/vda / ext4 defaults,discard 0 0\n';

export const SSHD_CONF = 'HostKey /etc/ssh/ssh_host_ed25519_key\nPasswordAuthentication no\n';

/** As in the docker driver: a stop must not wait 90 s for each container the engine keeps. */
export const SYSTEM_CONF = `[Manager]
DefaultTimeoutStopSec=10s
`;

/** Units the image starts at boot. */
export const ENABLE = ['ssh', 'docker', 'systemd-networkd', 'machine-seed', 'machine-growfs', 'ssh-hostkeys'];

/**
 * Units it does not: timers that would reach the Debian mirror or scan disks from a machine that
 * may be offline, consoles nobody logs in on, and the first-boot wizard (it would wait for a
 * keyboard on the serial console: the machine id is empty on purpose).
 */
export const DISABLE = [
  'apt-daily.timer',
  'apt-daily-upgrade.timer',
  'dpkg-db-backup.timer',
  'e2scrub_all.timer',
  'e2scrub_reap.service',
  'fstrim.timer',
  'getty@tty1.service',
  'containerd.service',
];
export const MASK = [
  'systemd-firstboot.service',
  'serial-getty@ttyS0.service',
  // Kernel modules and file systems nothing in the machine uses, each a slow modprobe at boot.
  'systemd-repart.service',
  'systemd-pstore.service',
  'modprobe@drm.service',
  // docker.service waits for network-online.target, which this holds back until DHCP answered:
  // seconds of the engine's start at boot, for an address the engine does not need to start.
  // Without it the target is reached with network.target.
  'systemd-networkd-wait-online.service',
  'sys-fs-fuse-connections.mount',
  'sys-kernel-config.mount',
];

/**
 * The engine starts once its certificates are there, after provisioning: a start at boot would
 * take 20-30 s of emulated CPU from the boot and the provisioning, which restarts it anyway.
 * containerd carries the same condition: docker.service's Wants= would start it at boot even
 * when docker.service itself is skipped, and it competes with sshd for the CPU.
 */
export const DOCKER_AFTER_PROVISIONING = `[Unit]
ConditionPathExists=/etc/docker/server.pem
`;

/** sshd checks its configuration before each start (`sshd -t`): one more process at boot. */
export const SSH_UNIT_CONF = `[Service]
ExecStartPre=
`;

/** The user the machine's SSH key logs in as; the image has it, the seed gives it its key. */
export const USER = 'docker';

/**
 * systemd runs every generator before it starts a unit. These make units for things the machine
 * does not have: encrypted, verity and integrity volumes, GPT auto-mounts, hibernation, SysV
 * scripts (every service here has its own unit), rc.local, gettys, kernel command line units.
 */
export const MASK_GENERATORS = [
  'systemd-cryptsetup-generator',
  'systemd-debug-generator',
  'systemd-getty-generator',
  'systemd-gpt-auto-generator',
  'systemd-hibernate-resume-generator',
  'systemd-integritysetup-generator',
  'systemd-rc-local-generator',
  'systemd-run-generator',
  'systemd-system-update-generator',
  'systemd-sysv-generator',
  'systemd-veritysetup-generator',
];

/** Path in the image → contents. */
export const FILES: Record<string, string> = {
  'usr/local/sbin/machine-seed': SEED_SCRIPT,
  'etc/systemd/system/machine-seed.service': SEED_UNIT,
  'etc/systemd/system/machine-growfs.service': GROWFS_UNIT,
  'etc/systemd/system/ssh-hostkeys.service': HOSTKEYS_UNIT,
  'etc/systemd/network/90-machine-dhcp.network': DHCP_NETWORK,
  'etc/systemd/system.conf.d/10-machine.conf': SYSTEM_CONF,
  'etc/systemd/system/docker.service.d/10-after-provisioning.conf': DOCKER_AFTER_PROVISIONING,
  'etc/ssh/sshd_config.d/10-machine.conf': SSHD_CONF,
  'etc/resolv.conf': RESOLV_CONF,
  'etc/fstab': FSTAB,
  'etc/hostname': 'debian\n',
  'etc/systemd/system/containerd.service.d/10-after-provisioning.conf': DOCKER_AFTER_PROVISIONING,
  'etc/systemd/system/ssh.service.d/10-machine.conf': SSH_UNIT_CONF,
};
