/* The Cortex-M DWT cycle counter (ARMv7-M and ARMv8-M Mainline: M3, M4, M7, M33, M55), by address, so
 * no CMSIS header is needed. ARMv6-M (M0, M0+) has none: TINYC_HAVE_DWT is 0 there. */
#ifndef TINYC_DWT_H
#define TINYC_DWT_H

#include <stdint.h>

#if defined(__ARM_ARCH_7M__) || defined(__ARM_ARCH_7EM__) || defined(__ARM_ARCH_8M_MAIN__) || \
    defined(__ARM_ARCH_8_1M_MAIN__)
#define TINYC_HAVE_DWT 1
#define TINYC_DEMCR (*(volatile uint32_t *)0xE000EDFCu)
#define TINYC_DWT_CTRL (*(volatile uint32_t *)0xE0001000u)
#define TINYC_DWT_CYCCNT (*(volatile uint32_t *)0xE0001004u)
#define TINYC_DWT_LAR (*(volatile uint32_t *)0xE0001FB0u)

static inline void tinyc_dwt_start(void) {
    TINYC_DEMCR |= 1u << 24; /* TRCENA */
    TINYC_DWT_LAR = 0xC5ACCE55u; /* unlock (Cortex-M7) */
    TINYC_DWT_CYCCNT = 0;
    TINYC_DWT_CTRL |= 1u; /* CYCCNTENA */
}

static inline uint32_t tinyc_dwt_cycles(void) { return TINYC_DWT_CYCCNT; }
#else
#define TINYC_HAVE_DWT 0
#endif

#endif /* TINYC_DWT_H */
