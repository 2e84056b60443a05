/* C part of the startup: .data copy, .bss zeroing, semihosting output and exit.
 * Called from the arch's reset code once the FPU/MVE is enabled and sp is set.
 * Copies use volatile word pointers so GCC emits neither memcpy/memset calls nor vector code.
 */
#include "harness.h"

extern uint32_t __data_load[], __data_start[], __data_end[], __bss_start[], __bss_end[];

void tinyc_start(void) __attribute__((noreturn));

void tinyc_start(void) {
    const volatile uint32_t *src = __data_load;
    for (volatile uint32_t *dst = __data_start; dst < __data_end;) *dst++ = *src++;
    for (volatile uint32_t *dst = __bss_start; dst < __bss_end;) *dst++ = 0;
    tinyc_exit(main());
}

void tinyc_puts(const char *s) { tinyc_semihost(TINYC_SYS_WRITE0, s); }

void tinyc_exit(int code) {
    /* ADP_Stopped_ApplicationExit, then the exit code */
    const uint32_t block[2] = {0x20026u, (uint32_t)code};
    tinyc_semihost(TINYC_SYS_EXIT_EXTENDED, block);
    for (;;) {
    }
}

void tinyc_fault(uint32_t cause) {
    static const char hex[] = "0123456789abcdef";
    char line[] = "FAULT 00000000\n";
    for (int i = 0; i < 8; i++) line[6 + i] = hex[(cause >> (28 - 4 * i)) & 0xFu];
    tinyc_puts(line);
    tinyc_exit(TINYC_EXIT_FAULT);
}
