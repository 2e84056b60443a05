/* tinyc's validation firmware: runs the model on the inputs the host streams over a serial port and sends the
 * outputs back, in the framed protocol of tinyc/serial_protocol.py (keep the two in step):
 *
 *   0xA5 0x5A | type | length (u32 LE) | payload | CRC-32 (IEEE, u32 LE) of type, length and payload
 *
 *   HELLO (0x01, 4-byte nonce) -> 0x81: "TNYC", version, inputs, outputs, 0, input bytes, output bytes, model id,
 *                                 the nonce
 *   RUN (0x02, input record)   -> 0x82: the output record
 *   anything else / corrupt    -> 0x7F: error code, text
 *
 * Needs model_glue.h (tinyc.targets.library: MODEL_RUN, MODEL_RESET, record sizes), serial_model_id.h
 * (TINYC_SERIAL_MODEL_ID, TINYC_SERIAL_NUM_INPUTS / _OUTPUTS, written by tinyc.validate.firmware) and a
 * serial_port.h implementation. No heap; each RUN is an independent inference (recurrent state reset).
 */
#include <stdint.h>

#include "model_glue.h"
#include "serial_model_id.h"
#include "serial_port.h"

#define SYNC0 0xA5u
#define SYNC1 0x5Au
#define T_HELLO 0x01u
#define T_RUN 0x02u
#define T_HELLO_OK 0x81u
#define T_OUTPUT 0x82u
#define T_ERROR 0x7Fu
#define E_CHECKSUM 1u
#define E_LENGTH 2u
#define E_TYPE 3u
#define E_MODEL 4u
#define PROTOCOL_VERSION 1u

#define NONCE_SIZE 4u
#define RECORD_BYTES (MODEL_INPUT_SIZE > NONCE_SIZE ? MODEL_INPUT_SIZE : NONCE_SIZE)

static uint8_t in_record[RECORD_BYTES] __attribute__((aligned(8))); /* a RUN's input record or a HELLO's nonce */
static uint8_t out_record[MODEL_OUTPUT_SIZE] __attribute__((aligned(8)));
static const uint8_t model_id[8] = TINYC_SERIAL_MODEL_ID;

static uint32_t crc_byte(uint32_t crc, uint8_t b) {
    int k;
    crc ^= b;
    for (k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    return crc;
}

static uint32_t tx_crc;

static void put(uint8_t b) {
    tx_crc = crc_byte(tx_crc, b);
    tinyc_serial_putc(b);
}

static void put_u32(uint32_t v) {
    int k;
    for (k = 0; k < 4; k++) put((uint8_t)(v >> (8 * k)));
}

static void frame_begin(uint8_t type, uint32_t length) {
    tinyc_serial_putc(SYNC0);
    tinyc_serial_putc(SYNC1);
    tx_crc = 0xFFFFFFFFu;
    put(type);
    put_u32(length);
}

static void frame_end(void) {
    const uint32_t crc = ~tx_crc;
    int k;
    for (k = 0; k < 4; k++) tinyc_serial_putc((uint8_t)(crc >> (8 * k)));
}

static void send_error(uint8_t code, const char *text) {
    uint32_t n = 0;
    while (text[n] != '\0') n++;
    frame_begin(T_ERROR, 1u + n);
    put(code);
    for (uint32_t i = 0; i < n; i++) put((uint8_t)text[i]);
    frame_end();
}

static void send_hello(void) {
    static const char magic[4] = {'T', 'N', 'Y', 'C'};
    frame_begin(T_HELLO_OK, 24u + NONCE_SIZE);
    for (int i = 0; i < 4; i++) put((uint8_t)magic[i]);
    put(PROTOCOL_VERSION);
    put(TINYC_SERIAL_NUM_INPUTS);
    put(TINYC_SERIAL_NUM_OUTPUTS);
    put(0u);
    put_u32(MODEL_INPUT_SIZE);
    put_u32(MODEL_OUTPUT_SIZE);
    for (int i = 0; i < 8; i++) put(model_id[i]);
    for (uint32_t i = 0; i < NONCE_SIZE; i++) put(in_record[i]);
    frame_end();
}

static uint32_t rx_crc;

static uint8_t get(void) {
    const uint8_t b = tinyc_serial_getc();
    rx_crc = crc_byte(rx_crc, b);
    return b;
}

int main(void) {
    tinyc_serial_init();
    for (;;) {
        uint8_t prev = 0u, c = 0u;
        uint32_t length = 0u, crc = 0u;
        uint8_t type;
        int k;
        while (!(prev == SYNC0 && c == SYNC1)) { /* skip to the next frame start */
            prev = c;
            c = tinyc_serial_getc();
        }
        rx_crc = 0xFFFFFFFFu;
        type = get();
        for (k = 0; k < 4; k++) length |= (uint32_t)get() << (8 * k);
        if (type != T_HELLO && type != T_RUN) {
            send_error(E_TYPE, "unknown frame type");
            continue;
        }
        if (length != (type == T_RUN ? (uint32_t)MODEL_INPUT_SIZE : NONCE_SIZE)) {
            send_error(E_LENGTH, type == T_RUN ? "RUN payload is not one input record" : "HELLO takes a 4-byte nonce");
            continue;
        }
        for (uint32_t i = 0; i < length; i++) in_record[i] = get();
        for (k = 0; k < 4; k++) crc |= (uint32_t)tinyc_serial_getc() << (8 * k);
        if (crc != ~rx_crc) {
            send_error(E_CHECKSUM, "checksum mismatch");
            continue;
        }
        if (type == T_HELLO) {
            send_hello();
            continue;
        }
        MODEL_RESET();
        if (MODEL_RUN(in_record, out_record) != 0) {
            send_error(E_MODEL, "model run failed");
            continue;
        }
        frame_begin(T_OUTPUT, MODEL_OUTPUT_SIZE);
        for (uint32_t i = 0; i < MODEL_OUTPUT_SIZE; i++) put(out_record[i]);
        frame_end();
    }
}
