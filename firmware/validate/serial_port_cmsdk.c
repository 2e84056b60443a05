/* serial_port.h on the ARM CMSDK APB UART (QEMU's mps2-an385 / an386 / an500: UART0 at TINYC_UART_BASE). */
#include "serial_port.h"

#ifndef TINYC_UART_BASE
#define TINYC_UART_BASE 0x40004000u
#endif

#define UART_DATA (*(volatile uint32_t *)(TINYC_UART_BASE + 0x00u))
#define UART_STATE (*(volatile uint32_t *)(TINYC_UART_BASE + 0x04u))
#define UART_CTRL (*(volatile uint32_t *)(TINYC_UART_BASE + 0x08u))
#define UART_BAUDDIV (*(volatile uint32_t *)(TINYC_UART_BASE + 0x10u))
#define STATE_TX_FULL 0x1u
#define STATE_RX_FULL 0x2u
#define CTRL_TX_EN 0x1u
#define CTRL_RX_EN 0x2u

void tinyc_serial_init(void) {
    UART_BAUDDIV = 16u; /* the smallest divisor the UART takes; QEMU ignores the rate */
    UART_CTRL = CTRL_TX_EN | CTRL_RX_EN;
}

uint8_t tinyc_serial_getc(void) {
    while ((UART_STATE & STATE_RX_FULL) == 0u) {
    }
    return (uint8_t)UART_DATA;
}

void tinyc_serial_putc(uint8_t c) {
    while ((UART_STATE & STATE_TX_FULL) != 0u) {
    }
    UART_DATA = c;
}
