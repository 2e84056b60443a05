/* Host runner for a generated model library (model_glue.h maps the MODEL_* names to it).
 *   runner --sizes             prints "<input bytes> <output bytes>" per inference
 *   runner <in.bin> <out.bin>  runs the model on each MODEL_INPUT_SIZE-byte record of in.bin and writes
 *                              the MODEL_OUTPUT_SIZE-byte outputs, in order, to out.bin; each record is an
 *                              independent inference (MODEL_RESET() before it: recurrent state starts afresh)
 *   runner <in.bin> <out.bin> --sequence   the records as consecutive steps of one stream (no reset)
 * Exit status: 0 ok, 1 the model returned non-zero (message on stderr), 2 usage or I/O error.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "model_glue.h"

/* exactly sized, so ASan sees any access past them; aligned for float models */
static int8_t input[MODEL_INPUT_SIZE] __attribute__((aligned(16)));
static int8_t output[MODEL_OUTPUT_SIZE] __attribute__((aligned(16)));

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "--sizes") == 0) {
        printf("%lu %lu\n", (unsigned long)MODEL_INPUT_SIZE, (unsigned long)MODEL_OUTPUT_SIZE);
        return 0;
    }
    const int sequence = argc == 4 && strcmp(argv[3], "--sequence") == 0;
    if (argc != 3 && !sequence) {
        fprintf(stderr, "usage: %s --sizes | <in.bin> <out.bin> [--sequence]\n", argv[0]);
        return 2;
    }
    FILE *in = fopen(argv[1], "rb");
    FILE *out = fopen(argv[2], "wb");
    if (!in || !out) {
        fprintf(stderr, "cannot open %s or %s\n", argv[1], argv[2]);
        return 2;
    }
    for (unsigned long index = 0;; index++) {
        const size_t got = fread(input, 1, sizeof input, in);
        if (got == 0 && feof(in)) break;
        if (got != sizeof input) {
            fprintf(stderr, "%s: truncated record %lu\n", argv[1], index);
            return 2;
        }
        if (!sequence) {
            MODEL_RESET();
        }
        const int rc = MODEL_RUN(input, output);
        if (rc != 0) {
            fprintf(stderr, "model returned %d on input %lu\n", rc, index);
            return 1;
        }
        if (fwrite(output, 1, sizeof output, out) != sizeof output) {
            fprintf(stderr, "cannot write %s\n", argv[2]);
            return 2;
        }
    }
    return fclose(out) == 0 ? 0 : 2;
}
