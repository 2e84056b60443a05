/* RISC-V (rv32, machine mode, qemu virt with -bios none) startup and semihosting trap. */

    /* CSR access: the ISA string stays rv32imc for the compiler's multilib choice */
    .option arch, +zicsr

    /* qemu virt (-bios none) starts at the base of DRAM: .vectors is first in flash */
    .section .vectors, "ax"
    .global _start
_start:
    .option push
    .option norelax
    la gp, __global_pointer$
    .option pop
    la sp, __stack_top
    la t0, tinyc_trap
    csrw mtvec, t0
    call tinyc_start

    /* any trap ends the run with FAULT <mcause> */
    .section .text.tinyc_trap, "ax"
    .balign 4
tinyc_trap:
    csrr a0, mcause
    la sp, __stack_top
    call tinyc_fault

    /* long tinyc_semihost(long op, const void *arg): a0 = op, a1 = arg, result in a0.
       The slli/ebreak/srai sequence must be uncompressed and within one page: 16-byte aligned. */
    .section .text.tinyc_semihost, "ax"
    .global tinyc_semihost
    .balign 16
tinyc_semihost:
    .option push
    .option norvc
    slli zero, zero, 0x1f
    ebreak
    srai zero, zero, 0x7
    .option pop
    ret

    /* uintptr_t tinyc_current_sp(void): a call pushes nothing, so this is the caller's sp */
    .section .text.tinyc_current_sp, "ax"
    .global tinyc_current_sp
tinyc_current_sp:
    mv a0, sp
    ret
