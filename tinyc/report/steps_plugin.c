/* QEMU TCG plugin (API version 1, QEMU 7.x): the instructions of each step of one inference. Inside the
 * window from the entry of begin= to the entry of end= (the harness's markers), every entry of one of the
 * marks= addresses (colon-separated hex: the model's kernel functions) writes "<instructions since the
 * window opened>\n" to out=; the window's close writes "end <instructions>\n". Counting is per
 * instruction (inline adds), so no assumption about blocks running to their end is made.
 * tinyc's icount_plugin.c counts whole windows; this one splits a window at its marks. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qemu_plugin_api.h" /* firmware/harness/ */

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

#define MAX_MARKS 4096
enum { KIND_BEGIN = 1, KIND_END = 2, KIND_MARK = 3 };

static uint64_t executed; /* instructions executed so far, this one not yet counted in its callback */
static uint64_t begin_addr, end_addr, marks[MAX_MARKS];
static size_t n_marks;
static uint64_t window_start;
static bool in_window;
static FILE *out;

static void on_entry(unsigned int vcpu_index, void *userdata) {
    (void)vcpu_index;
    const uintptr_t kind = (uintptr_t)userdata;
    if (kind == KIND_BEGIN && !in_window) {
        in_window = true;
        window_start = executed;
    } else if (kind == KIND_END && in_window) {
        in_window = false;
        fprintf(out, "end %" PRIu64 "\n", executed - window_start);
        fflush(out);
    } else if (kind == KIND_MARK && in_window) {
        fprintf(out, "%" PRIu64 "\n", executed - window_start);
    }
}

static bool is_mark(uint64_t vaddr) {
    for (size_t i = 0; i < n_marks; i++) {
        if (marks[i] == vaddr) return true;
    }
    return false;
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
    (void)id;
    const size_t n = qemu_plugin_tb_n_insns(tb);
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        const uint64_t vaddr = qemu_plugin_insn_vaddr(insn);
        const uintptr_t kind = vaddr == begin_addr ? KIND_BEGIN : vaddr == end_addr ? KIND_END
                               : is_mark(vaddr) ? KIND_MARK : 0;
        /* the callback is registered first, so it runs before this instruction's own add */
        if (kind) qemu_plugin_register_vcpu_insn_exec_cb(insn, on_entry, QEMU_PLUGIN_CB_NO_REGS, (void *)kind);
        qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &executed, 1);
    }
}

static void on_atexit(qemu_plugin_id_t id, void *userdata) {
    (void)id;
    (void)userdata;
    if (out) fclose(out);
    out = NULL;
}

static bool parse_marks(const char *text) {
    while (*text) {
        char *next;
        if (n_marks == MAX_MARKS) return false;
        marks[n_marks++] = strtoull(text, &next, 0);
        if (next == text || (*next != ':' && *next != '\0')) return false;
        text = *next == ':' ? next + 1 : next;
    }
    return n_marks > 0;
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
                                                               int argc, char **argv) {
    (void)info;
    const char *path = NULL;
    bool marks_ok = false;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (tinyc_plugin_window_arg(arg, &begin_addr, &end_addr, &path)) {
            continue;
        }
        if (strncmp(arg, "marks=", 6) == 0) {
            marks_ok = parse_marks(arg + 6);
        } else {
            qemu_plugin_outs("steps: unknown argument\n");
            return -1;
        }
    }
    if (!path || !begin_addr || !end_addr || begin_addr == end_addr || !marks_ok) {
        qemu_plugin_outs("steps: needs begin=, end= (distinct, non-zero), marks=a:b:... and out=\n");
        return -1;
    }
    return tinyc_plugin_start(id, "steps", path, &out, on_translate, on_atexit);
}
