/* The byte port of tinyc's validation firmware: the only board-specific part. serial_port_cmsdk.c implements it
 * for the CMSDK APB UART of QEMU's mps2 machines, serial_port_stm32f2.c for NUCLEO-F207ZG's ST-LINK virtual COM
 * port (USART3); for another board implement these three functions on the UART that reaches the host, 8N1. */
#ifndef TINYC_SERIAL_PORT_H
#define TINYC_SERIAL_PORT_H

#include <stdint.h>

void tinyc_serial_init(void);
uint8_t tinyc_serial_getc(void); /* blocks until a byte arrives */
void tinyc_serial_putc(uint8_t c); /* blocks until the byte is accepted */

#endif
