/* The inputs the firmware runs: TINYC_NUM_INPUTS records of MODEL_INPUT_SIZE bytes (all inputs of one
 * inference back to back, as the model takes them), each padded to TINYC_INPUT_STRIDE bytes.
 * This default is one record of zero bytes; `tinyc firmware MODEL --inputs IN.npy` writes real ones.
 * Included once, by tinyc_app.c.
 */
#ifndef TINYC_INPUTS_H
#define TINYC_INPUTS_H

#include <stdint.h>

#include "model_glue.h"
#include "tinyc_app.h"

#define TINYC_NUM_INPUTS 1
#define TINYC_INPUT_STRIDE ((MODEL_INPUT_SIZE + 7) / 8 * 8)

static const uint8_t tinyc_inputs[TINYC_NUM_INPUTS][TINYC_INPUT_STRIDE] TINYC_INPUTS_ATTR = {{0}};

#endif /* TINYC_INPUTS_H */
