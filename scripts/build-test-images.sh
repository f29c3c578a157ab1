#!/usr/bin/env bash
# Build the Debian test-host images (systemd as PID 1, python3 for Ansible) from Debian's
# archive with debootstrap, without any container registry: `docker import` of a rootfs.
#
# Usage: scripts/build-test-images.sh [RELEASE ...]     (default: bookworm trixie)
# Env:   DEBIAN_MIRROR   archive to debootstrap from   (default http://deb.debian.org/debian)
#        IMAGE_REPO      image name, tagged :RELEASE   (default initech-django/debian-systemd)
#        FORCE=1         rebuild even when the recipe is unchanged
#
# Each image carries the hash of its recipe (this script, the release, the mirror) in its
# environment as INITECH_IMAGE_RECIPE (`docker import` cannot set labels); an image whose recipe
# matches is kept, so an unchanged recipe is not rebuilt. Containers must be stopped with
# SIGRTMIN+3 (systemd's halt signal); our molecule create playbook sets it.
# Works as root or through sudo, on any Linux machine with Docker and debootstrap.
set -euo pipefail

DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
IMAGE_REPO=${IMAGE_REPO:-initech-django/debian-systemd}
FORCE=${FORCE:-0}
RELEASES=("$@")
[ ${#RELEASES[@]} -gt 0 ] || RELEASES=(bookworm trixie)

# What a bare Debian server has that Ansible and our tests rely on. python3-apt saves every
# converge the round trip of installing it; procps/iproute2 are what an admin checks with;
# openssh-server for the scenarios whose hosts are reached over SSH (`ssh: true`).
PACKAGES=systemd,systemd-sysv,dbus,python3,python3-apt,ca-certificates,sudo,procps,iproute2,less,openssh-server

SUDO=
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "build-test-images: needs root or sudo" >&2; exit 1; }
  SUDO=sudo
fi
for tool in docker debootstrap; do
  command -v "$tool" >/dev/null || { echo "build-test-images: '$tool' is not installed" >&2; exit 1; }
done

script_hash=$(sha256sum "$0" | cut -c1-64)

recipe_hash() {  # release -> hash of everything that defines the image
  printf '%s\n' "$script_hash" "$1" "$DEBIAN_MIRROR" "$PACKAGES" | sha256sum | cut -c1-16
}

build_one() {
  local release=$1 image="$IMAGE_REPO:$1" hash current rootfs started
  hash=$(recipe_hash "$release")
  current=$($SUDO docker image inspect -f '{{ range .Config.Env }}{{ println . }}{{ end }}' "$image" 2>/dev/null \
    | sed -n 's/^INITECH_IMAGE_RECIPE=//p' || true)
  if [ "$FORCE" != 1 ] && [ "$current" = "$hash" ]; then
    echo "[$release] $image is up to date (recipe $hash), not rebuilt"
    return 0
  fi
  started=$(date +%s)
  rootfs=$(mktemp -d "${TMPDIR:-/var/tmp}/initech-rootfs-$release.XXXXXX")
  # shellcheck disable=SC2064
  trap "$SUDO rm -rf '$rootfs'" RETURN
  echo "[$release] debootstrap from $DEBIAN_MIRROR into $rootfs"
  $SUDO debootstrap --variant=minbase --include="$PACKAGES" "$release" "$rootfs" "$DEBIAN_MIRROR" \
    >"$rootfs.log" 2>&1 || { tail -n 30 "$rootfs.log" >&2; echo "[$release] debootstrap failed" >&2; return 1; }
  rm -f "$rootfs.log"

  $SUDO chroot "$rootfs" /bin/sh -eu -s "$release" "$DEBIAN_MIRROR" <<'CHROOT'
release=$1 mirror=$2
# The full set of suites a real host has: updates and security fixes.
cat > /etc/apt/sources.list <<LIST
deb $mirror $release main
deb $mirror $release-updates main
deb http://deb.debian.org/debian-security $release-security main
LIST
# A container is not a machine: no consoles, no kernel-facing units. Masking them is what
# lets `systemctl is-system-running` report "running" instead of "degraded".
for unit in getty.target console-getty.service systemd-udevd.service systemd-udev-trigger.service \
    systemd-modules-load.service sys-kernel-debug.mount sys-kernel-tracing.mount \
    sys-kernel-config.mount sys-fs-fuse-connections.mount dev-hugepages.mount \
    systemd-remount-fs.service systemd-firstboot.service systemd-resolved.service \
    apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer; do
  ln -sf /dev/null "/etc/systemd/system/$unit"
done
# Each container gets its own machine id at first boot.
: > /etc/machine-id
rm -f /var/lib/dbus/machine-id
# sshd is installed but off, and without host keys (the package made some in this chroot, which
# every container would share): molecule's create playbook generates a container's own keys and
# starts sshd only on `ssh: true` hosts, so the others run exactly what they ran before.
systemctl disable --quiet ssh.service 2>/dev/null  # (trixie's warns that /proc is not mounted)
test ! -e /etc/systemd/system/multi-user.target.wants/ssh.service
rm -f /etc/ssh/ssh_host_*
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/*.log
# No package lists, and a lists directory old enough that apt's cache_valid_time (Ansible)
# knows they must be fetched, as on a host that has not run apt-get update for a while.
touch -d @0 /var/lib/apt/lists
CHROOT

  $SUDO tar -C "$rootfs" --numeric-owner -c . | $SUDO docker import \
    --change 'ENV container=docker' \
    --change 'CMD ["/lib/systemd/systemd"]' \
    --change "ENV INITECH_IMAGE_RECIPE=$hash" \
    - "$image" >/dev/null
  echo "[$release] built $image (recipe $hash) in $(( $(date +%s) - started )) s"
}

pids=()
for release in "${RELEASES[@]}"; do
  build_one "$release" &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
exit $status
