/** The guest side of the relay: AF_VSOCK connections to this port go out to the host through it. */
export const GUEST_RELAY_HOST = '10.0.2.100';

/** Lines the guest's init writes to the console start with this. */
export const CONSOLE_MARK = '@@ferry-vm';

/**
 * The guest's /init (busybox sh): mounts, loads the modules in /lib/modules/order, brings up the user
 * network, applies `ferry_boot` (base64 shell lines from the host: exports and `set --` for node's
 * argv), starts the vsock relay when `ferry_relay=<port>` asks for it, runs `node /app/dist/main.mjs`, reports
 * its exit status and powers off. Unknown `key=value` kernel parameters reach init as environment.
 */
export const GUEST_INIT = `#!/bin/sh
export PATH=/bin:/usr/bin HOME=/tmp NO_COLOR=1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
echo "${CONSOLE_MARK} init $(cut -d' ' -f1 /proc/uptime)"
while read -r m; do insmod "/lib/modules/$m" || echo "${CONSOLE_MARK} insmod-failed $m"; done < /lib/modules/order
ip link set lo up
if ip link set eth0 up 2>/dev/null; then
  ip addr add 10.0.2.15/24 dev eth0
  ip route add default via 10.0.2.2
fi
set --
if [ -n "$ferry_boot" ]; then eval "$(echo "$ferry_boot" | base64 -d)"; fi
unset ferry_boot
if [ -n "$ferry_relay" ]; then
  socat -t 30 VSOCK-LISTEN:$ferry_relay,reuseaddr,fork,backlog=128 TCP:${GUEST_RELAY_HOST}:$ferry_relay &
fi
echo "${CONSOLE_MARK} run $(cut -d' ' -f1 /proc/uptime)"
cd /app
node /app/dist/main.mjs "$@"
code=$?
echo "${CONSOLE_MARK} exit $code $(cut -d' ' -f1 /proc/uptime)"
sync
poweroff -f
`;
