# Sourced by the scripts: installs the Debian 12 packages a step needs, only those missing.
# Usage: need_packages pkg...   (runs apt-get as root; says what to do otherwise)

need_packages() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "== installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: these packages are missing and installing them needs root: ${missing[*]}" >&2
    echo "       run this command as root, or: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# What building the library, its tests and the benchmark needs.
BUILD_PACKAGES=(g++ cmake ninja-build libtbb-dev libxsimd-dev catch2 libbenchmark-dev libeigen3-dev
                librandom123-dev python3 python3-matplotlib python3-numpy)

# simdrop in PyTorch (python/, tests/python/, examples/): Debian's libtorch to build the ops against, and
# /usr/bin/python3's torch, scikit-learn (the digits example) and pytest to run them; libjemalloc2 for the
# PyTorch benchmark's jemalloc column (bench/torch_dropout_bench.py runs itself again with LD_PRELOAD of its
# libjemalloc.so.2, as PyTorch's CPU performance guides recommend; issue #20 sets its speed targets with both
# glibc's allocator and jemalloc).
TORCH_PACKAGES=(libtorch-dev python3-torch python3-sklearn python3-pytest libjemalloc2)

# The differential fuzzer (fuzz/, the fuzz preset): clang 14 with libFuzzer and the sanitizer runtimes.
FUZZ_PACKAGES=(clang libclang-rt-14-dev)

# The aarch64 cross build and its tests under qemu-user (cmake/toolchains/aarch64-linux-gnu.cmake, the aarch64
# preset, scripts/stages/aarch64.sh). The cross compiler and qemu-user are amd64 packages; the libraries the
# build links against are the arm64 ones, through Debian's multiarch (enable_arm64_multiarch first).
#  * libxsimd-dev:arm64: its CMake config sits in /usr/lib/aarch64-linux-gnu/cmake/xsimd (the headers are
#    the same for every architecture, but the amd64 package's config is under the amd64 library folder,
#    which a cross build does not search).
#  * catch2 stays the amd64 package: catch2:arm64 conflicts with it, and Catch2 2.x is header-only (its
#    CMake config is in the architecture-independent /usr/lib/cmake). Eigen and Random123 are
#    architecture-independent headers too (BUILD_PACKAGES installs them).
#  * binfmt-support is not needed: qemu-user runs the binaries directly, and the toolchain file makes CMake
#    call it (CMAKE_CROSSCOMPILING_EMULATOR).
AARCH64_PACKAGES=(g++-aarch64-linux-gnu qemu-user libtbb-dev:arm64 libbenchmark-dev:arm64 libxsimd-dev:arm64)

# Enables Debian's arm64 architecture for dpkg/apt (idempotent: does nothing when it is already enabled).
enable_arm64_multiarch() {
  dpkg --print-foreign-architectures | grep -qx arm64 && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: the arm64 packages need the arm64 architecture enabled, which needs root:" >&2
    echo "       sudo dpkg --add-architecture arm64 && sudo apt-get update" >&2
    exit 1
  fi
  echo "== enabling the arm64 architecture (dpkg --add-architecture arm64)"
  dpkg --add-architecture arm64
  apt-get update -q
}

# The AVX-512 paths on a host without AVX-512 (scripts/stages/avx512.sh, scripts/emulate/bochs_run.sh): Bochs 2.7
# (CPU model tigerlake) and its BIOSes, busybox and cpio for the guest's initramfs, binutils to assemble the
# boot sector (scripts/emulate/boot.S), python3 for the disk images. The kernel is Debian's
# linux-image-6.1.0-*-amd64, fetched with apt-get download (not installed).
BOCHS_PACKAGES=(bochs bochsbios vgabios busybox-static cpio binutils python3)
