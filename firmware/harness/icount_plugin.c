/* QEMU TCG plugin (plugin API version 1, QEMU 7.x): counts the guest instructions executed in each
 * window from the entry of one address to the entry of another, e.g. two marker functions around an
 * inference. QEMU 7.2 ships no qemu-plugin.h: the few API functions used are in qemu_plugin_api.h.
 *
 * Arguments: begin=<hex addr>, end=<hex addr>, out=<file>, mode=tb|insn (default tb).
 * Writes one line per window ("<count>\n") to <file> as soon as the window closes.
 *
 * Counting: a global counter is advanced by inline TCG ops, either once per translation block by its
 * instruction count (mode=tb) or once per instruction (mode=insn). The instructions at the two
 * addresses get a callback that reads the counter; a block's inline add runs at its start, so the
 * callback subtracts the block's instructions from this one onwards. mode=tb assumes blocks run to
 * their end, which holds for code that raises no exceptions inside the window; mode=insn needs no
 * such assumption and is the cross-check.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qemu_plugin_api.h"

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

static uint64_t executed;   /* instructions executed so far (per mode=tb: including the current block) */
static uint64_t begin_addr, end_addr;
static uint64_t window_start;
static bool in_window;
static bool per_insn;
static FILE *out;

/* userdata of a marker callback: the marker flag in bit 63, the instructions to discount below it */
#define MARK_END (UINT64_C(1) << 63)

static void on_marker(unsigned int vcpu_index, void *userdata) {
    (void)vcpu_index;
    const uint64_t data = (uint64_t)(uintptr_t)userdata;
    const uint64_t now = executed - (data & ~MARK_END); /* instructions executed before this one */
    if (!(data & MARK_END)) {
        if (!in_window) {
            in_window = true;
            window_start = now;
        }
    } else if (in_window) {
        in_window = false;
        fprintf(out, "%" PRIu64 "\n", now - window_start);
        fflush(out);
    }
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
    (void)id;
    const size_t n = qemu_plugin_tb_n_insns(tb);
    if (!per_insn) qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &executed, n);
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        const uint64_t vaddr = qemu_plugin_insn_vaddr(insn);
        if (vaddr == begin_addr || vaddr == end_addr) {
            /* mode=tb: the block's n were added at its start; mode=insn: nothing added yet for this one */
            const uint64_t discount = per_insn ? 0 : n - i;
            const uint64_t data = discount | (vaddr == end_addr ? MARK_END : 0);
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_marker, QEMU_PLUGIN_CB_NO_REGS,
                                                   (void *)(uintptr_t)data);
        }
        if (per_insn) qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &executed, 1);
    }
}

static void on_atexit(qemu_plugin_id_t id, void *userdata) {
    (void)id;
    (void)userdata;
    if (out) fclose(out);
    out = NULL;
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
                                                               int argc, char **argv) {
    (void)info;
    const char *path = NULL;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (tinyc_plugin_window_arg(arg, &begin_addr, &end_addr, &path)) {
            continue;
        }
        if (strcmp(arg, "mode=insn") == 0) {
            per_insn = true;
        } else if (strcmp(arg, "mode=tb") != 0) {
            qemu_plugin_outs("icount: unknown argument\n");
            return -1;
        }
    }
    if (!path || !begin_addr || !end_addr || begin_addr == end_addr) {
        qemu_plugin_outs("icount: needs begin=, end= (distinct, non-zero) and out=\n");
        return -1;
    }
    return tinyc_plugin_start(id, "icount", path, &out, on_translate, on_atexit);
}
