/* Minimal bare-metal start-up for tinyc.llm runs on QEMU's Cortex-M machines (mps2-an385/386/500):
 * vector table, .data/.bss init, FPU enable, semihosting output (SYS_WRITE0) and exit (SYS_EXIT_EXTENDED).
 * Temporary: to be replaced by the shared harness in tinyc/targets. */
#include <stdint.h>

#include "tinyc_llm_port.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
int main(void);
void Reset_Handler(void);
void Fault_Handler(void);

__attribute__((section(".isr_vector"), used)) void (*const tl_vectors[16])(void) = {
    (void (*)(void))(uintptr_t)&_estack, Reset_Handler, Fault_Handler, Fault_Handler, Fault_Handler,
    Fault_Handler, Fault_Handler, 0, 0, 0, 0, Fault_Handler, Fault_Handler, 0, Fault_Handler, Fault_Handler,
};

static int semihost(int op, const void *arg)
{
    register int r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void tinyc_port_write(const char *text)
{
    semihost(0x04, text);
}

/* Marks for an instruction counter: called around each step by the trace main when TINYC_MARKERS is set. */
__attribute__((noinline)) void tinyc_marker_begin(void) { __asm__ volatile("" ::: "memory"); }
__attribute__((noinline)) void tinyc_marker_end(void) { __asm__ volatile("nop" ::: "memory"); }

static void sh_exit(int code)
{
    uint32_t block[2];
    block[0] = 0x20026u; /* ADP_Stopped_ApplicationExit */
    block[1] = (uint32_t)code;
    semihost(0x20, block);
    for (;;) {
    }
}

void Fault_Handler(void)
{
    tinyc_port_write("\nfault\n");
    sh_exit(99);
}

void Reset_Handler(void)
{
    volatile uint32_t *cpacr = (volatile uint32_t *)0xE000ED88u;
    uint32_t *src = &_sidata, *dst;
    for (dst = &_sdata; dst < &_edata;) {
        *dst++ = *src++;
    }
    for (dst = &_sbss; dst < &_ebss;) {
        *dst++ = 0u;
    }
    *cpacr |= 0xFu << 20; /* CP10, CP11: full access (no-op on cores without an FPU) */
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    sh_exit(main());
}
