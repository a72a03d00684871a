#!/usr/bin/env bash
# Runs an x86-64 Linux program on an emulated AVX-512 CPU: Debian's Bochs 2.7 (CPU model tigerlake: AVX-512
# F/DQ/BW/VL/CD/IFMA/VBMI/VBMI2/VNNI/BITALG/VPOPCNTDQ, VAES, VPCLMULQDQ, GFNI, F16C) booting Debian's own
# amd64 kernel with a small initramfs that holds the program, the shared libraries it needs and busybox.
#
# Usage: scripts/emulate/bochs_run.sh [options] -- PROGRAM [ARGS...]
#        scripts/emulate/bochs_run.sh [options] --script FILE [-- ARGS...]
# Options:
#   --file HOST_PATH[:GUEST_PATH]  put a file or directory into the guest (repeatable). GUEST_PATH defaults to
#                                  HOST_PATH; relative guest paths are under the working directory /work.
#   --env NAME=VALUE               set an environment variable for the program (repeatable)
#   --script FILE                  run FILE with the guest's busybox sh instead of one program (several
#                                  commands in one boot); ELF files given with --file get their libraries
#   --timeout SECONDS              whole run, boot included, in host seconds (default 1800)
#   --boot-timeout SECONDS         until /init runs (default 240)
#   --mem MIB                      guest memory (default 2048)
#   --cpu MODEL                    Bochs CPU model (default tigerlake; e.g. corei7_skylake_x: AVX-512 F/DQ/CD/BW/VL
#                                  without VAES; corei7_haswell_4770: AVX2, no AVX-512)
#   --keep                         keep the run folder (disks, bochsrc, logs) under build/emulate/bochs/
#   --verbose                      show the guest's boot messages (kernel not quiet) with host timestamps
# PROGRAM is copied to the same path in the guest (relative paths under /work) and run there as given, in the
# working directory /work, with stdin from /dev/null; its stdout and stderr (one stream, the serial console)
# are printed here as they come. The exit status is the program's; 125 (with one line "bochs_run: error: ...")
# when the guest does not boot, panics, stops without reporting, or the timeout passes. The last line, on
# stderr, gives the boot time and the program's run time in host seconds.
#
# Cached under build/emulate/bochs/ (BOCHS_RUN_CACHE): the downloaded kernel package, the extracted kernel and
# the boot disk (boot sector + uncompressed kernel); delete the folder to redo them. The kernel is the
# linux-image-6.1.0-*-amd64 that Debian's linux-image-amd64 depends on at the first run (BOCHS_RUN_KERNEL_PKG
# picks another). Emulated speed: ~50 M instructions per host second; the guest has one CPU.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
ERR=125
die() { echo "bochs_run: error: $*" >&2; exit $ERR; }

timeout=1800 boot_timeout=240 mem=2048 keep=0 verbose=0 cpu=tigerlake script=""
files=() envs=()
while [ $# -gt 0 ]; do
  case $1 in
    --file) [ $# -ge 2 ] || die "--file needs HOST_PATH[:GUEST_PATH]"; files+=("$2"); shift 2 ;;
    --env) [ $# -ge 2 ] && [[ $2 == *=* ]] || die "--env needs NAME=VALUE"; envs+=("$2"); shift 2 ;;
    --script) [ $# -ge 2 ] || die "--script needs a file"; script=$2; shift 2 ;;
    --timeout) [[ ${2:-} =~ ^[0-9]+$ ]] || die "--timeout needs seconds"; timeout=$2; shift 2 ;;
    --boot-timeout) [[ ${2:-} =~ ^[0-9]+$ ]] || die "--boot-timeout needs seconds"; boot_timeout=$2; shift 2 ;;
    --mem) [[ ${2:-} =~ ^[0-9]+$ ]] || die "--mem needs MiB"; mem=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --verbose) verbose=1; shift ;;
    --cpu) [ $# -ge 2 ] || die "--cpu needs a Bochs CPU model"; cpu=$2; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
if [ -z "$script" ]; then
  [ $# -ge 1 ] || die "no program given (usage: bochs_run.sh [options] -- PROGRAM [ARGS...])"
  program=$1; shift
  # a bare name is looked up in PATH here and put at the same absolute path in the guest
  if [[ $program != */* ]]; then
    p=$(command -v -- "$program") || die "$program: not found"
    program=$p
  fi
  [ -f "$program" ] || die "$program: no such file"
  files=("$program" "${files[@]}")
else
  [ -f "$script" ] || die "$script: no such file"
fi

source "$root/scripts/deps.sh"
need_packages "${BOCHS_PACKAGES[@]}"

cache=${BOCHS_RUN_CACHE:-$root/build/emulate/bochs}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

# ---- kernel and boot disk (cached) ----
kpkg=${BOCHS_RUN_KERNEL_PKG:-}
if [ -z "$kpkg" ]; then
  # the kernel of an earlier run, if any; else the one Debian's linux-image-amd64 depends on now
  kpkg=$(cd "$cache" && ls -d linux-image-6.1.0-*-amd64 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$kpkg" ]; then
    kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-6\.1\.0-[0-9]*-amd64\)$/\1/p' | head -n 1)
    [ -n "$kpkg" ] || die "cannot find Debian's linux-image-6.1.0-*-amd64 package (apt-cache depends linux-image-amd64)"
  fi
fi
kdir=$cache/$kpkg
boot_sig=$(cat "$here/boot.S" "$here/bochs_helper.py" | sha256sum | cut -c1-16)
if [ ! -f "$kdir/boot.img" ] || [ "$(cat "$kdir/boot.sig" 2>/dev/null)" != "$boot_sig" ]; then
  mkdir -p "$kdir"
  if ! ls "$kdir"/vmlinuz-* >/dev/null 2>&1; then
    echo "== bochs_run: downloading $kpkg" >&2
    rm -rf "$kdir/dl" && mkdir -p "$kdir/dl"
    (cd "$kdir/dl" && apt-get download "$kpkg" >/dev/null 2>&1) || die "apt-get download $kpkg failed"
    dpkg-deb --fsys-tarfile "$kdir"/dl/*.deb | tar -x -C "$kdir/dl" ./boot/ || die "cannot unpack $kpkg"
    mv "$kdir"/dl/boot/vmlinuz-* "$kdir/"
    rm -rf "$kdir/dl"
  fi
  echo "== bochs_run: building the boot disk for $kpkg" >&2
  as --32 -o "$kdir/boot.o" "$here/boot.S" || die "cannot assemble boot.S"
  ld -m elf_i386 -Ttext 0x7c00 --oformat binary -o "$kdir/boot.bin" "$kdir/boot.o" || die "cannot link boot.S"
  /usr/bin/python3 "$here/bochs_helper.py" kernel "$(ls "$kdir"/vmlinuz-* | head -n 1)" "$kdir/boot.bin" "$kdir" >&2
  echo "$boot_sig" > "$kdir/boot.sig"
fi

# ---- the run's initramfs ----
mkdir -p "$cache/runs"
run=$(mktemp -d "$cache/runs/run.XXXXXX")
# the run folder goes at the end; after a runner error (125) its logs stay (serial.log, bochs.out, bochs.log)
cleanup() {
  local rc=$?
  if [ "$keep" = 1 ]; then echo "bochs_run: run folder kept: $run" >&2
  elif [ "$rc" = $ERR ] && [ -f "$run/bochsrc" ]; then rm -rf "$run/rootfs" "$run"/*.img "$run"/*.lock "$run/initrd.cpio"
  else rm -rf "$run"; fi
}
trap cleanup EXIT
rootfs=$run/rootfs
mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,work,bochs_run}
cp /bin/busybox "$rootfs/bin/busybox"

# guest path of a host path: GUEST given, else the same path (relative ones under /work)
guest_path() {
  case $1 in
    /*) printf '%s' "$1" ;;
    *) [[ /$1/ == */../* ]] && die "$1: a relative path with .. needs an explicit :GUEST_PATH"
       printf '/work/%s' "${1#./}" ;;
  esac
}
is_elf() { [ -f "$1" ] && [ "$(head -c 4 "$1" | od -An -c | tr -d ' ')" = "177ELF" ]; }
elfs=()
for spec in "${files[@]}"; do
  host=${spec%%:*}
  if [[ $spec == *:* ]]; then guest=${spec#*:}; else guest=$host; fi
  [ -e "$host" ] || die "$host: no such file or directory"
  guest=$(guest_path "$guest")
  mkdir -p "$rootfs$(dirname "$guest")"
  cp -a -L "$host" "$rootfs$guest"
  is_elf "$host" && elfs+=("$host")
done
# the shared libraries and the dynamic loader, at their host paths
for elf in "${elfs[@]}"; do
  out=$(ldd "$elf" 2>&1) || { [[ $out == *"not a dynamic executable"* ]] && continue; die "ldd $elf: $out"; }
  if grep -q "not found" <<<"$out"; then die "$elf: missing libraries: $(grep 'not found' <<<"$out" | tr -s ' \t' ' ')"; fi
  for lib in $(awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' <<<"$out"); do
    [ -e "$rootfs$lib" ] && continue
    mkdir -p "$rootfs$(dirname "$lib")"
    cp -L "$lib" "$rootfs$lib"
  done
done

q() { printf "'%s'" "${1//\'/\'\\\'\'}"; }   # single-quoted for the guest's sh
{
  echo "#!/bin/busybox sh"
  echo "/bin/busybox mount -t devtmpfs devtmpfs /dev"
  echo "exec </dev/console >/dev/console 2>&1"
  echo "/bin/busybox --install -s"
  echo "mount -t proc proc /proc; mount -t sysfs sysfs /sys"
  echo "mkdir -p /dev/shm && mount -t tmpfs tmpfs /dev/shm"
  echo "echo 1 > /proc/sys/kernel/printk   # kernel messages other than emergencies stay out of the output"
  echo "export PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin HOME=/work TMPDIR=/tmp"
  for e in "${envs[@]}"; do echo "export ${e%%=*}=$(q "${e#*=}")"; done
  echo "cd /work"
  echo "echo '@@BOCHS_RUN_START@@'"
  if [ -n "$script" ]; then
    cp "$script" "$rootfs/bochs_run/script.sh"
    printf 'sh /bochs_run/script.sh'
  else
    printf '%s' "$(q "$program")"
  fi
  for a in "$@"; do printf ' %s' "$(q "$a")"; done
  echo " </dev/null"
  echo "status=\$?"
  echo "echo '@@BOCHS_RUN_EXIT '\$status'@@'"
  echo "sleep 1   # let the serial port drain"
  echo "poweroff -f"
} > "$rootfs/init"
chmod +x "$rootfs/init"
(cd "$rootfs" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) > "$run/initrd.cpio" \
  || die "cpio failed"

# clocksource=hpet: the guest's clock then follows Bochs' emulated time (instructions / ips, about host time);
# with the TSC it ran ~30-50x slow (Bochs counts one TSC tick per instruction, the kernel assumes 2.4 GHz), so
# guest-side timeouts and measured durations meant little.
cmdline="console=ttyS0,115200 panic=0 mitigations=off tsc=reliable clocksource=hpet idle=halt cryptomgr.notests rodata=off"
cmdline+=" clearcpuid=pku,ospke,xsaves,xsavec,fsrm"
[ "$verbose" = 1 ] || cmdline+=" quiet"
cmdline+=${BOCHS_RUN_KERNEL_ARGS:+ $BOCHS_RUN_KERNEL_ARGS}
/usr/bin/python3 "$here/bochs_helper.py" datadisk "$kdir/boot.json" "$run/initrd.cpio" "$cmdline" "$run/data.img"
rm -rf "$rootfs" "$run/initrd.cpio"

geom() { echo "cylinders=$(( $(stat -c %s "$1") / (16 * 63 * 512) )), heads=16, spt=63"; }
cp --reflink=auto "$kdir/boot.img" "$run/boot.img"   # Bochs locks its disk images: one copy per run
cat > "$run/bochsrc" <<EOF
memory: guest=$mem, host=$mem
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/bochs/VGABIOS-lgpl-latest
boot: disk
ata0: enabled=1, ioaddr1=0x1f0, ioaddr2=0x3f0, irq=14
ata0-master: type=disk, path=boot.img, mode=flat, $(geom "$run/boot.img")
ata0-slave: type=disk, path=data.img, mode=flat, $(geom "$run/data.img")
cpu: model=$cpu, count=1, ips=50000000
clock: sync=none, time0=local
display_library: rfb, options="timeout=0"
sound: driver=dummy
speaker: enabled=0
mouse: enabled=0
com1: enabled=1, mode=file, dev=serial.log
log: bochs.log
panic: action=fatal
error: action=report
info: action=ignore
debug: action=ignore
EOF
echo continue > "$run/bochs.rc"
# rfb listens on port 5900: a private network namespace keeps it off the host's network
if [ "$(id -u)" -eq 0 ]; then ns=(unshare -n); else ns=(unshare -r -n); fi
status=0
BOCHS_RUN_VERBOSE=$verbose /usr/bin/python3 "$here/bochs_helper.py" run "$run" "$timeout" "$boot_timeout" \
  "${ns[@]}" bochs -q -f bochsrc -rc bochs.rc || status=$?
exit $status
