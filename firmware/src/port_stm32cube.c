/* Port for STM32Cube (ststm32 Nucleo boards): output on the ST-LINK virtual COM port at 115200 baud
 * (`pio device monitor`), time from the DWT cycle counter. The core runs at its reset clock (no PLL
 * setup: cycle counts do not depend on it). Runs every 5 s.
 *
 *   NUCLEO-L4R5ZI   LPUART1 PG7/PG8 AF8 (port G needs VDDIO2)
 *   NUCLEO-F746ZG   USART3 PD8/PD9 AF7 (Nucleo-144, UM1974)
 *   NUCLEO-H743ZI   USART3 PD8/PD9 AF7 (Nucleo-144, UM1974)
 *   NUCLEO-F207ZG   USART3 PD8/PD9 AF7 (Nucleo-144, UM1974)
 *   NUCLEO-F103RB   USART2 PA2/PA3
 * (NUCLEO-U575ZI-Q builds with the Arduino framework: PlatformIO lists no STM32Cube for it.)
 */
#if defined(USE_HAL_DRIVER) && !defined(ARDUINO) && !defined(TINYC_QEMU)
#include <string.h>

#if defined(STM32L4R5xx)
#include "stm32l4xx_hal.h"
#define TINYC_UART LPUART1
#define TINYC_UART_CLK_ENABLE() __HAL_RCC_LPUART1_CLK_ENABLE()
#define TINYC_GPIO GPIOG
#define TINYC_GPIO_CLK_ENABLE() __HAL_RCC_GPIOG_CLK_ENABLE()
#define TINYC_TX_PIN GPIO_PIN_7
#define TINYC_RX_PIN GPIO_PIN_8
#define TINYC_AF GPIO_AF8_LPUART1
#elif defined(STM32F746xx) || defined(STM32H743xx) || defined(STM32F207xx)
#if defined(STM32F746xx)
#include "stm32f7xx_hal.h"
#elif defined(STM32H743xx)
#include "stm32h7xx_hal.h"
#else
#include "stm32f2xx_hal.h"
#endif
#define TINYC_UART USART3
#define TINYC_UART_CLK_ENABLE() __HAL_RCC_USART3_CLK_ENABLE()
#define TINYC_GPIO GPIOD
#define TINYC_GPIO_CLK_ENABLE() __HAL_RCC_GPIOD_CLK_ENABLE()
#define TINYC_TX_PIN GPIO_PIN_8
#define TINYC_RX_PIN GPIO_PIN_9
#define TINYC_AF GPIO_AF7_USART3
#elif defined(STM32F103xB)
#include "stm32f1xx_hal.h"
#define TINYC_UART USART2
#define TINYC_UART_CLK_ENABLE() __HAL_RCC_USART2_CLK_ENABLE()
#define TINYC_GPIO GPIOA
#define TINYC_GPIO_CLK_ENABLE() __HAL_RCC_GPIOA_CLK_ENABLE()
#define TINYC_TX_PIN GPIO_PIN_2
#define TINYC_RX_PIN GPIO_PIN_3
#else
#error "tinyc port_stm32cube.c: no virtual COM port known for this STM32; add it above"
#endif

#include "tinyc_app.h"
#include "tinyc_dwt.h"

static UART_HandleTypeDef uart;

void SysTick_Handler(void);
void SysTick_Handler(void) { HAL_IncTick(); }

static void uart_init(void) {
    GPIO_InitTypeDef gpio;
    memset(&gpio, 0, sizeof gpio);
    TINYC_GPIO_CLK_ENABLE();
    TINYC_UART_CLK_ENABLE();
#if defined(STM32L4R5xx)
    __HAL_RCC_PWR_CLK_ENABLE();
    HAL_PWREx_EnableVddIO2();
#endif
#if defined(STM32F103xB)
    gpio.Pin = TINYC_TX_PIN;
    gpio.Mode = GPIO_MODE_AF_PP;
    gpio.Speed = GPIO_SPEED_FREQ_HIGH;
    HAL_GPIO_Init(TINYC_GPIO, &gpio);
    gpio.Pin = TINYC_RX_PIN;
    gpio.Mode = GPIO_MODE_INPUT;
    gpio.Pull = GPIO_NOPULL;
    HAL_GPIO_Init(TINYC_GPIO, &gpio);
#else
    gpio.Pin = TINYC_TX_PIN | TINYC_RX_PIN;
    gpio.Mode = GPIO_MODE_AF_PP;
    gpio.Pull = GPIO_NOPULL;
    gpio.Speed = GPIO_SPEED_FREQ_LOW;
    gpio.Alternate = TINYC_AF;
    HAL_GPIO_Init(TINYC_GPIO, &gpio);
#endif
    uart.Instance = TINYC_UART;
    uart.Init.BaudRate = 115200;
    uart.Init.WordLength = UART_WORDLENGTH_8B;
    uart.Init.StopBits = UART_STOPBITS_1;
    uart.Init.Parity = UART_PARITY_NONE;
    uart.Init.Mode = UART_MODE_TX_RX;
    uart.Init.HwFlowCtl = UART_HWCONTROL_NONE;
    uart.Init.OverSampling = UART_OVERSAMPLING_16;
    HAL_UART_Init(&uart);
}

int main(void) {
    HAL_Init();
    uart_init();
    tinyc_dwt_start();
    for (;;) {
        tinyc_app_main();
        HAL_Delay(5000);
    }
}

void tinyc_port_write(const char *text) {
    HAL_UART_Transmit(&uart, (uint8_t *)(uintptr_t)text, (uint16_t)strlen(text), HAL_MAX_DELAY);
}

uint32_t tinyc_port_timer(void) { return tinyc_dwt_cycles(); }

const char *tinyc_port_timer_unit(void) { return "cycles"; }

uint32_t tinyc_port_cpu_hz(void) { return SystemCoreClock; }
#endif
