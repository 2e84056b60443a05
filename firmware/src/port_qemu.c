/* Port for the emulated boards (the project's tinyc-qemu platform, which defines TINYC_QEMU): the
 * platform's harness (startup, .data/.bss setup) calls main and ends the QEMU run with its return value;
 * output goes over semihosting. QEMU has no cycle counter (DWT CYCCNT reads 0), so no timer: the firmware
 * prints `TIME <i> n/a` and the platform's QEMU run (platform/tinyc-qemu/qemu_run.py) fills in the
 * instructions of each inference, counted between the markers: `TIME <i> <n> instructions`. */
#ifdef TINYC_QEMU
#include "harness.h" /* tinyc_puts, from the platform */
#include "tinyc_app.h"

int main(void) { return tinyc_app_main() == 0 ? TINYC_EXIT_OK : TINYC_EXIT_MODEL_ERROR; }

void tinyc_port_write(const char *text) { tinyc_puts(text); }

uint32_t tinyc_port_timer(void) { return 0; }

const char *tinyc_port_timer_unit(void) { return 0; }

uint32_t tinyc_port_cpu_hz(void) { return 0; }
#endif
