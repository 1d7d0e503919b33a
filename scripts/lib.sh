# Shared by scripts/test and scripts/demo: installs the Debian packages behind missing commands.
# Source it after defining log() and die().

# Installs the package of every "command package" pair whose command is missing (plus libc6-dev
# when the C headers are), after one apt-get update; fails loudly when one is still missing.
install_missing_commands() {
  local missing=() pair command package
  for pair in "$@"; do
    read -r command package <<<"$pair"
    command -v "$command" >/dev/null 2>&1 || missing+=("$package")
  done
  # libc headers have no command of their own.
  [[ -e /usr/include/stdio.h ]] || missing+=(libc6-dev)
  if ((${#missing[@]} == 0)); then
    return
  fi
  [[ $(id -u) -eq 0 ]] || die "missing packages ${missing[*]} and not root; install them: apt-get install -y ${missing[*]}"
  log "installing ${missing[*]}"
  apt-get update
  # These machines can carry a backported qemu-utils (10.x) that breaks Debian 12's
  # qemu-system-common (7.2): apt then refuses qemu-system-x86 outright ("held broken
  # packages"). Installing qemu-utils at qemu-system-x86's own version with it resolves that.
  local extra=() qemu_version
  if [[ " ${missing[*]} " == *" qemu-system-x86 "* ]]; then
    qemu_version=$(apt-cache policy qemu-system-x86 | sed -n 's/^  Candidate: //p')
    [[ -n "$qemu_version" && "$qemu_version" != "(none)" ]] && extra=("qemu-utils=$qemu_version" --allow-downgrades)
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" "${extra[@]}"
  # An install can still remove a package that conflicts with it; a second pass installs
  # whatever is missing now (then from the machine's own suite).
  missing=()
  for pair in "$@"; do
    read -r command package <<<"$pair"
    command -v "$command" >/dev/null 2>&1 || missing+=("$package")
  done
  if ((${#missing[@]} > 0)); then
    log "installing ${missing[*]} again (removed by a conflicting install)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
  fi
  for pair in "$@"; do
    read -r command package <<<"$pair"
    command -v "$command" >/dev/null 2>&1 || die "$command still missing after installing $package"
  done
}

# What the test-host lab (acceptance-tests/src/lab) runs: debootstrap builds its image,
# systemd-nspawn boots the container hosts, ip makes their network, ssh-keygen their keys, ssh
# reaches them; QEMU runs the VM hosts, qemu-img makes their disks, mkfs.ext4 their images.
LAB_COMMANDS=(
  "debootstrap debootstrap"
  "systemd-nspawn systemd-container"
  "ip iproute2"
  "ssh openssh-client"
  "ssh-keygen openssh-client"
  "chroot coreutils"
  "umount mount"
  "qemu-system-x86_64 qemu-system-x86"
  "qemu-img qemu-utils"
  "mkfs.ext4 e2fsprogs"
)

# cc for the C parts of aws-lc-sys and ring, make for their build scripts.
BUILD_COMMANDS=(
  "cc gcc"
  "make make"
)
