/* The part of Unity's API (ThrowTheSwitch.org) that tinyc's generated test uses, for the emulated boards:
 * `pio test -e <board>-qemu` runs offline, where PlatformIO cannot download the Unity library; on a real
 * board PlatformIO's own Unity is used and this file is not on the include path. Written for tinyc (not a
 * copy of Unity): same macros, same output lines ("file:line:test:PASS" / ":FAIL: message", then
 * "N Tests F Failures 0 Ignored" and OK / FAIL), which PlatformIO's Unity runner parses. Output goes
 * over semihosting (tinyc_puts). */
#ifndef TINYC_UNITY_H
#define TINYC_UNITY_H

#include <stdint.h>

typedef void (*UnityTestFunction)(void);

void setUp(void);
void tearDown(void);

void UnityBegin(const char *file);
int UnityEnd(void);
void UnityDefaultTestRun(UnityTestFunction func, const char *name, int line);
void UnityAssertEqualInt(long expected, long actual, const char *message, int line);
void UnityAssertEqualHex8Array(const uint8_t *expected, const uint8_t *actual, uint32_t count,
                               const char *message, int line);

#define UNITY_BEGIN() UnityBegin(__FILE__)
#define UNITY_END() UnityEnd()
#define RUN_TEST(func) UnityDefaultTestRun(func, #func, __LINE__)
#define TEST_ASSERT_EQUAL_INT_MESSAGE(expected, actual, message) \
    UnityAssertEqualInt((long)(expected), (long)(actual), (message), __LINE__)
#define TEST_ASSERT_EQUAL_INT(expected, actual) TEST_ASSERT_EQUAL_INT_MESSAGE(expected, actual, 0)
#define TEST_ASSERT_EQUAL_HEX8_ARRAY_MESSAGE(expected, actual, count, message) \
    UnityAssertEqualHex8Array((const uint8_t *)(expected), (const uint8_t *)(actual), (uint32_t)(count), \
                              (message), __LINE__)
#define TEST_ASSERT_EQUAL_HEX8_ARRAY(expected, actual, count) \
    TEST_ASSERT_EQUAL_HEX8_ARRAY_MESSAGE(expected, actual, count, 0)

#endif
