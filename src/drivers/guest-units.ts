/**
 * systemd units that the docker driver's image and the qemu driver's image both carry, the same
 * text in each: both images' recipe hashes take it in, so a change here rebuilds both.
 */

/**
 * Each machine makes its own host key when it first boots: one ed25519 key. `ssh-keygen -A`
 * also makes RSA 3072 and ECDSA keys: about a second of CPU per container (ten machines booting
 * at once waited for it), a minute and more for a VM under software emulation.
 */
export const HOSTKEYS_UNIT = `[Unit]
Description=SSH host keys of this machine
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -q -t ed25519 -N "" -f /etc/ssh/ssh_host_ed25519_key

[Install]
WantedBy=multi-user.target
`;
