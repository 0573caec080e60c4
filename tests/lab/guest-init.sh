#!/bin/busybox sh
# /init of the lab initramfs (busybox-static). Mounts the host root read-only over 9p, the
# read-write and extra shares at their host paths, then runs the command file in a chroot of the
# host root and powers off. Kernel command line knobs (set by vm.sh):
#   lab.run=/abs/dir       run directory (9p tag "run", read-write): holds cmd.sh, gets rc
#   lab.shares=t1:ro:/p1,...  extra 9p shares (tags t1..), ro or rw, mounted at the same paths,
#                          after the tmpfs mounts (so /tmp/... shares are visible), parents first
/bin/busybox mkdir -p /usr/bin /usr/sbin
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
up() { cut -d' ' -f1 /proc/uptime; }
echo "LAB: init uptime=$(up)"
arg() { tr ' ' '\n' < /proc/cmdline | sed -n "s/^$1=//p" | tail -1; }
RUN=$(arg lab.run)
SHARES=$(arg lab.shares)
KVER=$(uname -r)
fatal() { echo "LAB: FATAL: $*"; sync; poweroff -f; }

modprobe virtio_pci && modprobe 9pnet_virtio && modprobe 9p || fatal "cannot load 9p modules"
R=/mnt/host
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose hostroot $R \
  || fatal "cannot mount the host root"
mount -t proc proc $R/proc
mount -t sysfs sysfs $R/sys
mount -t devtmpfs devtmpfs $R/dev
mkdir -p $R/dev/pts $R/dev/shm
mount -t devpts devpts $R/dev/pts
mount -t tmpfs tmpfs $R/dev/shm
mount -t tmpfs -o mode=1777 tmpfs $R/tmp
mount -t tmpfs tmpfs $R/run
modprobe configfs && mount -t configfs configfs $R/sys/kernel/config
# The host has no /lib/modules for the guest kernel and its root is read-only: expose the
# initramfs modules and put a modprobe wrapper first in PATH.
mkdir -p $R/run/lab/bin $R/run/lab/lib/modules/$KVER
mount --bind /lib/modules/$KVER $R/run/lab/lib/modules/$KVER
printf '#!/bin/sh\nexec /sbin/modprobe -d /run/lab "$@"\n' > $R/run/lab/bin/modprobe
chmod 755 $R/run/lab/bin/modprobe
mount_share() {  # tag path ro|rw: read-only shares are cached (fast exec), rw ones are not
  cache=none; [ "$3" = ro ] && cache=loose
  mkdir -p "$R$2" 2>/dev/null
  mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,cache=$cache,$3 "$1" "$R$2" \
    || fatal "cannot mount share $1 at $2 ($3)"
}
[ -n "$RUN" ] || fatal "no lab.run on the kernel command line"
mount_share run "$RUN" rw
for s in $(echo "$SHARES" | tr ',' ' '); do
  tag=${s%%:*}; rest=${s#*:}
  mount_share "$tag" "${rest#*:}" "${rest%%:*}"
done
ip link set lo up 2>/dev/null
echo "LAB: mounts done uptime=$(up)"
[ -x $R/bin/bash ] || fatal "the host root has no /bin/bash"
chroot $R /usr/bin/env -i PATH=/run/lab/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  HOME=/root TERM=dumb LANG=C.UTF-8 /bin/bash "$RUN/cmd.sh" </dev/null
rc=$?
echo $rc > $R$RUN/rc
echo "LAB: cmd rc=$rc uptime=$(up)"
sync
umount $R$RUN 2>/dev/null
poweroff -f
