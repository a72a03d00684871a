# Boot sector of bochs_run.sh's boot disk (GNU as; linked to a flat 512-byte image at 0x7c00).
#
# It loads the uncompressed Linux kernel and the run's parameter page and initrd with the BIOS's extended
# disk reads (int 13h, ah=42h) into a low buffer, copies each chunk to its place above 1 MiB in "unreal"
# mode (real mode with 4 GiB data segment limits), writes the BIOS's E820 memory map for the kernel, then
# enters the kernel's 32-bit PVH entry point (ELF note XEN_ELFNOTE_PHYS32_ENTRY) in flat protected mode
# with %ebx = the hvm_start_info structure, as the PVH boot protocol asks.
#
# Load tables: entries of 16 bytes {u32 first sector (LBA), u32 sector count, u32 destination address,
# u32 BIOS drive}, ended by a count of 0. Table 1 (up to 3 entries) sits in this sector at offset 0x1b0 (bochs_helper.py fills it:
# the kernel from the boot disk, then the parameter page of the data disk); table 2 sits in the parameter
# page at PARAMS+0x800 (the initrd). The entry point is the u32 at offset 0x1f8.
#
# On a disk error it writes "BOCHS_RUN_BOOT_FAILED" to COM1 and halts; bochs_run.sh reports that line.

        .set PARAMS,     0x30000          # parameter page: hvm_start_info at +0 (bochs_helper.py writes it)
        .set TABLE2,     PARAMS + 0x800
        .set MEMMAP_SEG, 0x2000           # E820 map written at 0x20000 (hvm_start_info.memmap_paddr)
        .set BUF_SEG,    0x1000           # disk read buffer at 0x10000 (64 sectors = 32 KiB)
        .set CHUNK,      64
        .set DATA_SEL,   0x08
        .set CODE_SEL,   0x10

        .code16
        .text
        .globl _start
_start:
        cli
        xorw    %ax, %ax
        movw    %ax, %ds
        movw    %ax, %es
        movw    %ax, %ss
        movw    $0x7c00, %sp
        ljmp    $0, $start2
start2:
        cld
        inb     $0x92, %al                # A20 on ("fast A20" port)
        orb     $2, %al
        andb    $0xfe, %al
        outb    %al, $0x92

        movl    $table1, %esi
        call    load_table
        movl    $TABLE2, %esi
        call    load_table

        # E820 map: 20-byte entries stored 24 bytes apart (struct hvm_memmap_table_entry; the memory is
        # zero, so the reserved word stays 0)
        movw    $MEMMAP_SEG, %ax
        movw    %ax, %es
        xorw    %di, %di
        xorl    %ebx, %ebx
        xorl    %ebp, %ebp
e820:
        movl    $0xe820, %eax
        movl    $0x534d4150, %edx
        movl    $20, %ecx
        int     $0x15
        jc      e820_done
        cmpl    $0x534d4150, %eax
        jne     e820_done
        addw    $24, %di
        incl    %ebp
        testl   %ebx, %ebx
        jnz     e820
e820_done:
        xorw    %ax, %ax
        movw    %ax, %es
        call    unreal
        movl    $PARAMS + 0x30, %edi      # hvm_start_info.memmap_entries
        movl    %ebp, (%edi)

        # flat 32-bit protected mode, paging off, interrupts off; jump to the PVH entry
        cli
        lgdtl   gdtr
        movl    %cr0, %eax
        orb     $1, %al
        movl    %eax, %cr0
        ljmpl   $CODE_SEL, $pm32
        .code32
pm32:
        movw    $DATA_SEL, %ax
        movw    %ax, %ds
        movw    %ax, %es
        movw    %ax, %fs
        movw    %ax, %gs
        movw    %ax, %ss
        movl    $0x7c00, %esp
        movl    $PARAMS, %ebx
        movl    entry32, %eax
        jmp     *%eax

        .code16
# load_table: %esi = address of a load table (any address below 4 GiB)
load_table:
        call    unreal
next_entry:
        movl    4(%esi), %ecx             # sector count
        testl   %ecx, %ecx
        jz      table_done
        movl    (%esi), %eax              # LBA
        movl    8(%esi), %edi             # destination
        movb    12(%esi), %dl             # drive
chunk:
        movl    $CHUNK, %ebx
        cmpl    %ebx, %ecx
        jae     1f
        movl    %ecx, %ebx
1:
        movw    %bx, dap_count
        movl    %eax, dap_lba
        pushal
        movw    $dap, %si
        movb    $0x42, %ah
        int     $0x13
        jc      fail
        popal
        call    unreal                    # the BIOS may have reloaded the segment registers
        pushl   %esi
        pushl   %ecx
        movl    $BUF_SEG * 16, %esi
        movl    %ebx, %ecx
        shll    $7, %ecx                  # dwords
        addr32 rep movsl                  # %ds:(%esi) -> %es:(%edi); %edi advances
        popl    %ecx
        popl    %esi
        addl    %ebx, %eax
        subl    %ebx, %ecx
        jnz     chunk
        addl    $16, %esi
        jmp     next_entry
table_done:
        ret

# unreal: %ds and %es get base 0 and a 4 GiB limit, back in real mode (registers kept)
unreal:
        cli
        pushal
        lgdtl   gdtr
        movl    %cr0, %eax
        orb     $1, %al
        movl    %eax, %cr0
        jmp     1f
1:
        movw    $DATA_SEL, %bx
        movw    %bx, %ds
        movw    %bx, %es
        andb    $0xfe, %al
        movl    %eax, %cr0
        xorw    %bx, %bx
        movw    %bx, %ds
        movw    %bx, %es
        popal
        ret

fail:
        movw    $msg, %si
2:
        lodsb
        testb   %al, %al
        jz      3f
        movw    $0x3f8, %dx
        outb    %al, %dx
        jmp     2b
3:
        hlt
        jmp     3b

msg:    .asciz  "\r\nBOCHS_RUN_BOOT_FAILED\r\n"

        .balign 4
dap:    .byte   16, 0
dap_count:
        .word   0
        .word   0, BUF_SEG                # buffer offset, segment
dap_lba:
        .long   0, 0

        .balign 8
gdt:    .quad   0
        .quad   0x00cf93000000ffff        # 0x08: flat data, 4 GiB, 32-bit
        .quad   0x00cf9b000000ffff        # 0x10: flat code, 4 GiB, 32-bit
gdtr:   .word   gdtr - gdt - 1
        .long   gdt

        .org    0x1b0
table1: .fill   4 * 16, 1, 0
        .org    0x1f8
entry32:
        .long   0
        .org    0x1fe
        .byte   0x55, 0xaa
