/* serial_port.h on an STM32F2/F4 USART, register level (no HAL): NUCLEO-F207ZG's ST-LINK virtual COM port,
 * USART3 on PD8 (TX) / PD9 (RX), alternate function 7 (UM1974), 115200 8N1 from the reset clock (HSI 16 MHz,
 * APB1 undivided). QEMU's netduino2 (STM32F205, the same USART) runs it in tests/test_serial_protocol.py. */
#include "serial_port.h"

#define REG(addr) (*(volatile uint32_t *)(addr))
#define RCC_AHB1ENR REG(0x40023830u)
#define RCC_APB1ENR REG(0x40023840u)
#define GPIOD_MODER REG(0x40020C00u)
#define GPIOD_AFRH REG(0x40020C24u)
#define USART3_SR REG(0x40004800u)
#define USART3_DR REG(0x40004804u)
#define USART3_BRR REG(0x40004808u)
#define USART3_CR1 REG(0x4000480Cu)
#define SR_RXNE (1u << 5)
#define SR_TXE (1u << 7)
#define CR1_UE (1u << 13)
#define CR1_TE (1u << 3)
#define CR1_RE (1u << 2)

void tinyc_serial_init(void) {
    RCC_AHB1ENR |= 1u << 3;  /* GPIOD */
    RCC_APB1ENR |= 1u << 18; /* USART3 */
    GPIOD_MODER = (GPIOD_MODER & ~(0xFu << 16)) | (0xAu << 16);  /* PD8, PD9: alternate function */
    GPIOD_AFRH = (GPIOD_AFRH & ~0xFFu) | 0x77u;                   /* AF7 = USART3 */
    USART3_BRR = (8u << 4) | 11u; /* 16 MHz / (16 * 8.6875) = 115,108 baud */
    USART3_CR1 = CR1_UE | CR1_TE | CR1_RE;
}

uint8_t tinyc_serial_getc(void) {
    while ((USART3_SR & SR_RXNE) == 0u) {
    }
    return (uint8_t)USART3_DR;
}

void tinyc_serial_putc(uint8_t c) {
    while ((USART3_SR & SR_TXE) == 0u) {
    }
    USART3_DR = c;
}
