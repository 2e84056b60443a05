/* tinyc's Unity subset: see unity.h. A failed assertion ends its test (longjmp, as Unity does). */
#include "unity.h"

#include <setjmp.h>

#include "harness.h"

static const char *test_file;
static const char *test_name;
static uint32_t tests, failures;
static jmp_buf abort_test;
static char line_buf[160];

static char *put_str(char *p, const char *s) {
    while (*s && p < line_buf + sizeof line_buf - 24) *p++ = *s++;
    return p;
}

static char *put_dec(char *p, long v) {
    char digits[20];
    int n = 0;
    unsigned long u = v < 0 ? 0ul - (unsigned long)v : (unsigned long)v;
    if (v < 0) *p++ = '-';
    do {
        digits[n++] = (char)('0' + u % 10u);
        u /= 10u;
    } while (u != 0u);
    while (n > 0) *p++ = digits[--n];
    return p;
}

static char *put_hex8(char *p, uint8_t v) {
    static const char hex[] = "0123456789ABCDEF";
    p = put_str(p, "0x");
    *p++ = hex[v >> 4];
    *p++ = hex[v & 15u];
    return p;
}

static void finish(char *p) {
    *p++ = '\n';
    *p = '\0';
    tinyc_puts(line_buf);
}

static char *result_head(int line) {
    return put_str(put_str(put_dec(put_str(put_str(line_buf, test_file), ":"), line), ":"), test_name);
}

static void fail(char *p, const char *message, int line) {
    (void)line;
    if (message != 0) p = put_str(put_str(p, ". "), message);
    finish(p);
    failures++;
    longjmp(abort_test, 1);
}

void UnityBegin(const char *file) {
    test_file = file;
    tests = failures = 0;
}

int UnityEnd(void) {
    tinyc_puts("\n-----------------------\n");
    char *p = put_str(put_dec(line_buf, (long)tests), " Tests ");
    p = put_str(put_dec(p, (long)failures), " Failures 0 Ignored");
    finish(p);
    tinyc_puts(failures == 0 ? "OK\n" : "FAIL\n");
    return (int)failures;
}

void UnityDefaultTestRun(UnityTestFunction func, const char *name, int line) {
    test_name = name;
    tests++;
    if (setjmp(abort_test) == 0) {
        setUp();
        func();
        tearDown();
        finish(put_str(result_head(line), ":PASS"));
    } else {
        tearDown();
    }
}

void UnityAssertEqualInt(long expected, long actual, const char *message, int line) {
    if (expected == actual) return;
    char *p = put_str(result_head(line), ":FAIL: Expected ");
    p = put_dec(put_str(put_dec(p, expected), " Was "), actual);
    fail(p, message, line);
}

void UnityAssertEqualHex8Array(const uint8_t *expected, const uint8_t *actual, uint32_t count,
                               const char *message, int line) {
    for (uint32_t i = 0; i < count; i++) {
        if (expected[i] == actual[i]) continue;
        char *p = put_str(put_dec(put_str(result_head(line), ":FAIL: Element "), (long)i), " Expected ");
        p = put_hex8(put_str(put_hex8(p, expected[i]), " Was "), actual[i]);
        fail(p, message, line);
    }
}
