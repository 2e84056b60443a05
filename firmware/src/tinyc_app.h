/* tinyc firmware: runs the compiled model on the inputs of tinyc_inputs.h and prints, one line each,
 *   OUT <index> <output bytes in hex>     (all outputs of one inference back to back)
 *   TIME <index> <n> cycles|us            (or "TIME <index> n/a" where the port has no timer)
 * then "DONE <count>" (or "ERR <index> <rc>" if the model returned non-zero).
 *
 * tinyc_app.c is framework-neutral; one port_*.c per framework provides its entry point (main,
 * app_main, setup/loop) and the functions below. Exactly one port compiles in a given build.
 */
#ifndef TINYC_APP_H
#define TINYC_APP_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Under the QEMU platform the inputs sit outside the board's flash (the linker script's TESTDATA). */
#ifdef TINYC_QEMU
#define TINYC_INPUTS_ATTR __attribute__((aligned(8), section(".tinyc_inputs")))
#else
#define TINYC_INPUTS_ATTR __attribute__((aligned(8)))
#endif

/* Runs every input once and prints the results; returns 0 or the model's first non-zero return. */
int tinyc_app_run(void);

/* What every port calls: tinyc_app_run(), or in a `pio test` build (PIO_UNIT_TESTING) the Unity test of
 * test/test_model/test_main.c, which defines it (the bundled inputs give the expected output bytes). */
int tinyc_app_main(void);

/* The instruction counter (`tinyc run --target BOARD`, the tinyc-qemu platform's runs) counts between the
 * entries of these two. */
void tinyc_marker_begin(void);
void tinyc_marker_end(void);

/* --- provided by the port --- */
void tinyc_port_write(const char *text);
uint32_t tinyc_port_timer(void);         /* a free-running counter read before and after each inference */
const char *tinyc_port_timer_unit(void); /* "cycles" or "us"; NULL when there is no timer */
uint32_t tinyc_port_cpu_hz(void);        /* the core clock, 0 if unknown */

#ifdef __cplusplus
}
#endif

#endif /* TINYC_APP_H */
