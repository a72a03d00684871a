# Cross build for 64-bit ARM Linux on a Debian x86-64 host, with Debian's cross compiler and the arm64 builds
# of the libraries through multiarch (scripts/deps.sh: enable_arm64_multiarch, AARCH64_PACKAGES). Programs run
# under qemu-user. Used by the `aarch64` preset, and usable by a project that finds an aarch64 simdrop with
# find_package(simdrop): pass it as -DCMAKE_TOOLCHAIN_FILE=.../aarch64-linux-gnu.cmake.
#
# Where things are found: there is no separate sysroot. The arm64 libraries and their CMake configs are in
# /usr/lib/aarch64-linux-gnu (CMAKE_LIBRARY_ARCHITECTURE makes find_package/find_library search
# /usr/lib/aarch64-linux-gnu/cmake/<name> and /usr/lib/aarch64-linux-gnu, never the amd64 folder);
# architecture-independent packages (Catch2 2.x, header-only, whose config is in /usr/lib/cmake; Eigen in
# /usr/share/eigen3; Random123's headers) are found where the host's packages put them. The find root path is
# not restricted, so CMAKE_PREFIX_PATH (e.g. a scratch install of simdrop) works as on a native build.
#
# Running: CMake and CTest run the test programs (and catch_discover_tests's listing) through
# CMAKE_CROSSCOMPILING_EMULATOR, qemu-aarch64 WITHOUT -L: with `-L /usr/aarch64-linux-gnu` the cross
# toolchain's loader and libc (2.36-8cross1) are mixed with the multiarch libraries (libc6:arm64, 2.36-9), and
# every program that creates a thread (oneTBB) hangs in pthread_create. Without -L, qemu uses the program's
# own interpreter, /lib/ld-linux-aarch64.so.1 from libc6:arm64, which finds the multiarch libraries.
# QEMU_CPU (e.g. cortex-a72, or max) selects the emulated CPU, as qemu-user reads it from the environment.

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

# The linker resolves the arm64 libraries' own dependencies (libtbb.so.12's, libbenchmark's) in the multiarch
# folder too.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-Wl,-rpath-link,/usr/lib/aarch64-linux-gnu")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-Wl,-rpath-link,/usr/lib/aarch64-linux-gnu")

find_program(SIMDROP_QEMU_AARCH64 qemu-aarch64)
if(SIMDROP_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR "${SIMDROP_QEMU_AARCH64}")
else()
  message(WARNING "qemu-aarch64 not found (Debian: qemu-user): the aarch64 programs build but CTest cannot run them")
endif()
