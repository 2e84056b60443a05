/* port_harness.c - tinyc.llm's generated main on the shared firmware harness (firmware/harness):
 * text over semihosting, the instruction counter's two markers, and the stack peak (painted stack). */
#include <stdint.h>

#include "harness.h"
#include "tinyc_llm_port.h"

#define STACK_PAINT 0xC5A5E1F0u

extern uint32_t __stack_limit[];
static uintptr_t stack_top;

void tinyc_port_write(const char *text)
{
    tinyc_puts(text);
}

/* noipa: never inlined, cloned or merged; the counter needs two distinct addresses */
__attribute__((noipa, used)) void tinyc_marker_begin(void)
{
    __asm__ volatile("" ::: "memory");
}

__attribute__((noipa, used)) void tinyc_marker_end(void)
{
    __asm__ volatile("" ::: "memory");
}

/* Paint the free stack below the caller's frame. */
void tinyc_port_stack_begin(void)
{
    volatile uint32_t *w;
    stack_top = tinyc_current_sp();
    for (w = __stack_limit; (uintptr_t)w < stack_top; w++) {
        *w = STACK_PAINT;
    }
}

/* Bytes of stack used below tinyc_port_stack_begin's frame since it ran. */
uint32_t tinyc_port_stack_peak(void)
{
    const volatile uint32_t *w = __stack_limit;
    while ((uintptr_t)w < stack_top && *w == STACK_PAINT) {
        w++;
    }
    return (uint32_t)(stack_top - (uintptr_t)w);
}
