/* The part of QEMU's TCG plugin API (version 1, QEMU 7.x) that tinyc's plugins use: QEMU 7.2 ships no
 * qemu-plugin.h, so the few types and functions are declared here. Shared by icount_plugin.c and
 * tinyc/report/steps_plugin.c (built with -I firmware/harness). */
#ifndef TINYC_QEMU_PLUGIN_API_H
#define TINYC_QEMU_PLUGIN_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
typedef struct qemu_info_t qemu_info_t; /* not read */
struct qemu_plugin_tb;
struct qemu_plugin_insn;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_CB_RW_REGS };
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, enum qemu_plugin_op op, void *ptr,
                                              uint64_t imm);
void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn *insn, enum qemu_plugin_op op,
                                                void *ptr, uint64_t imm);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn, qemu_plugin_vcpu_udata_cb_t cb,
                                            enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
void qemu_plugin_outs(const char *string);

/* The arguments every tinyc plugin takes: begin= and end= (the marker window's addresses), out= (the file
 * written at exit). True when arg was one of them. */
static inline bool tinyc_plugin_window_arg(const char *arg, uint64_t *begin, uint64_t *end, const char **path)
{
    if (strncmp(arg, "begin=", 6) == 0) {
        *begin = strtoull(arg + 6, NULL, 0);
    } else if (strncmp(arg, "end=", 4) == 0) {
        *end = strtoull(arg + 4, NULL, 0);
    } else if (strncmp(arg, "out=", 4) == 0) {
        *path = arg + 4;
    } else {
        return false;
    }
    return true;
}

/* tinyc's plugins start the same way: open the out= file, register the translation and exit callbacks.
 * 0, or -1 after saying "<who>: cannot open the out= file". */
static inline int tinyc_plugin_start(qemu_plugin_id_t id, const char *who, const char *path, FILE **out,
                                     qemu_plugin_vcpu_tb_trans_cb_t on_translate, qemu_plugin_udata_cb_t on_atexit)
{
    char message[64];
    *out = fopen(path, "w");
    if (!*out) {
        snprintf(message, sizeof message, "%s: cannot open the out= file\n", who);
        qemu_plugin_outs(message);
        return -1;
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_atexit_cb(id, on_atexit, NULL);
    return 0;
}

#endif /* TINYC_QEMU_PLUGIN_API_H */
