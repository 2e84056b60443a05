/* Cortex-M startup: vector table, reset handler, semihosting trap. ARMv6-M instructions only (runs on M0+). */
    .syntax unified
    .thumb

    .section .vectors, "a"
    .align 2
    .global tinyc_vectors
tinyc_vectors:
    .word __stack_top
    .word Reset_Handler
    .rept 14                    /* NMI .. SysTick: any exception ends the run with FAULT <vector> */
    .word Fault_Handler
    .endr

    .section .text.Reset_Handler, "ax"
    .thumb_func
    .global Reset_Handler
Reset_Handler:
#if defined(__ARM_FP) || defined(__ARM_FEATURE_MVE)
    /* CPACR: full access to CP10/CP11 (FPU, and MVE on v8.1-M) before any float or vector instruction */
    ldr r0, =0xE000ED88
    ldr r1, [r0]
    ldr r2, =(0xF << 20)
    orrs r1, r1, r2
    str r1, [r0]
    dsb
    isb
#endif
    bl tinyc_start

    .section .text.Fault_Handler, "ax"
    .thumb_func
    .global Fault_Handler
Fault_Handler:
    mrs r0, ipsr                /* the active exception number */
    bl tinyc_fault

    /* long tinyc_semihost(long op, const void *arg): r0 = op, r1 = arg, result in r0 */
    .section .text.tinyc_semihost, "ax"
    .thumb_func
    .global tinyc_semihost
tinyc_semihost:
    bkpt 0xab
    bx lr

    /* uintptr_t tinyc_current_sp(void): a call pushes nothing, so this is the caller's sp */
    .section .text.tinyc_current_sp, "ax"
    .thumb_func
    .global tinyc_current_sp
tinyc_current_sp:
    mov r0, sp
    bx lr
