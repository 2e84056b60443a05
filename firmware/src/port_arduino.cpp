/* Port for the Arduino framework (raspberrypi/pico, nordicnrf52/nrf52840_dk, ststm32/nucleo_u575zi_q: on
 * STM32duino's Nucleo variants Serial is the ST-LINK virtual COM port): output on Serial at
 * 115200 baud (`pio device monitor`), time from the DWT cycle counter on Cortex-M3/M4/M7/M33, from
 * micros() on Cortex-M0+ (which has no cycle counter). Runs every 5 s. */
#ifdef ARDUINO
#include <Arduino.h>

#include "tinyc_app.h"
#include "tinyc_dwt.h"

void setup() {
    Serial.begin(115200);
    const unsigned long start = millis();
    while (!Serial && millis() - start < 5000) {
    }
#if TINYC_HAVE_DWT
    tinyc_dwt_start();
#endif
}

void loop() {
    tinyc_app_main();
    delay(5000);
}

extern "C" void tinyc_port_write(const char *text) { Serial.print(text); }

#if TINYC_HAVE_DWT
extern "C" uint32_t tinyc_port_timer(void) { return tinyc_dwt_cycles(); }
extern "C" const char *tinyc_port_timer_unit(void) { return "cycles"; }
#else
extern "C" uint32_t tinyc_port_timer(void) { return (uint32_t)micros(); }
extern "C" const char *tinyc_port_timer_unit(void) { return "us"; }
#endif

extern "C" uint32_t tinyc_port_cpu_hz(void) {
#ifdef F_CPU
    return (uint32_t)F_CPU;
#else
    return 0;
#endif
}
#endif
