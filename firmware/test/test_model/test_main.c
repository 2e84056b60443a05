/* `pio test`: the model in lib/ on the inputs bundled in src/tinyc_inputs.h gives, byte for byte, the
 * output records of tinyc's reference runtime in tinyc_expected.h (both written by `tinyc firmware`).
 * The same Unity test on a real board (PlatformIO's Unity) and on a -qemu environment (the platform's
 * Unity subset, harness/unity.h); the project builds src/ too (test_build_src), whose port calls
 * tinyc_app_main(). */
#include <unity.h>

#include "model_glue.h"
#include "tinyc_app.h"
#include "tinyc_expected.h"
#include "tinyc_inputs.h"

static uint8_t output[MODEL_OUTPUT_SIZE] __attribute__((aligned(8)));

void setUp(void) {}

void tearDown(void) {}

static void test_bundled_inputs_give_expected_outputs(void) {
    TEST_ASSERT_EQUAL_INT_MESSAGE(TINYC_NUM_INPUTS, TINYC_NUM_EXPECTED, "records in tinyc_expected.h");
    for (uint32_t i = 0; i < (uint32_t)TINYC_NUM_INPUTS; i++) {
        MODEL_RESET(); /* each input is an independent inference, as in tinyc_app_run */
        tinyc_marker_begin();
        const int rc = MODEL_RUN(tinyc_inputs[i], output);
        tinyc_marker_end();
        TEST_ASSERT_EQUAL_INT_MESSAGE(0, rc, "the model's return value");
        TEST_ASSERT_EQUAL_HEX8_ARRAY_MESSAGE(tinyc_expected[i], output, MODEL_OUTPUT_SIZE, "an output record");
    }
}

int tinyc_app_main(void) {
    UNITY_BEGIN();
    RUN_TEST(test_bundled_inputs_give_expected_outputs);
    return UNITY_END();
}
