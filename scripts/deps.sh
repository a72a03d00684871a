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
# /usr/bin/python3's torch, scikit-learn (the digits example) and pytest to run them.
TORCH_PACKAGES=(libtorch-dev python3-torch python3-sklearn python3-pytest)

# The differential fuzzer (fuzz/, the fuzz preset): clang 14 with libFuzzer and the sanitizer runtimes.
FUZZ_PACKAGES=(clang libclang-rt-14-dev)
