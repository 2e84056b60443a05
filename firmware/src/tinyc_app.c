/* Framework-neutral part of the tinyc firmware: see tinyc_app.h. No printf, no heap. */
#include "tinyc_app.h"

#include "model_glue.h" /* MODEL_RUN, MODEL_INPUT_SIZE, MODEL_OUTPUT_SIZE (generated for the model in lib/) */
#include "tinyc_inputs.h" /* TINYC_NUM_INPUTS records of TINYC_INPUT_STRIDE bytes */

#define CHUNK_BYTES 32 /* output bytes per write */

static uint8_t output[MODEL_OUTPUT_SIZE] __attribute__((aligned(8)));
static char line[2 * CHUNK_BYTES + 48];

/* never inlined, cloned or merged: the instruction counter needs two distinct addresses */
#if defined(__GNUC__) && !defined(__clang__)
#define TINYC_MARKER __attribute__((noipa, used))
#else
#define TINYC_MARKER __attribute__((noinline, used))
#endif
TINYC_MARKER void tinyc_marker_begin(void) { __asm__ volatile("" ::: "memory"); }
TINYC_MARKER void tinyc_marker_end(void) { __asm__ volatile("" ::: "memory"); }

static char *put_str(char *p, const char *s) {
    while (*s) *p++ = *s++;
    return p;
}

static char *put_dec(char *p, uint32_t v) {
    char digits[10];
    int n = 0;
    do {
        digits[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0u);
    while (n > 0) *p++ = digits[--n];
    return p;
}

static void finish(char *p) {
    *p++ = '\n';
    *p = '\0';
    tinyc_port_write(line);
}

static void print_output(uint32_t index) {
    static const char hex[] = "0123456789abcdef";
    char *p = put_dec(put_str(line, "OUT "), index);
    *p++ = ' ';
    for (uint32_t i = 0; i < (uint32_t)MODEL_OUTPUT_SIZE; i++) {
        *p++ = hex[output[i] >> 4];
        *p++ = hex[output[i] & 0xFu];
        if (p - line >= 2 * CHUNK_BYTES) {
            *p = '\0';
            tinyc_port_write(line);
            p = line;
        }
    }
    finish(p);
}

static void print_time(uint32_t index, uint32_t ticks, const char *unit) {
    char *p = put_dec(put_str(line, "TIME "), index);
    if (unit == 0) {
        finish(put_str(p, " n/a"));
        return;
    }
    *p++ = ' ';
    p = put_str(put_dec(p, ticks), " ");
    finish(put_str(p, unit));
}

int tinyc_app_run(void) {
    const char *unit = tinyc_port_timer_unit();
    const uint32_t hz = tinyc_port_cpu_hz();
    char *p = put_dec(put_str(line, "tinyc: "), (uint32_t)TINYC_NUM_INPUTS);
    p = put_dec(put_str(p, " input(s) of "), (uint32_t)MODEL_INPUT_SIZE);
    p = put_dec(put_str(p, " bytes, "), (uint32_t)MODEL_OUTPUT_SIZE);
    p = put_str(p, " output bytes, timer: ");
    p = put_str(p, unit != 0 ? unit : "none");
    if (hz != 0u) p = put_str(put_dec(put_str(p, ", core clock "), hz), " Hz");
    finish(p);

    for (uint32_t i = 0; i < (uint32_t)TINYC_NUM_INPUTS; i++) {
        MODEL_RESET(); /* each input is an independent inference: recurrent state starts afresh (not timed) */
        const uint32_t start = tinyc_port_timer();
        tinyc_marker_begin();
        const int rc = MODEL_RUN(tinyc_inputs[i], output);
        tinyc_marker_end();
        const uint32_t ticks = tinyc_port_timer() - start;
        if (rc != 0) {
            p = put_dec(put_str(line, "ERR "), i);
            p = put_str(p, rc < 0 ? " -" : " ");
            finish(put_dec(p, rc < 0 ? 0u - (uint32_t)rc : (uint32_t)rc));
            return rc;
        }
        print_output(i);
        print_time(i, ticks, unit);
    }
    finish(put_dec(put_str(line, "DONE "), (uint32_t)TINYC_NUM_INPUTS));
    return 0;
}

#ifndef PIO_UNIT_TESTING
int tinyc_app_main(void) { return tinyc_app_run(); }
#endif
