/* tinyc firmware harness: runs a compiled model on an emulated board (QEMU) and reports over semihosting.
 *
 * The arch-specific pieces (vector table or _start, semihosting trap, reading sp) live in
 * startup_arm.S / startup_riscv.S; everything in C is arch-neutral.
 */
#ifndef TINYC_HARNESS_H
#define TINYC_HARNESS_H

#include <stdint.h>

/* Exit codes seen by the host (SYS_EXIT_EXTENDED). */
#define TINYC_EXIT_OK 0
#define TINYC_EXIT_MODEL_ERROR 1
#define TINYC_EXIT_STACK_OVERFLOW 2
#define TINYC_EXIT_FAULT 3

/* Semihosting operation numbers (ARM and RISC-V share them). */
#define TINYC_SYS_WRITE0 0x04
#define TINYC_SYS_EXIT_EXTENDED 0x20

/* startup_<arch>.S */
long tinyc_semihost(long op, const void *arg);
uintptr_t tinyc_current_sp(void); /* the caller's sp */

/* harness_start.c */
void tinyc_puts(const char *s);
void tinyc_exit(int code) __attribute__((noreturn));
void tinyc_fault(uint32_t cause) __attribute__((noreturn));

/* harness_main.c: the instruction counter counts from the entry of begin to the entry of end. */
void tinyc_marker_begin(void);
void tinyc_marker_end(void);
int main(void);

#endif
