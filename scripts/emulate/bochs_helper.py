#!/usr/bin/env python3
"""Helpers of bochs_run.sh (Debian's python3, standard library only).

  bochs_helper.py kernel VMLINUZ BOOT_BIN OUTDIR
      Extract the uncompressed kernel (ELF vmlinux) from a bzImage, lay its loadable segments out as one flat
      image and write OUTDIR/boot.img (boot sector BOOT_BIN, assembled from boot.S, then the kernel) and
      OUTDIR/boot.json (the PVH entry point and the kernel's physical extent).
  bochs_helper.py datadisk BOOT_JSON INITRD CMDLINE OUT
      Write the run's data disk: a 4 KiB parameter page (hvm_start_info, the initrd module, the command line,
      the boot sector's second load table), then the initrd.
  bochs_helper.py run RUNDIR TIMEOUT BOOT_TIMEOUT BOCHS_CMD...
      Start Bochs in RUNDIR, print the guest program's output (COM1, RUNDIR/serial.log) as it comes, and
      exit with the program's status; 125 with one line "bochs_run: error: ..." when the guest does not
      boot, panics, stops without the exit marker, or runs past TIMEOUT seconds.

Disk layout and addresses are shared with boot.S (PARAMS, TABLE2, the E820 map at 0x20000, table 1 at 0x1b0,
the entry point at 0x1f8).
"""
import json
import lzma
import os
import signal
import struct
import subprocess
import sys
import time
from collections import deque

SECTOR = 512
PARAMS = 0x30000              # hvm_start_info (boot.S: PARAMS)
MEMMAP = 0x20000              # E820 map written by the boot sector
MODLIST_OFF, CMDLINE_OFF, TABLE2_OFF, PARAMS_SIZE = 0x100, 0x200, 0x800, 0x1000
TABLE1_OFF, ENTRY_OFF = 0x1b0, 0x1f8
HVM_START_MAGIC = 0x336EC578
XEN_ELFNOTE_PHYS32_ENTRY = 18
CYL = 16 * 63 * SECTOR        # disk geometry 16 heads x 63 sectors: images are padded to whole cylinders

START_MARK = "@@BOCHS_RUN_START@@"
EXIT_MARK = "@@BOCHS_RUN_EXIT "
ERR = 125


def die(msg):
    print(f"bochs_run: error: {msg}", file=sys.stderr, flush=True)
    sys.exit(ERR)


def pad(data, unit):
    return data + bytes(-len(data) % unit)


def extract_vmlinux(path):
    """The ELF kernel inside a bzImage: the setup header's payload_offset/payload_length (boot protocol
    2.08+) give the compressed vmlinux; Debian's 6.1 kernels use xz (gzip and zstd are not handled)."""
    data = open(path, "rb").read()
    if data[:4] == b"\x7fELF":
        return data
    if data[0x202:0x206] != b"HdrS" or struct.unpack_from("<H", data, 0x206)[0] < 0x208:
        die(f"{path}: not a bzImage with boot protocol 2.08 or newer")
    setup = (data[0x1f1] or 4) * SECTOR + SECTOR
    off, length = struct.unpack_from("<II", data, 0x248)
    payload = data[setup + off: setup + off + length]
    if payload[:6] != b"\xfd7zXZ\x00":
        die(f"{path}: the kernel payload is not xz-compressed (magic {payload[:6].hex()})")
    out = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(payload)
    if out[:4] != b"\x7fELF":
        die(f"{path}: the decompressed payload is not an ELF kernel")
    return out


def elf_layout(elf):
    """(flat image of the PT_LOAD segments at their physical addresses, first address, end address incl.
    memsz, PVH 32-bit entry point)."""
    if elf[4] != 2:
        die("the kernel is not a 64-bit ELF")
    phoff, = struct.unpack_from("<Q", elf, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
    loads, entry = [], None
    for i in range(phnum):
        p_type, _flags, off, _vaddr, paddr, filesz, memsz, _align = struct.unpack_from(
            "<IIQQQQQQ", elf, phoff + i * phentsize)
        if p_type == 1 and memsz:
            loads.append((paddr, off, filesz, memsz))
        elif p_type == 4:
            pos, end = off, off + filesz
            while pos + 12 <= end:
                namesz, descsz, ntype = struct.unpack_from("<III", elf, pos)
                name = elf[pos + 12: pos + 12 + namesz].rstrip(b"\0")
                desc = pos + 12 + ((namesz + 3) & ~3)
                if name == b"Xen" and ntype == XEN_ELFNOTE_PHYS32_ENTRY:
                    entry = struct.unpack_from("<I", elf, desc)[0]
                pos = desc + ((descsz + 3) & ~3)
    if entry is None:
        die("the kernel has no PVH entry point (ELF note XEN_ELFNOTE_PHYS32_ENTRY; CONFIG_PVH is off?)")
    start = min(p[0] for p in loads)
    end = max(p[0] + p[3] for p in loads)
    image = bytearray(max(p[0] + p[2] for p in loads) - start)
    for paddr, off, filesz, _memsz in loads:
        image[paddr - start: paddr - start + filesz] = elf[off: off + filesz]
    return bytes(image), start, end, entry


def cmd_kernel(vmlinuz, boot_bin, outdir):
    image, start, end, entry = elf_layout(extract_vmlinux(vmlinuz))
    boot = bytearray(open(boot_bin, "rb").read())
    if len(boot) != SECTOR or boot[510:] != b"\x55\xaa":
        die(f"{boot_bin}: not a 512-byte boot sector")
    nsect = (len(image) + SECTOR - 1) // SECTOR
    # table 1: the kernel from the boot disk (BIOS drive 0x80), the parameter page from the data disk (0x81)
    struct.pack_into("<IIII", boot, TABLE1_OFF, 1, nsect, start, 0x80)
    struct.pack_into("<IIII", boot, TABLE1_OFF + 16, 0, PARAMS_SIZE // SECTOR, PARAMS, 0x81)
    struct.pack_into("<IIII", boot, TABLE1_OFF + 32, 0, 0, 0, 0)
    struct.pack_into("<I", boot, ENTRY_OFF, entry)
    os.makedirs(outdir, exist_ok=True)
    tmp = os.path.join(outdir, "boot.img.tmp")
    with open(tmp, "wb") as f:
        f.write(pad(bytes(boot) + image, CYL))
    os.replace(tmp, os.path.join(outdir, "boot.img"))
    with open(os.path.join(outdir, "boot.json"), "w") as f:
        json.dump({"entry": entry, "start": start, "end": end, "image_bytes": len(image)}, f)
    print(f"kernel: {len(image) >> 20} MiB at {start:#x}..{end:#x}, PVH entry {entry:#x}")


def cmd_datadisk(boot_json, initrd, cmdline, out):
    info = json.load(open(boot_json))
    rd = open(initrd, "rb").read()
    rd_addr = (info["end"] + 0xfffff) & ~0xfffff
    cmd = cmdline.encode() + b"\0"
    if len(cmd) > TABLE2_OFF - CMDLINE_OFF:
        die("kernel command line too long")
    page = bytearray(PARAMS_SIZE)
    # struct hvm_start_info (version 1: with the memory map, which the boot sector fills from E820)
    struct.pack_into("<IIIIQQQQII", page, 0, HVM_START_MAGIC, 1, 0, 1, PARAMS + MODLIST_OFF,
                     PARAMS + CMDLINE_OFF, 0, MEMMAP, 0, 0)
    struct.pack_into("<QQQQ", page, MODLIST_OFF, rd_addr, len(rd), 0, 0)   # struct hvm_modlist_entry
    page[CMDLINE_OFF: CMDLINE_OFF + len(cmd)] = cmd
    # table 2: the initrd (data disk from sector 8)
    struct.pack_into("<IIII", page, TABLE2_OFF, PARAMS_SIZE // SECTOR, (len(rd) + SECTOR - 1) // SECTOR,
                     rd_addr, 0x81)
    with open(out, "wb") as f:
        f.write(pad(bytes(page) + rd, CYL))


def cmd_run(rundir, timeout, boot_timeout, bochs_cmd):
    timeout, boot_timeout = float(timeout), float(boot_timeout)
    verbose = os.environ.get("BOCHS_RUN_VERBOSE") == "1"
    serial = os.path.join(rundir, "serial.log")
    open(serial, "wb").close()
    t0 = time.monotonic()
    with open(os.path.join(rundir, "bochs.out"), "wb") as bout:
        proc = subprocess.Popen(bochs_cmd, cwd=rundir, stdin=subprocess.DEVNULL, stdout=bout,
                                stderr=subprocess.STDOUT, start_new_session=True)

    def stop():
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(5)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait()

    def fail(msg, show_console):
        stop()
        if show_console and boot_lines:
            print("bochs_run: last lines of the guest console:", file=sys.stderr)
            for line in boot_lines:
                print("  | " + line, file=sys.stderr)
        print(f"bochs_run: error: {msg} (logs: {rundir}/serial.log, {rundir}/bochs.out)", file=sys.stderr,
              flush=True)
        sys.exit(ERR)

    signal.signal(signal.SIGTERM, lambda *_: fail("terminated", False))
    signal.signal(signal.SIGINT, lambda *_: fail("interrupted", False))
    boot_lines = deque(maxlen=40)
    state, t_start, t_end, status = "boot", None, None, None
    pending = b""
    with open(serial, "rb") as f:
        while True:
            exited = proc.poll() is not None
            chunk = f.read()
            pending += chunk
            lines = pending.split(b"\n")
            pending = lines.pop()
            if exited and pending:                 # the last, unterminated line
                lines.append(pending)
                pending = b""
            for raw in lines:
                line = raw.decode("utf-8", "replace").rstrip("\r")
                if state == "boot":
                    if START_MARK in line:
                        state, t_start = "run", time.monotonic()
                        continue
                    boot_lines.append(line)
                    if verbose:
                        print(f"[{time.monotonic() - t0:6.1f} s] {line}", file=sys.stderr, flush=True)
                    if "BOCHS_RUN_BOOT_FAILED" in line:
                        fail("the boot sector could not read the disks", True)
                    if "Kernel panic" in line:
                        fail("the guest kernel panicked while booting", True)
                elif state == "run":
                    if EXIT_MARK in line:
                        before, _, rest = line.partition(EXIT_MARK)
                        if before:
                            sys.stdout.write(before + "\n")
                        status = int(rest.split("@@")[0])
                        state, t_end = "done", time.monotonic()
                        continue
                    sys.stdout.write(line + "\n")
                    if "Kernel panic - not syncing" in line:
                        sys.stdout.flush()
                        fail("the guest kernel panicked while the program ran", False)
            sys.stdout.flush()
            now = time.monotonic()
            if state == "done":
                try:
                    proc.wait(max(0.1, 20 - (now - t_end)))
                except subprocess.TimeoutExpired:
                    if now - t_end > 20:
                        stop()       # the guest did not power off; the program's status is known
                if proc.poll() is not None:
                    break
                continue
            if exited:
                if state == "boot":
                    fail(f"Bochs exited (status {proc.returncode}) before the guest ran the program", True)
                fail(f"Bochs exited (status {proc.returncode}) while the program ran, without its exit marker",
                     False)
            if state == "boot" and now - t0 > boot_timeout:
                fail(f"the guest did not reach /init within {boot_timeout:.0f} s", True)
            if now - t0 > timeout:
                fail(f"timeout: the run took more than {timeout:.0f} s (host time, boot included)", state == "boot")
            if not chunk:
                time.sleep(0.2)
    print(f"bochs_run: boot {t_start - t0:.1f} s, program {t_end - t_start:.1f} s (host seconds), "
          f"exit status {status}", file=sys.stderr, flush=True)
    sys.exit(status)


def main(argv):
    if len(argv) >= 5 and argv[1] == "kernel":
        cmd_kernel(*argv[2:5])
    elif len(argv) == 6 and argv[1] == "datadisk":
        cmd_datadisk(*argv[2:6])
    elif len(argv) >= 6 and argv[1] == "run":
        cmd_run(argv[2], argv[3], argv[4], argv[5:])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv)
