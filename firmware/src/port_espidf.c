/* Port for ESP-IDF (espressif32 boards: ESP32, ESP32-S3, ESP32-C3): output on the console UART (USB
 * serial on the DevKits; `pio device monitor`), time from the CPU cycle counter. Runs every 5 s. */
#if defined(ESP_PLATFORM) && !defined(ARDUINO) && !defined(TINYC_QEMU)
#include <stdio.h>

#include "esp_cpu.h"
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"
#include "sdkconfig.h"
#include "tinyc_app.h"

void app_main(void);

void app_main(void) {
    for (;;) {
        tinyc_app_main();
        vTaskDelay(pdMS_TO_TICKS(5000));
    }
}

void tinyc_port_write(const char *text) {
    fputs(text, stdout);
    fflush(stdout);
}

uint32_t tinyc_port_timer(void) { return (uint32_t)esp_cpu_get_cycle_count(); }

const char *tinyc_port_timer_unit(void) { return "cycles"; }

uint32_t tinyc_port_cpu_hz(void) {
#ifdef CONFIG_ESP_DEFAULT_CPU_FREQ_MHZ
    return (uint32_t)CONFIG_ESP_DEFAULT_CPU_FREQ_MHZ * 1000000u;
#else
    return 0;
#endif
}
#endif
