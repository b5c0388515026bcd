// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * The module runtime (modrt.h) against the fake kernel: type records,
 * what a user address is, parameters and their errors, kernel variables
 * and per-CPU addresses, kernel calls and the translation of their
 * arguments (temporary and persistent copies, read back, found again by
 * their kernel address), __dusk_kptr, __dusk_fnptr, hints, netfilter
 * registration, file operations (a proxy table of dusk.ko's is their
 * kernel copy; an INVOKE runs the module's function with current the
 * caller), what the debugger may watch, and the refusals that stop the
 * program.
 *
 * This file plays the module and its glue, written by hand in the shape
 * dusk-cc generates (placeholders in dusk_kdata, __dusk_kvars,
 * __dusk_kfuncs, stubs calling __dusk_kcall_stub, records in dusk_types).
 */
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <linux/netfilter.h>

#include "check.h"
#include "dusk.h"
#include "dusk_debug.h"
#include "dusk_module.h"
#include "fake_kernel.h"
#include "kconst.h"
#include "kernel.h"
#include "klib.h"
#include "modrt.h"
#include "session.h"
#include "shadow.h"

/* ---- the module's records ---- */

__asm__(".pushsection dusk_types,\"a\",@progbits\n"
	".asciz \"type struct_pair 24\"\n"
	".asciz \"field struct_pair name 0 8 ptr char\"\n"
	".asciz \"field struct_pair next 8 8 ptr struct_pair\"\n"
	".asciz \"field struct_pair value 16 8 int\"\n"
	".asciz \"type struct_ops 16\"\n"
	".asciz \"field struct_ops fn 0 8 fn\"\n"
	".asciz \"field struct_ops data 8 8 ptr void\"\n"
	".asciz \"type struct_kernel_param 40\"\n"
	".asciz \"field struct_kernel_param name 0 8 ptr char\"\n"
	".asciz \"field struct_kernel_param ops 16 8 ptr struct_kernel_param_ops\"\n"
	".asciz \"field struct_kernel_param arg 32 8 ptr void\"\n"
	".asciz \"field struct_kernel_param str 32 8 ptr struct_kparam_string\"\n"
	".asciz \"func k_copy ptr:void 3 0 ptr:void ptr:void int\"\n"
	".asciz \"type struct_file_operations 40\"\n"
	".asciz \"field struct_file_operations owner 0 8 ptr struct_module\"\n"
	".asciz \"field struct_file_operations llseek 8 8 fn\"\n"
	".asciz \"field struct_file_operations read 16 8 fn\"\n"
	".asciz \"field struct_file_operations mmap 24 8 fn\"\n"
	".asciz \"field struct_file_operations open 32 8 fn\"\n"
	".asciz \"type struct_fdev 16\"\n"
	".asciz \"field struct_fdev fops 0 8 ptr struct_file_operations\"\n"
	".asciz \"field struct_fdev name 8 8 ptr char\"\n"
	".asciz \"var jiffies 8\"\n"
	".popsection\n");

/* ---- the fake kernel's functions ---- */

#define KF(n)		(0xffffffff81000000ULL + 0x100 * (n))
enum {
	KF_FILL = 1,	/* fill(p, len, byte): memset in kernel memory */
	KF_STRLEN,	/* strlen(p) */
	KF_COPY,	/* copy(dst, src, len): returns dst */
	KF_PEEK,	/* peek(p): the 8 bytes at p */
	KF_RET0,	/* __static_call_return0 */
	KF_PLAIN,	/* plain(a, b): a + b, through a pointer */
};

#define FK_PERCPU_TABLE	(FK_AREA_DIRECT + 0x100)
#define FK_INIT_NET	(FK_AREA_DIRECT + 0x400)
#define FK_PCPU_BASE	(FK_AREA_DIRECT + 0x1000)
#define FK_CPU_NUMBER	0x20		/* a per-CPU offset */

static struct fake_kernel fk;
static struct dusk_session *s;
static uint64_t last_args[DUSK_MAX_CALL_ARGS];
static uint64_t last_fn;
static unsigned int calls;
static uint8_t seen[256];	/* what the kernel saw at the first argument */

static uint64_t fake_call(struct fake_kernel *k, uint64_t fn,
			  const uint64_t *args, unsigned int nargs)
{
	uint8_t *p;
	uint64_t v = 0;

	calls++;
	last_fn = fn;
	memcpy(last_args, args, sizeof(last_args));
	switch ((fn - KF(0)) / 0x100) {
	case KF_FILL:
		p = fk_mem(k, args[0], args[1]);
		if (p) {
			memcpy(seen, p, args[1] < sizeof(seen) ? args[1] : sizeof(seen));
			memset(p, (int)args[2], args[1]);
		}
		return args[1];
	case KF_STRLEN:
		p = fk_mem(k, args[0], 1);
		return p ? strlen((char *)p) : (uint64_t)-1;
	case KF_COPY:
		p = fk_mem(k, args[0], args[2]);
		if (p && fk_mem(k, args[1], args[2]))
			memcpy(p, fk_mem(k, args[1], args[2]), args[2]);
		return args[0];
	case KF_PEEK:
		p = fk_mem(k, args[0], 8);
		if (p)
			memcpy(&v, p, 8);
		return v;
	case KF_PLAIN:
		return args[0] + args[1];
	default:
		return 0;
	}
}

static int fake_sym(struct fake_kernel *k, const char *name, uint64_t *addr)
{
	static const struct { const char *name; uint64_t addr; } syms[] = {
		{ "k_fill", KF(KF_FILL) }, { "k_strlen", KF(KF_STRLEN) },
		{ "k_copy", KF(KF_COPY) }, { "k_peek", KF(KF_PEEK) },
		{ "k_plain", KF(KF_PLAIN) },
		{ "__static_call_return0", KF(KF_RET0) },
		{ "__per_cpu_offset", FK_PERCPU_TABLE },
		{ "init_net", FK_INIT_NET },
		{ "cpu_number", FK_CPU_NUMBER },
		{ "nf_register_net_hook", KF(0x40) },
		{ "k_fdev_register", KF(KF_PEEK) },
		{ "request_threaded_irq", KF(KF_PLAIN) },
		{ "current_task", 0x28 },
	};
	unsigned int i;

	(void)k;
	for (i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		if (!strcmp(name, syms[i].name)) {
			*addr = syms[i].addr;
			return 0;
		}
	}
	return -ENOENT;
}

/* ---- the glue, by hand ---- */

#define KDATA __attribute__((section("dusk_kdata"), aligned(64)))
KDATA char __dusk_kv_jiffies[8];
KDATA char __dusk_kv_init_net[64];
KDATA char __dusk_kv___this_module[64];
KDATA char __dusk_kv_cpu_number[4];
KDATA char __dusk_kv_nosuch[8];
KDATA char __dusk_kv_current_task[8];

const struct dusk_kvar __dusk_kvars[] = {
	{ "jiffies", __dusk_kv_jiffies, 8 },
	{ "init_net", __dusk_kv_init_net, 64 },
	{ "__this_module", __dusk_kv___this_module, 64 },
	{ "cpu_number", __dusk_kv_cpu_number, 4 },
	{ "nosuch", __dusk_kv_nosuch, 8 },
	{ "current_task", __dusk_kv_current_task, 8 },
	{ 0 }
};
const size_t __dusk_nr_kvars = 6;

#define STUB(name, n, t0, ...)						\
static const uint8_t kind_##name[] = { __VA_ARGS__ };			\
static const char *const type_##name[6] = { t0 };			\
static struct dusk_kfunc kf_##name = { #name, 0, n, 0, kind_##name,	\
				       type_##name };			\
uint64_t __dusk_k_##name(uint64_t a0, uint64_t a1, uint64_t a2,		\
			 uint64_t a3, uint64_t a4, uint64_t a5)		\
{									\
	return __dusk_kcall_stub(&kf_##name, a0, a1, a2, a3, a4, a5);	\
}

STUB(k_fill, 3, "void", DUSK_KARG_PTR, DUSK_KARG_INT, DUSK_KARG_INT)
STUB(k_strlen, 1, "char", DUSK_KARG_PTR)
STUB(k_peek, 1, "void", DUSK_KARG_PTR)
STUB(k_plain, 2, NULL, DUSK_KARG_INT, DUSK_KARG_INT)
STUB(k_missing, 0, NULL, 0)
STUB(k_fdev_register, 1, "struct_fdev", DUSK_KARG_PTR)
/* A function whose callback runs in atomic context: no proxy. */
STUB(request_threaded_irq, 2, "void", DUSK_KARG_PTR, DUSK_KARG_PTR)

/* k_copy takes typed pointers (the records' "func k_copy"). */
static const uint8_t kind_k_copy[] = { DUSK_KARG_PTR, DUSK_KARG_PTR,
				       DUSK_KARG_INT };
static const char *const type_k_copy[] = { "struct_pair", "struct_pair", NULL };
static struct dusk_kfunc kf_k_copy = { "k_copy", 0, 3, 0, kind_k_copy,
				       type_k_copy };
uint64_t __dusk_k_k_copy(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
			 uint64_t a4, uint64_t a5)
{
	return __dusk_kcall_stub(&kf_k_copy, a0, a1, a2, a3, a4, a5);
}

/* An "ops" argument: a function pointer field inside. */
static const uint8_t kind_k_ops[] = { DUSK_KARG_PTR };
static const char *const type_k_ops[] = { "struct_ops" };
static struct dusk_kfunc kf_k_ops = { "k_fill", 0, 1, 0, kind_k_ops,
				      type_k_ops };
uint64_t __dusk_k_k_ops(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
			uint64_t a4, uint64_t a5)
{
	return __dusk_kcall_stub(&kf_k_ops, a0, a1, a2, a3, a4, a5);
}

int __dusk_impl_nf_register_net_hook(void *net, const void *ops);
static struct dusk_kfunc kf_nfreg = { "nf_register_net_hook", 0, 0, 0,
				      NULL, NULL };

const struct dusk_kfunc_stub __dusk_kfuncs[] = {
	{ (void *)__dusk_k_k_fill, &kf_k_fill },
	{ (void *)__dusk_k_k_strlen, &kf_k_strlen },
	{ (void *)__dusk_k_k_peek, &kf_k_peek },
	{ (void *)__dusk_k_k_plain, &kf_k_plain },
	{ (void *)__dusk_k_k_missing, &kf_k_missing },
	{ (void *)__dusk_k_k_copy, &kf_k_copy },
	{ (void *)__dusk_k_k_ops, &kf_k_ops },
	{ (void *)__dusk_k_request_threaded_irq, &kf_request_threaded_irq },
	{ (void *)__dusk_impl_nf_register_net_hook, &kf_nfreg },
	{ (void *)__dusk_k_k_fdev_register, &kf_k_fdev_register },
	{ 0 }
};
const size_t __dusk_nr_kfuncs = 9;

/* Handed to libdusk before main(), as dusk-cc's glue does. */
extern char __start_dusk_kdata[], __stop_dusk_kdata[];

__attribute__((constructor)) static void glue_register(void)
{
	static const struct dusk_glue glue = {
		__dusk_kvars, 6, __dusk_kfuncs, 9,
		__start_dusk_kdata, __stop_dusk_kdata
	};

	__dusk_glue_register(&glue);
}

/* ---- helpers ---- */

static void quiet(enum dusk_log_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
}

/* Run fn in a child: its exit status, and its stderr in out. */
static int in_child(void (*fn)(void), char *out, size_t len)
{
	int p[2], status;
	ssize_t n, got = 0;
	pid_t pid;

	if (pipe(p))
		return -1;
	fflush(NULL);
	pid = fork();
	if (!pid) {
		dup2(p[1], 2);
		close(p[0]);
		fn();
		_exit(0);
	}
	close(p[1]);
	while ((n = read(p[0], out + got, len - 1 - (size_t)got)) > 0)
		got += n;
	out[got] = '\0';
	close(p[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static unsigned int allocs(void)
{
	return fk.executed[DUSK_MSG_ALLOC];
}

/* ---- type records ---- */

static void test_types(void)
{
	static const char recs[] =
		"type struct_a 16\0"
		"field struct_a x 8 8 ptr struct_b\0"
		"field struct_a f 0 8 fn\0"
		"type struct_b 4\0"
		"field struct_b v 0 4 int\0"
		"type struct_a 99\0"			/* a repeat: first counts */
		"field struct_a x 8 8 ptr struct_b\0"	/* repeated field */
		"\0\0"					/* padding */
		"field struct_c y 0 4 bits\0"		/* c never sized */
		"func f ptr:struct_a 2 0 ptr:char int\0"
		"func g void 0 1\0"
		"func f int 0 0\0"			/* repeat */
		"var jiffies 8\0"
		"type bad\0"				/* malformed */
		"field struct_a z 0 8 weird\0"		/* malformed */
		"func h int 2 0 int\0"			/* malformed: 1 arg */
		"bogus\0"
		"field struct_a arr 24 16 arr long unsigned int\0"	/* GCC's names */
		"func k ptr:long unsigned int 3 0 ptr:char int ptr:unsigned char\0"
		"field struct_a last 15 1 int";		/* no NUL at the end */
	const struct dusk_mtype *a, *b;
	const struct dusk_mfunc *f;
	const struct dusk_mfield *fld;
	struct dusk_types *t;

	dusk_set_log(quiet);
	CHECK_EQ(dusk_types_create(recs, recs + sizeof(recs) - 1, &t), 0);
	dusk_set_log(NULL);
	a = dusk_types_type(t, "struct_a");
	b = dusk_types_type(t, "struct_b");
	CHECK(a && b);
	CHECK_EQ(a->size, 16);
	CHECK_EQ(a->nr_fields, 4);
	/* By offset: f (0), x (8), last (15), arr (24). */
	CHECK(!strcmp(a->fields[0].name, "f"));
	CHECK_EQ(a->fields[0].kind, DUSK_MF_FN);
	CHECK(!strcmp(a->fields[1].name, "x"));
	CHECK(!strcmp(a->fields[1].target, "struct_b"));
	CHECK(!strcmp(a->fields[2].name, "last"));
	CHECK(!strcmp(a->fields[3].target, "long unsigned int"));
	f = dusk_types_func(t, "k");
	CHECK(f && f->nargs == 3 && !strcmp(f->ret.target, "long unsigned int"));
	CHECK(f && !strcmp(f->args[0].target, "char") &&
	      f->args[1].kind == DUSK_MK_INT &&
	      !strcmp(f->args[2].target, "unsigned char"));
	CHECK(dusk_types_type(t, "struct_c") == NULL);	/* no size record */
	fld = dusk_mtype_field(a, "x");
	CHECK(fld && fld->off == 8 && fld->size == 8 && fld->kind == DUSK_MF_PTR);
	CHECK(dusk_mtype_field_at(a, 12) == fld);
	CHECK(dusk_mtype_field_at(b, 4) == NULL);
	f = dusk_types_func(t, "f");
	CHECK(f && f->nargs == 2 && !f->variadic);
	CHECK(f && f->ret.kind == DUSK_MK_PTR && !strcmp(f->ret.target, "struct_a"));
	CHECK(f && f->args[0].kind == DUSK_MK_PTR && !strcmp(f->args[0].target, "char"));
	CHECK(f && f->args[1].kind == DUSK_MK_INT);
	f = dusk_types_func(t, "g");
	CHECK(f && f->ret.kind == DUSK_MK_VOID && f->variadic && !f->nargs);
	CHECK(dusk_types_var(t, "jiffies") && dusk_types_var(t, "jiffies")->size == 8);
	CHECK(dusk_types_func(t, "h") == NULL);
	CHECK_EQ(dusk_types_stats(t)->malformed, 4);
	CHECK_EQ(dusk_types_stats(t)->duplicates, 3);
	dusk_types_destroy(t);

	/* The program's own section (this file's records). */
	a = dusk_types_type(dusk_mod_types(), "struct_pair");
	CHECK(a && a->size == 24 && a->nr_fields == 3);
	CHECK(dusk_types_func(dusk_mod_types(), "k_copy") != NULL);
	CHECK(dusk_type_named("struct_ops") != NULL);
	CHECK(dusk_type_named("char") == NULL);
	CHECK(dusk_type_named("void") == NULL);
}

/* A runtime's layout of a kernel struct (the target kernel's, kconst.h)
 * against a module's record of it: a field the record lacks keeps the
 * kernel's offset; one where the record disagrees stops the program. */
static const struct dusk_mtype *layout_type;

static void layout_other_offset(void)
{
	uint32_t off = 16;

	dusk_mtype_layout(layout_type, "hook", 8, &off);
}

static void layout_other_size(void)
{
	uint32_t off = 40;

	dusk_mtype_layout(layout_type, "pf", 1, &off);
}

static void layout_other_struct_size(void)
{
	dusk_mtype_layout_size(layout_type, 56);
}

static void test_layout_checks(void)
{
	static const char recs[] =
		"type struct_kops 48\0"
		"field struct_kops hook 8 8 fn\0"
		"field struct_kops pf 40 4 int\0"
		"field struct_kops priv 24 8 ptr void\0";
	char err[512];
	struct dusk_types *t;
	uint32_t off;

	CHECK_EQ(dusk_types_create(recs, recs + sizeof(recs) - 1, &t), 0);
	layout_type = dusk_types_type(t, "struct_kops");
	CHECK(layout_type != NULL);
	off = 24;			/* agrees */
	dusk_mtype_layout(layout_type, "priv", 8, &off);
	CHECK_EQ(off, 24);
	off = 44;			/* not in the record: kept */
	dusk_set_log(quiet);
	dusk_mtype_layout(layout_type, "hooknum", 4, &off);
	dusk_set_log(NULL);
	CHECK_EQ(off, 44);
	dusk_mtype_layout(NULL, "hook", 8, &off);	/* no record */
	dusk_mtype_layout_size(NULL, 56);
	CHECK_EQ(in_child(layout_other_offset, err, sizeof(err)), 1);
	CHECK(strstr(err, "struct_kops has hook at offset 8 (8 bytes)") &&
	      strstr(err, "at offset 16 (8 bytes)") &&
	      strstr(err, "not compiled for the kernel"));
	CHECK_EQ(in_child(layout_other_size, err, sizeof(err)), 1);
	CHECK(strstr(err, "pf at offset 40 (4 bytes)") &&
	      strstr(err, "at offset 40 (1 bytes)"));
	CHECK_EQ(in_child(layout_other_struct_size, err, sizeof(err)), 1);
	CHECK(strstr(err, "struct_kops is 48 bytes") &&
	      strstr(err, "not compiled for the kernel"));
	dusk_types_destroy(t);
}

/* ---- the program's memory ---- */

static int a_global = 5;
static const char a_const[] = "constant";
static void a_function(void) {}

static void test_image(void)
{
	int local;
	char *heap = malloc(32);
	const struct dusk_msym *sym;

	CHECK_EQ(dusk_mem_class((uintptr_t)&local), DUSK_MEM_STACK);
	CHECK_EQ(dusk_mem_class((uintptr_t)&a_global), DUSK_MEM_RW);
	CHECK_EQ(dusk_mem_class((uintptr_t)a_const), DUSK_MEM_RO);
	CHECK_EQ(dusk_mem_class((uintptr_t)"a literal"), DUSK_MEM_RO);
	CHECK_EQ(dusk_mem_class((uintptr_t)a_function), DUSK_MEM_TEXT);
	CHECK_EQ(dusk_mem_class((uintptr_t)heap), DUSK_MEM_HEAP);
	CHECK_EQ(dusk_mem_class((uintptr_t)__dusk_kv_jiffies + 3), DUSK_MEM_KDATA);
	CHECK_EQ(dusk_mem_class(0xffff888000001000ULL), DUSK_MEM_KERNEL);
	CHECK_EQ(dusk_mem_class(42), DUSK_MEM_OTHER);
	CHECK(!dusk_mem_ours(42));
	CHECK(!dusk_mem_ours(0));
	CHECK(dusk_mem_ours((uintptr_t)&a_global));
	/* The symbol table: extent of an object, name of a function. */
	sym = dusk_image_object((uintptr_t)&a_global + 2);
	CHECK(sym && sym->addr == (uintptr_t)&a_global && sym->size == 4);
	CHECK(sym && !strcmp(sym->name, "a_global"));
	sym = dusk_image_object((uintptr_t)a_const + 8);
	CHECK(sym && sym->size == sizeof(a_const));
	sym = dusk_image_func((uintptr_t)test_image + 1);
	CHECK(sym && !strcmp(sym->name, "test_image"));
	CHECK(dusk_image_object((uintptr_t)&local) == NULL);
	free(heap);
}

/* ---- parameters ---- */

struct test_kp {
	const char *name;
	void *mod;
	const void *ops;
	uint16_t perm;
	int8_t level;
	uint8_t flags;
	void *arg;
};
_Static_assert(sizeof(struct test_kp) == 40, "struct kernel_param of 6.1");

struct test_kps {
	unsigned int maxlen;
	char *string;
};

struct test_kparr {
	unsigned int max, elemsize;
	unsigned int *num;
	const void *ops;
	void *elem;
};

extern const struct dusk_kparam_ops __dusk_impl_param_ops_int,
	__dusk_impl_param_ops_uint, __dusk_impl_param_ops_bool,
	__dusk_impl_param_ops_invbool, __dusk_impl_param_ops_charp,
	__dusk_impl_param_ops_byte, __dusk_impl_param_ops_string,
	__dusk_impl_param_array_ops, __dusk_impl_param_ops_long,
	__dusk_impl_param_ops_hexint, __dusk_impl_param_ops_short;

static int p_int = 7, p_dash, p_arr[4], p_custom_seen;
static unsigned int p_uint, p_arr_num, p_hex;
static bool p_bool, p_inv = true;
static char *p_charp = "default";
static unsigned char p_byte;
static char p_str[8];
static long p_long;
static short p_short;
static char p_custom_val[32];

static int custom_set(const char *val, const void *kp)
{
	p_custom_seen++;
	snprintf(p_custom_val, sizeof(p_custom_val), "%s", val ? val : "(null)");
	return strcmp(val ? val : "", "bad") ? 0 : -EINVAL;
}

static const struct dusk_kparam_ops custom_ops = { .set = custom_set };
static const struct test_kps p_str_kps = { sizeof(p_str), p_str };
static const struct test_kparr p_arr_desc = {
	4, sizeof(int), &p_arr_num, &__dusk_impl_param_ops_int, p_arr
};

static struct test_kp params[] = {
	{ "ival", NULL, &__dusk_impl_param_ops_int, 0, -1, 0, &p_int },
	{ "uval", NULL, &__dusk_impl_param_ops_uint, 0, -1, 0, &p_uint },
	{ "flag", NULL, &__dusk_impl_param_ops_bool, 0, -1, 0, &p_bool },
	{ "inv", NULL, &__dusk_impl_param_ops_invbool, 0, -1, 0, &p_inv },
	{ "cp", NULL, &__dusk_impl_param_ops_charp, 0, -1, 0, &p_charp },
	{ "bv", NULL, &__dusk_impl_param_ops_byte, 0, -1, 0, &p_byte },
	{ "str", NULL, &__dusk_impl_param_ops_string, 0, -1, 0, (void *)&p_str_kps },
	{ "arr", NULL, &__dusk_impl_param_array_ops, 0, -1, 0, (void *)&p_arr_desc },
	{ "dash_name", NULL, &__dusk_impl_param_ops_int, 0, -1, 0, &p_dash },
	{ "lv", NULL, &__dusk_impl_param_ops_long, 0, -1, 0, &p_long },
	{ "hx", NULL, &__dusk_impl_param_ops_hexint, 0, -1, 0, &p_hex },
	{ "sv", NULL, &__dusk_impl_param_ops_short, 0, -1, 0, &p_short },
	{ "custom", NULL, &custom_ops, 0, -1, 0, NULL },
	{ "kern", NULL, __dusk_kv_init_net, 0, -1, 0, &p_int },	/* a kernel ops */
};

static int apply(char *msg, size_t len, ...)
{
	char *argv[16];
	int argc = 0;
	va_list ap;

	va_start(ap, len);
	while (argc < 16 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	return dusk_params_apply(params, params + sizeof(params) / sizeof(params[0]),
				 argc, argv, msg, len);
}

static void test_params(void)
{
	char msg[256];

	CHECK_EQ(apply(msg, sizeof(msg), "ival=42", "uval=0x10", "flag",
		       "inv=1", "cp=hello world", "bv=255", "str=1234567",
		       "arr=1,-2,3", "dash-name=9", "lv=-0x7fffffffffffffff",
		       "hx=0x1F", "sv=-32768", "custom=abc", NULL), 0);
	CHECK_EQ(p_int, 42);
	CHECK_EQ(p_uint, 16);
	CHECK(p_bool);
	CHECK(!p_inv);
	CHECK(!strcmp(p_charp, "hello world"));
	CHECK_EQ(p_byte, 255);
	CHECK(!strcmp(p_str, "1234567"));
	CHECK_EQ(p_arr_num, 3);
	CHECK(p_arr[0] == 1 && p_arr[1] == -2 && p_arr[2] == 3);
	CHECK_EQ(p_dash, 9);
	CHECK_EQ(p_long, -0x7fffffffffffffffL);
	CHECK_EQ(p_hex, 0x1f);
	CHECK_EQ(p_short, -32768);
	CHECK_EQ(p_custom_seen, 1);
	CHECK(!strcmp(p_custom_val, "abc"));

	/* Quotes, octal, a trailing newline, flag=n; a word with a space
	 * is one parameter (its value quoted). */
	CHECK_EQ(apply(msg, sizeof(msg), "ival=010", "uval=\"5\"", "flag=n",
		       "cp=\"quoted\"", "bv=7\n", NULL), 0);
	CHECK_EQ(p_int, 8);
	CHECK_EQ(p_uint, 5);
	CHECK(!p_bool);
	CHECK(!strcmp(p_charp, "quoted"));
	CHECK_EQ(p_byte, 7);
	CHECK_EQ(apply(msg, sizeof(msg), "cp=\"two words\"", NULL), 0);
	CHECK(!strcmp(p_charp, "two words"));

	/* Errors, named as the kernel names them. */
	CHECK_EQ(apply(msg, sizeof(msg), "nope=1", NULL), -ENOENT);
	CHECK(!strcmp(msg, "unknown parameter 'nope'"));
	CHECK_EQ(apply(msg, sizeof(msg), "ival=12abc", NULL), -EINVAL);
	CHECK(!strcmp(msg, "'12abc' invalid for parameter 'ival'"));
	CHECK_EQ(p_int, 8);
	CHECK_EQ(apply(msg, sizeof(msg), "bv=256", NULL), -ERANGE);
	CHECK(strstr(msg, "invalid for parameter 'bv'") != NULL);
	CHECK_EQ(apply(msg, sizeof(msg), "ival=99999999999", NULL), -ERANGE);
	CHECK_EQ(apply(msg, sizeof(msg), "uval=-1", NULL), -EINVAL);
	CHECK_EQ(apply(msg, sizeof(msg), "sv=32768", NULL), -ERANGE);
	CHECK_EQ(apply(msg, sizeof(msg), "ival", NULL), -EINVAL);
	CHECK(strstr(msg, "needs a value") != NULL);
	CHECK_EQ(apply(msg, sizeof(msg), "ival=", NULL), -EINVAL);
	CHECK_EQ(apply(msg, sizeof(msg), "flag=maybe", NULL), -EINVAL);
	CHECK_EQ(apply(msg, sizeof(msg), "str=12345678", NULL), -ENOSPC);
	CHECK(!strcmp(msg, "'12345678' too large for parameter 'str'"));
	CHECK_EQ(apply(msg, sizeof(msg), "arr=1,2,3,4,5", NULL), -EINVAL);
	CHECK_EQ(apply(msg, sizeof(msg), "arr=1,x", NULL), -EINVAL);
	CHECK_EQ(apply(msg, sizeof(msg), "custom=bad", NULL), -EINVAL);
	CHECK_EQ(apply(msg, sizeof(msg), "kern=1", NULL), -EOPNOTSUPP);
	CHECK(strstr(msg, "init_net") != NULL);
	/* Parsing stops at the first error: later ones are not applied. */
	CHECK_EQ(apply(msg, sizeof(msg), "nope=1", "ival=1", NULL), -ENOENT);
	CHECK_EQ(p_int, 8);
	CHECK_EQ(apply(msg, sizeof(msg), NULL), 0);
}

/* ---- a session with the fake kernel ---- */

static void session_open(void)
{
	struct dusk_config cfg;
	uint64_t off[2] = { FK_PCPU_BASE, FK_PCPU_BASE + 0x1000 };

	fk_init(&fk);
	fk.call = fake_call;
	fk.sym = fake_sym;
	fk.alloc_next = FK_AREA_DIRECT + 0x8000;
	memcpy(fk_mem(&fk, FK_PERCPU_TABLE, sizeof(off)), off, sizeof(off));
	fk_config(&cfg);
	CHECK_EQ(fk_session_open(&fk, &cfg, &s), 0);
}

static void test_kvars(void)
{
	unsigned int syms = fk.executed[DUSK_MSG_SYM];
	void *p;

	/* Placeholders become kernel addresses, interior pointers too,
	 * resolved once per session. */
	CHECK_EQ((uintptr_t)__dusk_gvar(__dusk_kv_jiffies), FK_AREA_DIRECT + 0x40);
	CHECK_EQ((uintptr_t)__dusk_gvar(__dusk_kv_init_net + 16), FK_INIT_NET + 16);
	CHECK_EQ((uintptr_t)__dusk_gvar(__dusk_kv_jiffies), FK_AREA_DIRECT + 0x40);
	CHECK_EQ(fk.executed[DUSK_MSG_SYM] - syms, 2);
	/* Anything else is itself; __this_module is the module's own. */
	CHECK(__dusk_gvar(&a_global) == &a_global);
	CHECK(__dusk_gvar(__dusk_kv___this_module) == __dusk_kv___this_module);
	/* Reading a kernel variable through the mirror. */
	p = __dusk_check(__dusk_gvar(__dusk_kv_jiffies), 8);
	CHECK(!memcmp(p, fk_mem(&fk, FK_AREA_DIRECT + 0x40, 8), 8));

	/* Per-CPU: the invocation's CPU (0 outside any), the module's own
	 * per-CPU variables unchanged. */
	CHECK_EQ((uintptr_t)__dusk_gvar(__dusk_kv_cpu_number), FK_CPU_NUMBER);
	CHECK_EQ((uintptr_t)__dusk_this_cpu_ptr(__dusk_gvar(__dusk_kv_cpu_number)),
		 FK_PCPU_BASE + FK_CPU_NUMBER);
	CHECK_EQ((uintptr_t)__dusk_this_cpu_ptr(__dusk_kv_cpu_number),
		 FK_PCPU_BASE + FK_CPU_NUMBER);
	CHECK(__dusk_this_cpu_ptr(&a_global) == &a_global);
	/* A __percpu pointer from the kernel (not an address of ours). */
	CHECK_EQ((uintptr_t)__dusk_this_cpu_ptr((void *)0x3d2a00001000ULL),
		 FK_PCPU_BASE + 0x3d2a00001000ULL);
	CHECK_EQ(dusk_mod_cpu(), 0);
}

/* A module's own per-CPU variable (DEFINE_PER_CPU), in the section dusk-cc
 * renames .data..percpu to. */
static unsigned long pcpu_hits __attribute__((section(DUSK_PERCPU_SECTION))) = 7;

static void test_module_percpu(void)
{
	unsigned long *c0, *c1, *via;
	uint64_t off1 = FK_PCPU_BASE + 0x1000;

	/* CPU 0's copy is the variable itself. */
	c0 = __dusk_this_cpu_ptr(&pcpu_hits);
	CHECK(c0 == &pcpu_hits);
	(*c0)++;
	/* per_cpu_ptr(&var, 1): &var + __per_cpu_offset[1], resolved in
	 * the slow path to CPU 1's copy, which started from the initial
	 * value. */
	c1 = __dusk_check((void *)((uintptr_t)&pcpu_hits + off1), 8);
	CHECK(c1 != &pcpu_hits && *c1 == 7);
	*c1 += 10;
	via = __dusk_check((void *)((uintptr_t)&pcpu_hits + FK_PCPU_BASE), 8);
	CHECK(via == &pcpu_hits);
	CHECK_EQ(pcpu_hits, 8);
	CHECK_EQ(*(unsigned long *)__dusk_check(
			 (void *)((uintptr_t)&pcpu_hits + off1), 8), 17);
}

static void unknown_kvar(void)
{
	__dusk_gvar(__dusk_kv_nosuch);
}

static void missing_function(void)
{
	__dusk_k_k_missing(0, 0, 0, 0, 0, 0);
}

static void expect_fatal(void (*fn)(void), const char *want);

static void test_kvar_errors(void)
{
	expect_fatal(unknown_kvar, "test_modrt: kernel variable nosuch: the target kernel has no such symbol\n");
	expect_fatal(missing_function, "test_modrt: kernel call k_missing failed: the target kernel has no such symbol\n");
}

/* Objects the calls get. */
static struct pair {
	const char *name;
	struct pair *next;
	long value;
} pair_b = { "bee", NULL, 2 }, pair_a = { "ay", &pair_b, 1 };

static struct ops {
	void (*fn)(void);
	void *data;
} ops_user = { a_function, NULL }, ops_kernel = { (void (*)(void))__dusk_k_k_peek, &pair_a };

static void test_calls(void)
{
	char buf[40], *mirror;
	unsigned int before;
	uint64_t k, k2, kb;
	struct pair *back;

	/* Kernel addresses only: no copy, no allocation. */
	before = allocs();
	CHECK_EQ(__dusk_k_k_fill(FK_AREA_DIRECT + 0x2000, 16, 0x5a, 0, 0, 0), 16);
	/* Observed: the debugger's record has it, with its arguments and
	 * result (debug/ attached its observer when the program started). */
	{
		const char *rec = dusk_dbg_kcalls(1);
		char want[128];

		snprintf(want, sizeof(want), "\tk_fill\t0x%llx,0x10,0x5a\t0x10\t0\t",
			 (unsigned long long)(FK_AREA_DIRECT + 0x2000));
		CHECK(rec && strstr(rec, want));
	}
	CHECK_EQ(last_args[0], FK_AREA_DIRECT + 0x2000);
	CHECK_EQ(allocs(), before);
	CHECK_EQ(fk_mem(&fk, FK_AREA_DIRECT + 0x2000, 16)[15], 0x5a);
	/* A mirror address goes as its kernel address. */
	mirror = __dusk_check((void *)(FK_AREA_DIRECT + 0x2100), 8);
	__dusk_k_k_fill((uintptr_t)mirror, 8, 1, 0, 0, 0);
	CHECK_EQ(last_args[0], FK_AREA_DIRECT + 0x2100);
	/* A placeholder, its variable; __this_module, NULL. */
	__dusk_k_k_peek((uintptr_t)__dusk_kv_init_net + 8, 0, 0, 0, 0, 0);
	CHECK_EQ(last_args[0], FK_INIT_NET + 8);
	__dusk_k_k_peek((uintptr_t)__dusk_kv___this_module, 0, 0, 0, 0, 0);
	CHECK_EQ(last_args[0], 0);

	/* A local, with the plugin's hint: a temporary copy, copied in,
	 * changed by the kernel, read back into the local. */
	memset(buf, 'x', sizeof(buf));
	before = allocs();
	__dusk_hint(0, buf, sizeof(buf));
	CHECK_EQ(__dusk_k_k_fill((uintptr_t)buf + 4, 8, 'k', 0, 0, 0), 8);
	CHECK(last_args[0] >= DUSK_KERNEL_MIN);
	CHECK(!memcmp(seen, "xxxxxxxx", 8));		/* it got the bytes */
	CHECK(!memcmp(buf, "xxxxkkkkkkkkxxxx", 16));	/* and they came back */
	CHECK_EQ(allocs() - before, 1);			/* the temporary arena */
	k = last_args[0] - 4;
	/* The arena is reused: the next call allocates nothing. */
	before = allocs();
	__dusk_hint(0, buf, sizeof(buf));
	__dusk_k_k_fill((uintptr_t)buf, 2, 'z', 0, 0, 0);
	CHECK_EQ(last_args[0], k);
	CHECK_EQ(allocs(), before);
	CHECK(buf[0] == 'z' && buf[2] == 'x');
	/* An inline wrapper's hint (its argument 3) serves the kernel call
	 * it makes with the local in another position. */
	__dusk_hint(3, buf, sizeof(buf));
	__dusk_k_k_fill((uintptr_t)buf + 8, 4, 'w', 0, 0, 0);
	CHECK_EQ(last_args[0], k + 8);
	CHECK(!memcmp(buf + 8, "wwww", 4));
	/* A local with no hint at all (an inline wrapper's caller's): a
	 * window toward the callers' frames, only changed bytes back. */
	{
		char mine[24];

		memset(mine, '.', sizeof(mine));
		CHECK_EQ(__dusk_k_k_fill((uintptr_t)mine + 2, 3, 'n', 0, 0, 0), 3);
		CHECK(!memcmp(mine, "..nnn...", 8));
		CHECK(!memcmp(seen, "...", 3));
	}
	/* A hint is for the next call only. */
	__dusk_hint(0, buf, sizeof(buf));
	__dusk_enter();
	__dusk_leave();
	CHECK(dusk_hint_find(0, (uintptr_t)buf, &(uintptr_t){0}, &(uint64_t){0}) != 0);

	/* A string literal: strlen + 1 bytes, read-only (never read back). */
	CHECK_EQ(__dusk_k_k_strlen((uintptr_t)"kernel string", 0, 0, 0, 0, 0), 13);
	k = last_args[0];
	CHECK_EQ(__dusk_k_k_strlen((uintptr_t)"kernel string", 0, 0, 0, 0, 0), 13);
	CHECK_EQ(last_args[0], k);	/* the same object, the same copy */

	/* A static struct pointing to another: persistent copies, pointers
	 * translated by type, found again by their kernel address. */
	before = allocs();
	__dusk_k_k_peek((uintptr_t)&pair_a, 0, 0, 0, 0, 0);
	k = last_args[0];
	CHECK(k >= DUSK_KERNEL_MIN);
	memcpy(&kb, fk_mem(&fk, k + 8, 8), 8);		/* pair_a.next in the kernel */
	CHECK(kb >= DUSK_KERNEL_MIN);
	CHECK(dusk_kcopy_user(kb, 24) == &pair_b);
	memcpy(&k2, fk_mem(&fk, kb, 8), 8);		/* pair_b.name */
	CHECK(!strcmp((char *)fk_mem(&fk, k2, 4), "bee"));
	/* __dusk_check on the copy's kernel address: the user object. */
	back = __dusk_check((void *)k, sizeof(*back));
	CHECK(back == &pair_a);
	back = __dusk_check((void *)kb, sizeof(*back));
	CHECK(back == &pair_b);
	CHECK(dusk_xlate_in(kb) == (uintptr_t)&pair_b);
	/* A pointer loaded from kernel memory: the user object, so that
	 * it compares equal to &pair_b. */
	CHECK(__dusk_uptr((void *)(uintptr_t)(kb + 8)) == &pair_b.next);
	CHECK(__dusk_uptr((void *)(FK_AREA_DIRECT + 0x2000)) ==
	      (void *)(FK_AREA_DIRECT + 0x2000));
	CHECK(__dusk_uptr(&pair_b) == &pair_b);
	CHECK(__dusk_uptr(NULL) == NULL);
	/* Same object, same copy. */
	__dusk_k_k_peek((uintptr_t)&pair_b.value, 0, 0, 0, 0, 0);
	CHECK_EQ(last_args[0], kb + 16);

	/* The module changes a shared object: the kernel sees it at the
	 * next call (only what changed is sent). */
	pair_b.value = 77;
	CHECK_EQ(__dusk_k_k_peek(kb + 16, 0, 0, 0, 0, 0), 77);
	/* The kernel changes it: the module sees it after a call that got
	 * it (and pointers to copies come back as user pointers). */
	__dusk_k_k_fill((uintptr_t)&pair_b.value, 8, 0, 0, 0, 0);
	CHECK_EQ(pair_b.value, 0);
	memcpy(fk_mem(&fk, kb + 8, 8), &k, 8);		/* pair_b.next = &pair_a */
	pair_b.value = 5;
	__dusk_k_k_peek((uintptr_t)&pair_b, 0, 0, 0, 0, 0);
	CHECK(pair_b.next == &pair_a);
	CHECK_EQ(pair_b.value, 5);	/* the module's change survived */
	/* ... or at a new invocation. */
	memset(fk_mem(&fk, k + 16, 8), 0, 8);		/* pair_a.value = 0 */
	CHECK_EQ(dusk_kcopy_refresh_all(), 0);
	CHECK_EQ(pair_a.value, 0);
	pair_b.next = NULL;

	/* A function returning its argument (a local's copy): the local. */
	{
		struct pair loc = { "loc", NULL, 3 }, *r;

		__dusk_hint(0, &loc, sizeof(loc));
		r = (struct pair *)__dusk_k_k_copy((uintptr_t)&loc,
						   (uintptr_t)&pair_b, sizeof(loc),
						   0, 0, 0);
		CHECK(r == &loc);
		CHECK_EQ(loc.value, 5);
		CHECK(!strcmp(loc.name, "bee"));	/* a copy's pointer, back */
	}

	/* A stub in a struct: the kernel function. A stub as an argument
	 * too. */
	__dusk_k_k_peek((uintptr_t)&ops_kernel, 0, 0, 0, 0, 0);
	memcpy(&k, fk_mem(&fk, last_args[0], 8), 8);
	CHECK_EQ(k, KF(KF_PEEK));
	__dusk_k_k_peek((uintptr_t)__dusk_k_k_fill, 0, 0, 0, 0, 0);
	CHECK_EQ(last_args[0], KF(KF_FILL));
}

/* What dusk-gdb may watch (dusk_dbg_shadow with DUSK_DBG_FIXED): where
 * module code finds the bytes for the whole session. */
static void test_dbg_fixed(void)
{
	uint64_t k;
	uint8_t *m;

	/* A region's window: the mirror, as the module's own check. */
	m = dusk_dbg_shadow(FK_AREA_DIRECT + 0x2300, 4, DUSK_DBG_FIXED);
	CHECK(m && m == __dusk_check((void *)(FK_AREA_DIRECT + 0x2300), 4));
	/* ... given by its mirror address too. */
	CHECK(dusk_dbg_shadow((uintptr_t)m, 4, DUSK_DBG_FIXED) == m);
	/* A kernel copy's address: the program's object. */
	__dusk_k_k_peek((uintptr_t)&pair_a, 0, 0, 0, 0, 0);
	k = last_args[0];
	CHECK(dusk_dbg_shadow(k + 16, 8, DUSK_DBG_FIXED) == &pair_a.value);
	/* A program address: itself. */
	CHECK(dusk_dbg_shadow((uintptr_t)&pair_b, 8, DUSK_DBG_FIXED) == &pair_b);
	/* A stray page: readable, not watchable (its mirror may move). */
	errno = 0;
	CHECK(dusk_dbg_shadow(FK_AREA_STRAY + 8, 4, 0) != NULL);
	CHECK(dusk_dbg_shadow(FK_AREA_STRAY + 8, 4, DUSK_DBG_FIXED) == NULL);
	CHECK_EQ(errno, EADDRNOTAVAIL);
	CHECK(strstr(dusk_dbg_error, "cannot be watched: it is outside every kernel region"));
	/* A bad address: the fetch's own error. */
	CHECK(dusk_dbg_shadow(FK_AREA_DIRECT - 4096, 4, DUSK_DBG_FIXED) == NULL);
	CHECK(strstr(dusk_dbg_error, "cannot read kernel memory"));
}

static void user_fn_to_irq(void)
{
	__dusk_k_request_threaded_irq(FK_AREA_DIRECT + 0x2000,
				      (uintptr_t)a_function, 0, 0, 0, 0);
}

static void heap_without_size(void)
{
	long *h = calloc(4, sizeof(long));

	/* void * pointee, no hint, no symbol, not a local: unknown size. */
	__dusk_k_k_peek((uintptr_t)h, 0, 0, 0, 0, 0);
}

static void kptr_local(void)
{
	int loc = 1;
	void **slot = __dusk_check_w((void *)(FK_AREA_DIRECT + 0x2200), 8);

	*slot = __dusk_kptr(slot, &loc);
}

/* INIT_WORK() on kernel memory: data, an empty list, then func. The
 * program runs work items itself (mod_work.c): the function is kept for
 * it, claimed, and the kernel holds a harmless one. Exits 0 if so. */
static void kptr_fn_work(void)
{
	uint64_t *w = __dusk_check_w((void *)(FK_AREA_DIRECT + 0x2200), 32);
	void **slot = (void **)&w[3];

	w[0] = 0x7fffffffULL << 5;
	w[1] = w[2] = FK_AREA_DIRECT + 0x2208;
	*slot = __dusk_kptr(slot, (void *)a_function);
	dusk_kcopy_check_deferred("at the end of init_module");
	if (*slot != (void *)KF(KF_RET0) ||
	    dusk_kcopy_claim_fn(FK_AREA_DIRECT + 0x2218) != (void *)a_function)
		_exit(3);
}

/* fn stops the program with status 1 and a message containing want. */
static void expect_fatal(void (*fn)(void), const char *want)
{
	char out[1024];

	CHECK_EQ(in_child(fn, out, sizeof(out)), 1);
	if (!strstr(out, want)) {
		fprintf(stderr, "expected \"%s\" in: %s", want, out);
		CHECK(0);
	} else {
		CHECK(1);
	}
}

static void test_refusals(void)
{
	expect_fatal(user_fn_to_irq, "test_modrt: argument 2 of request_threaded_irq: user function a_function cannot be given to the kernel (no kernel proxy for it: the kernel must never call user code); at user level dusk proxies netfilter hooks and file operations (struct file_operations) only");
	expect_fatal(heap_without_size, "argument 1 of k_peek: cannot tell the size of the user object");
	expect_fatal(kptr_local, "is a local object");
}

static void test_work_fn_kept(void)
{
	char out[1024];

	CHECK_EQ(in_child(kptr_fn_work, out, sizeof(out)), 0);
}

/* A user function the kernel gets otherwise: its proxy (DUSK_PROXY_FN),
 * one for the session, and back to the function when read back. */
static void test_fn_proxies(void)
{
	uint64_t k, p, again;
	void **slot;

	/* In a copy of a static struct, argument of a call. */
	__dusk_k_k_ops((uintptr_t)&ops_user, 0, 0, 0, 0, 0);
	k = dusk_kcopy_kaddr_of((uintptr_t)&ops_user);
	CHECK(k != 0);
	memcpy(&p, fk_mem(&fk, k, 8), 8);
	CHECK(p >= DUSK_KERNEL_MIN);
	CHECK(dusk_fn_proxy_user(p) == (uintptr_t)a_function);
	CHECK(dusk_xlate_in(p) == (uintptr_t)a_function);
	/* Stored into kernel memory, claimed by nobody: the proxy goes
	 * there at the end of the callback (or before a kernel call). */
	slot = __dusk_check_w((void *)(FK_AREA_DIRECT + 0x2500), 8);
	*slot = __dusk_kptr(slot, (void *)a_function);
	CHECK_EQ((uint64_t)(uintptr_t)*slot, KF(KF_RET0));
	dusk_kcopy_check_deferred("test");
	again = (uintptr_t)*(void **)__dusk_check((void *)(FK_AREA_DIRECT + 0x2500), 8);
	CHECK_EQ(again, p);	/* one proxy per function */
	memcpy(&again, fk_mem(&fk, FK_AREA_DIRECT + 0x2500, 8), 8);
	CHECK_EQ(again, p);
}

static void test_kptr(void)
{
	void **slot = __dusk_check_w((void *)(FK_AREA_DIRECT + 0x2300), 8);
	int local;
	uint64_t k;

	/* Into user memory: anything, unchanged. */
	CHECK(__dusk_kptr(&local, &local) == &local);
	CHECK(__dusk_kptr(&local, (void *)a_function) == (void *)a_function);
	/* Into kernel memory: kernel addresses. */
	CHECK(__dusk_kptr(slot, NULL) == NULL);
	CHECK(__dusk_kptr(slot, slot) == (void *)(FK_AREA_DIRECT + 0x2300));
	CHECK(__dusk_kptr(slot, __dusk_kv_init_net) == (void *)FK_INIT_NET);
	CHECK(__dusk_kptr(slot, (void *)__dusk_k_k_strlen) == (void *)KF(KF_STRLEN));
	k = (uintptr_t)__dusk_kptr(slot, &pair_a);
	CHECK(k == dusk_kcopy_kaddr_of((uintptr_t)&pair_a));
	/* A user function: deferred, a harmless kernel function stored,
	 * claimed by a registration API. */
	k = (uintptr_t)__dusk_kptr(slot, (void *)a_function);
	CHECK_EQ(k, KF(KF_RET0));
	CHECK(dusk_kcopy_claim_fn(FK_AREA_DIRECT + 0x2300) == (void *)a_function);
	dusk_kcopy_check_deferred("test");	/* claimed: no stop */
	CHECK(dusk_kcopy_claim_fn(FK_AREA_DIRECT + 0x2308) == NULL);
}

static void test_fnptr(void)
{
	uint64_t (*f)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);

	CHECK(__dusk_fnptr((void *)a_function) == (void *)a_function);
	CHECK(__dusk_fnptr((void *)__dusk_k_k_fill) == (void *)__dusk_k_k_fill);
	CHECK(__dusk_fnptr(NULL) == NULL);
	/* A kernel function the glue knows (resolved): its stub. */
	CHECK(__dusk_fnptr((void *)KF(KF_FILL)) == (void *)__dusk_k_k_fill);
	/* Any other kernel text: the trampoline calls it. */
	f = __dusk_fnptr((void *)KF(KF_PLAIN));
	CHECK(f != (void *)KF(KF_PLAIN));
	CHECK_EQ(f(40, 2, 0, 0, 0, 0), 42);
	CHECK_EQ(last_fn, KF(KF_PLAIN));
	/* ... translating what is plainly an address of ours. */
	f = __dusk_fnptr((void *)KF(KF_STRLEN));
	CHECK_EQ(f((uintptr_t)"four", 0, 0, 0, 0, 0), 4);
}

/* ---- netfilter ---- */

static int hook_calls;
static unsigned int hook_cpu_seen;
static void *hook_priv_seen, *hook_skb_seen;

static unsigned long *hook_pcpu_seen;

static unsigned int module_hook(void *priv, void *skb, const void *state)
{
	hook_calls++;
	hook_pcpu_seen = __dusk_this_cpu_ptr(&pcpu_hits);
	hook_priv_seen = priv;
	hook_skb_seen = skb;
	hook_cpu_seen = dusk_mod_cpu();
	dusk_stop(NULL);
	return NF_DROP;
}

/* struct nf_hook_ops of 6.1 (no records of it here: the default). */
static struct test_nf_ops {
	void *rcu[2];
	unsigned int (*hook)(void *, void *, const void *);
	void *dev;
	void *priv;
	uint8_t pf;
	uint8_t type;
	unsigned int hooknum;
	int priority;
} nf_ops = { { 0 }, module_hook, NULL, &a_global, NFPROTO_IPV4,
	     0, NF_INET_LOCAL_OUT, -5 }, nf_ops_netdev = { { 0 }, module_hook,
	     NULL, NULL, NFPROTO_NETDEV, 0, 0, 0 };
_Static_assert(sizeof(struct test_nf_ops) == 56, "struct nf_hook_ops of 6.1");

int __dusk_impl_nf_register_net_hook(void *net, const void *ops);
void __dusk_impl_nf_unregister_net_hook(void *net, const void *ops);
int __dusk_impl_nf_register_net_hooks(void *net, const void *reg,
				      unsigned int n);
void __dusk_impl_nf_unregister_net_hooks(void *net, const void *reg,
					 unsigned int n);

static void test_nf(void)
{
	struct test_nf_ops *kops;
	void *net = __dusk_gvar(__dusk_kv_init_net);
	unsigned int regs = fk.executed[DUSK_MSG_HOOK_REGISTER];

	dusk_set_log(quiet);
	CHECK_EQ(__dusk_impl_nf_register_net_hook(net, &nf_ops_netdev), -EOPNOTSUPP);
	dusk_set_log(NULL);
	CHECK_EQ(fk.executed[DUSK_MSG_HOOK_REGISTER], regs);
	/* A static ops, net as a placeholder (a static initializer's). */
	CHECK_EQ(__dusk_impl_nf_register_net_hook(__dusk_kv_init_net, &nf_ops), 0);
	CHECK_EQ(fk.executed[DUSK_MSG_HOOK_REGISTER], regs + 1);
	CHECK_EQ(dusk_nf_count(), 1);
	fk.hook_cpu = 1;
	fk_hook(&fk, 1001, fk.nr_hooks, FK_AREA_DIRECT + 0x3000,
		FK_AREA_DIRECT + 0x3100, NULL, 0);
	CHECK_EQ(dusk_run(s), 0);
	CHECK_EQ(hook_calls, 1);
	CHECK(hook_priv_seen == &a_global);
	CHECK_EQ((uintptr_t)hook_skb_seen, FK_AREA_DIRECT + 0x3000);
	CHECK_EQ(hook_cpu_seen, 1);
	/* The invocation's CPU's copy of a module per-CPU variable. */
	CHECK(hook_pcpu_seen == __dusk_check((void *)((uintptr_t)&pcpu_hits +
						      FK_PCPU_BASE + 0x1000), 8));
	CHECK_EQ(dusk_mod_cpu(), 0);	/* back outside the invocation */
	dusk_session_timers(s);
	dusk_session_poll(s, 50, -1);
	CHECK(fk.nr_verdicts >= 1 && fk.verdicts[fk.nr_verdicts - 1].verdict == NF_DROP);
	__dusk_impl_nf_unregister_net_hook(net, &nf_ops);
	CHECK_EQ(dusk_nf_count(), 0);
	CHECK_EQ(fk.executed[DUSK_MSG_HOOK_UNREGISTER], 1);

	/* A kmalloc()ed ops: the hook stored through __dusk_kptr is
	 * deferred, then claimed by the registration. */
	kops = __dusk_check_w((void *)(FK_AREA_DIRECT + 0x3800), sizeof(*kops));
	memset(kops, 0, sizeof(*kops));
	kops->hook = __dusk_kptr(&kops->hook, (void *)module_hook);
	kops->pf = NFPROTO_IPV4;
	kops->hooknum = NF_INET_PRE_ROUTING;
	CHECK_EQ((uintptr_t)kops->hook, KF(KF_RET0));
	CHECK_EQ(__dusk_impl_nf_register_net_hook(net, (void *)(FK_AREA_DIRECT + 0x3800)), 0);
	dusk_kcopy_check_deferred("test");	/* claimed */
	CHECK_EQ(dusk_nf_count(), 1);
	/* Unregistered by the same pointer, seen through the mirror. */
	__dusk_impl_nf_unregister_net_hook(net, kops);
	CHECK_EQ(dusk_nf_count(), 0);

	/* An array: all or nothing. */
	{
		struct test_nf_ops arr[3] = { nf_ops, nf_ops, nf_ops };

		regs = fk.executed[DUSK_MSG_HOOK_REGISTER];
		CHECK_EQ(__dusk_impl_nf_register_net_hooks(net, arr, 2), 0);
		CHECK_EQ(dusk_nf_count(), 2);
		__dusk_impl_nf_unregister_net_hooks(net, arr, 2);
		CHECK_EQ(dusk_nf_count(), 0);
		arr[2].pf = NFPROTO_NETDEV;
		dusk_set_log(quiet);
		CHECK_EQ(__dusk_impl_nf_register_net_hooks(net, arr, 3), -EOPNOTSUPP);
		dusk_set_log(NULL);
		CHECK_EQ(dusk_nf_count(), 0);	/* the first two undone */
		CHECK_EQ(fk.executed[DUSK_MSG_HOOK_REGISTER] - regs, 4);
	}
}

/* ---- a late packet ---- */

#define LATE_SKB	(FK_AREA_DIRECT + 0x5000)
#define LATE_STATE	(FK_AREA_DIRECT + 0x5100)

static struct {
	uint8_t read[8];	/* the skb's first bytes, as the hook read them */
	int call_err;		/* a kernel call given the skb */
	uint64_t call_ret;
	unsigned int calls_made;
	void *watch;		/* dusk_dbg_shadow(skb, DUSK_DBG_FIXED) */
	int watch_err, watch_why;
} late;

static int late_warnings;

static void count_warnings(enum dusk_log_level level, const char *fmt,
			   va_list ap)
{
	(void)fmt;
	(void)ap;
	if (level == DUSK_LOG_WARN)
		late_warnings++;
}

/* Goes on past its packet's hold (the program was stopped, or slow): it
 * writes the skb, reads it, and hands it to a kernel function. */
static unsigned int late_hook(void *priv, void *skb, const void *state)
{
	uint64_t arg = (uint64_t)(uintptr_t)skb;
	unsigned int before;
	uint8_t *w;

	(void)priv;
	(void)state;
	usleep(250 * 1000);	/* hold 300 ms: late from 200 ms on */
	w = __dusk_check_w(skb, 8);
	w[0] = 0x77;
	memcpy(late.read, __dusk_check(skb, 8), sizeof(late.read));
	/* Its bytes are a copy the invocation drops: nothing to watch. */
	late.watch = dusk_dbg_shadow((uintptr_t)skb, 8, DUSK_DBG_FIXED);
	late.watch_err = errno;
	late.watch_why = strstr(dusk_dbg_error, "a late packet's") != NULL;
	before = fk.executed[DUSK_MSG_CALL];
	late.call_err = dusk_kcall(s, KF(KF_PLAIN), &arg, 1, &late.call_ret);
	late.calls_made = fk.executed[DUSK_MSG_CALL] - before;
	dusk_stop(NULL);
	return NF_ACCEPT;
}

static struct test_nf_ops late_ops = { { 0 }, late_hook, NULL, NULL,
				       NFPROTO_IPV4, 0, NF_INET_PRE_ROUTING, 0 };

/*
 * mod_packet.c's promises for a hook still running when its packet may
 * have been released by policy: its changes to the packet are discarded
 * (no WRITE, a VERDICT without segments), its reads get the bytes its
 * HOOK carried (not what the memory holds now), a kernel call given the
 * packet is not made (-ESTALE), and one warning per packet says so.
 */
static void test_late_packet(void)
{
	void *net = __dusk_gvar(__dusk_kv_init_net);
	static const uint8_t carried[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct fk_range pre[] = { { LATE_SKB, 64 }, { LATE_STATE, 64 } };
	unsigned int writes = fk.executed[DUSK_MSG_WRITE];
	unsigned int hold = s->cfg.hold_ms;
	const struct fk_verdict *v;

	memcpy(fk_mem(&fk, LATE_SKB, 8), carried, sizeof(carried));
	CHECK_EQ(__dusk_impl_nf_register_net_hook(net, &late_ops), 0);
	s->cfg.hold_ms = 300;
	fk_hook(&fk, 2001, fk.nr_hooks, LATE_SKB, LATE_STATE, pre, 2);
	/* The kernel let it go and the memory is something else now. */
	memset(fk_mem(&fk, LATE_SKB, 8), 0xee, 8);
	late_warnings = 0;
	dusk_set_log(count_warnings);
	CHECK_EQ(dusk_run(s), 0);
	dusk_session_timers(s);
	dusk_session_poll(s, 50, -1);
	dusk_set_log(NULL);
	s->cfg.hold_ms = hold;

	/* The HOOK's bytes (its own write in the copy of them), not the
	 * memory's 0xee. */
	CHECK_EQ(late.read[0], 0x77);
	CHECK(!memcmp(late.read + 1, carried + 1, sizeof(carried) - 1));
	CHECK_EQ(late.call_err, -ESTALE);
	CHECK_EQ(late.calls_made, 0);
	CHECK(late.watch == NULL && late.watch_err == EADDRNOTAVAIL &&
	      late.watch_why);
	/* "packet 2001 has waited", "kernel call ... not made" */
	CHECK_EQ(late_warnings, 2);
	CHECK_EQ(fk.executed[DUSK_MSG_WRITE], writes);
	CHECK(fk.nr_verdicts >= 1);
	v = &fk.verdicts[fk.nr_verdicts - 1];
	CHECK_EQ(v->packet, 2001);
	CHECK_EQ(v->nr_segs, 0);
	CHECK(!memcmp(fk_mem(&fk, LATE_SKB, 8), "\xee\xee\xee\xee\xee\xee\xee\xee", 8));
	__dusk_impl_nf_unregister_net_hook(net, &late_ops);
}

/* What dusk.ko is asked to probe of a call's arguments: by prototype, and
 * NULL allowed by the table or by the pointee's type. */
static void test_probe_spec(void)
{
	static const uint8_t kinds[] = { DUSK_KARG_PTR, DUSK_KARG_PTR,
					 DUSK_KARG_INT, DUSK_KARG_PTR,
					 DUSK_KARG_PTR };
	static const char *const types[] = { "char", "struct_proc_dir_entry",
					     NULL, "struct_module", "void" };
	static const uint32_t probes[] = { DUSK_KPROBE_STR, 1, 0, 512, 0 };
	static const char *const tfm_types[] = { "void", "struct_crypto_tfm" };
	static const uint32_t tfm_probes[] = { 0, 64 };
	struct dusk_kfunc mkdir = { "proc_mkdir", 0, 5, 0, kinds, types, probes };
	struct dusk_kfunc other = { "in_aton", 0, 5, 0, kinds, types, probes };
	struct dusk_kfunc tfm = { "crypto_destroy_tfm", 0, 2, 0, kinds,
				  tfm_types, tfm_probes };
	struct dusk_kcall_probe p;
	char buf[64];

	dusk_probe_spec(&mkdir, 5, &p);
	CHECK_EQ(p.refused, -1);
	CHECK_EQ(p.spec[0].kind, DUSK_PROBE_STR);
	CHECK_EQ(le32toh(p.spec[0].size), DUSK_PROBE_STR_MAX);
	CHECK_EQ(p.spec[0].flags, 0);
	CHECK_EQ(p.spec[1].kind, DUSK_PROBE_SIZE);	/* the parent */
	CHECK_EQ(le32toh(p.spec[1].size), 1);
	CHECK_EQ(p.spec[1].flags, DUSK_PROBE_F_NULL_OK);
	CHECK_EQ(p.spec[2].kind, DUSK_PROBE_NONE);	/* an integer */
	CHECK_EQ(p.spec[3].kind, DUSK_PROBE_SIZE);	/* THIS_MODULE */
	CHECK_EQ(p.spec[3].flags, DUSK_PROBE_F_NULL_OK);
	CHECK_EQ(p.spec[4].kind, DUSK_PROBE_NONE);	/* void *: opaque */
	/* Another function: the same prototype, NULL refused. */
	dusk_probe_spec(&other, 5, &p);
	CHECK_EQ(p.spec[1].flags, 0);
	CHECK_EQ(p.spec[3].flags, DUSK_PROBE_F_NULL_OK);
	/* Fewer arguments passed than declared: the rest is none. */
	dusk_probe_spec(&other, 1, &p);
	CHECK_EQ(p.spec[1].kind, DUSK_PROBE_NONE);
	/* crypto_free_*()'s &NULL->base: not probed at all. */
	dusk_probe_spec(&tfm, 2, &p);
	CHECK_EQ(p.spec[1].kind, DUSK_PROBE_NONE);
	/* No record: nothing probed. */
	dusk_probe_spec(NULL, 6, &p);
	CHECK_EQ(p.spec[0].kind, DUSK_PROBE_NONE);
	CHECK(!strcmp(dusk_probe_describe(&mkdir, 0, buf, sizeof(buf)),
		      "argument 1 (const char *)"));
	CHECK(!strcmp(dusk_probe_describe(&mkdir, 1, buf, sizeof(buf)),
		      "argument 2 (struct proc_dir_entry *)"));
}

/* ---- file operations ---- */

static uint64_t fop_task_seen, fop_last_arg;
static int64_t fop_ua_ret;
static int fop_sig_seen = -1, fop_fatal_seen = -1;
static unsigned long fop_flags_before, fop_flags_after;
static uint64_t fop_signal_me;	/* the kernel sends SIGNAL mid-read */

static long fop_read(void *file, char *buf, size_t count, long long *ppos)
{
	uint64_t *cur = __dusk_this_cpu_ptr(__dusk_gvar(__dusk_kv_current_task));
	uint64_t v = 0;

	fop_task_seen = *cur;
	/* signal_pending(current), as the module reads it: the cached
	 * thread_info.flags of the caller's task. */
	fop_flags_before = *(volatile unsigned long *)__dusk_check(
		(void *)(uintptr_t)(*cur + DUSK_K_TASK__TI_FLAGS), 8);
	if (fop_signal_me) {
		/* Sent again (same id), and one for no invocation of ours. */
		fk_signal(&fk, fop_signal_me, 1, 0, 10);
		fk_signal(&fk, fop_signal_me, 1, 0, 10);
		fk_signal(&fk, 999, 1, 0, 10);
		fop_signal_me = 0;
	}
	/* copy_to_user, as mod_uaccess.c does it. */
	CHECK_EQ(dusk_uaccess(DUSK_UA_TO, (uintptr_t)buf, 3, "abc", NULL,
			      &fop_ua_ret, NULL), 0);
	/* A SIGNAL that came meanwhile (klib's view, as a sleep has it). */
	fop_flags_after = *(volatile unsigned long *)__dusk_check(
		(void *)(uintptr_t)(*cur + DUSK_K_TASK__TI_FLAGS), 8);
	fop_sig_seen = dusk_klib_host.signal_pending(0);
	fop_fatal_seen = dusk_klib_host.signal_pending(1);
	/* The __user buffer given on to a kernel function: as it is. */
	__dusk_k_k_peek((uintptr_t)buf + 1, 0, 0, 0, 0, 0);
	fop_last_arg = last_args[0];
	(void)v;
	(void)file;
	(void)ppos;
	dusk_stop(NULL);
	return (long)count * 2;
}

static void fop_mmap(void) {}

/* An int-returning open: its value goes back sign-extended, whatever the
 * upper half of %rax holds. */
static int fop_open(void *inode, void *file)
{
	(void)inode;
	(void)file;
	dusk_stop(NULL);
	return -ENODEV;
}

static struct test_fops {
	void *owner;
	void *llseek, *read, *mmap, *open;
} fops = { __dusk_kv___this_module, (void *)__dusk_k_k_plain,
	   (void *)fop_read, NULL, (void *)fop_open },
  fops_guess = { NULL, NULL, (void *)fop_read, NULL, NULL },
  fops_mmap = { NULL, NULL, (void *)fop_read, (void *)fop_mmap, NULL };

static struct test_fdev {
	struct test_fops *fops;
	const char *name;
} fdev = { &fops, "fdev" }, fdev_mmap = { &fops_mmap, "fdev_mmap" };

static void fdev_register_mmap(void)
{
	__dusk_k_k_fdev_register((uintptr_t)&fdev_mmap, 0, 0, 0, 0, 0);
}

static void test_fops(void)
{
	uint64_t args[6] = { FK_AREA_DIRECT + 0x5000, FK_UBASE + 32, 21,
			     FK_AREA_DIRECT + 0x5100, 0, 0 };
	void **slot = __dusk_check_w((void *)(FK_AREA_DIRECT + 0x2400), 8);
	unsigned int proxies = fk.nr_proxies, nslots = fk.nr_proxy_slots, i;
	uint64_t table, cookie = 0, cookie_open = 0, k;
	struct fk_inv *inv;
	int64_t ret;

	/* No uaccess outside a callback. */
	CHECK_EQ(dusk_uaccess(DUSK_UA_TO, FK_UBASE, 1, "x", NULL, &ret, NULL),
		 -ENOTCONN);
	CHECK(dusk_uaccess_max() > 32000);
	/* The kernel gets dusk.ko's table for &fops: read a user slot, llseek
	 * the kernel's function, owner left to dusk.ko. */
	table = __dusk_k_k_fdev_register((uintptr_t)&fdev, 0, 0, 0, 0, 0);
	CHECK_EQ(fk.nr_proxies, proxies + 1);
	CHECK_EQ(table, FK_AREA_DIRECT + 0xe000 + 0x100 * fk.nr_proxies);
	CHECK_EQ(fk.nr_proxy_slots - nslots, 3);
	for (i = nslots; i < fk.nr_proxy_slots; i++) {
		struct dusk_proxy_slot *ps = &fk.proxy_slots[i];

		if (le32toh(ps->off) == 8) {
			CHECK_EQ(le32toh(ps->kind), DUSK_SLOT_KERNEL);
			CHECK_EQ(le64toh(ps->value), KF(KF_PLAIN));
		} else if (le32toh(ps->off) == 32) {
			CHECK_EQ(le32toh(ps->kind), DUSK_SLOT_USER);
			cookie_open = le64toh(ps->value);
		} else {
			CHECK_EQ(le32toh(ps->off), 16);
			CHECK_EQ(le32toh(ps->kind), DUSK_SLOT_USER);
			cookie = le64toh(ps->value);
		}
	}
	/* The same object everywhere: a store gives the same table, and
	 * the table's address leads back to the user object. */
	CHECK_EQ((uintptr_t)__dusk_kptr(slot, &fops), table);
	CHECK(__dusk_check((void *)(uintptr_t)table, 8) == (void *)&fops);
	CHECK_EQ(fk.nr_proxies, proxies + 1);
	/* An untyped store of a file_operations-like static: one too. */
	k = (uintptr_t)__dusk_kptr(slot, &fops_guess);
	CHECK_EQ(fk.nr_proxies, proxies + 2);
	CHECK_EQ(k, FK_AREA_DIRECT + 0xe000 + 0x100 * fk.nr_proxies);
	/* A function dusk.ko has no proxy for: refused, named. */
	expect_fatal(fdev_register_mmap, "mmap of fops_mmap (fop_mmap): not supported at user level yet");

	/* A read(): the module's function, with current the caller. */
	memset(fk.umem, 0, sizeof(fk.umem));
	fk_invoke(&fk, 500, cookie, args, FK_AREA_DIRECT + 0x6000, 77, "cat",
		  NULL, 0);
	CHECK_EQ(dusk_run(s), 0);
	CHECK_EQ(fop_task_seen, FK_AREA_DIRECT + 0x6000);
	CHECK_EQ(fop_ua_ret, 0);
	CHECK(!memcmp(fk.umem + 32, "abc", 3));
	CHECK_EQ(fop_last_arg, FK_UBASE + 33);
	/* Outside it, current is the per-CPU read again. */
	CHECK(__dusk_this_cpu_ptr(__dusk_gvar(__dusk_kv_current_task)) !=
	      (void *)&fop_task_seen);
	inv = fk_inv_find(&fk, 500);
	CHECK(inv && inv->returned);
	CHECK_EQ(inv->ret, 42);
	CHECK_EQ(fop_sig_seen, 0);

	/* SIGNAL (twice: sent again) while a read runs, after it read its
	 * task's flags: signal_pending; one for an invocation the program
	 * does not know: ignored. */
	fk_invoke(&fk, 502, cookie, args, FK_AREA_DIRECT + 0x6000, 77, "cat",
		  NULL, 0);
	fop_signal_me = 502;
	CHECK_EQ(dusk_run(s), 0);
	CHECK_EQ(fop_sig_seen, 1);
	CHECK_EQ(fop_fatal_seen, 0);
	CHECK(fk_inv_find(&fk, 502)->returned);
	/* The cached flags the module reads say so too, as the kernel's. */
	CHECK(!(fop_flags_before & (1UL << DUSK_K_TIF_SIGPENDING)));
	CHECK(fop_flags_after & (1UL << DUSK_K_TIF_SIGPENDING));
	/* Killed (fatal SIGNAL): both. */
	fk_invoke(&fk, 503, cookie, args, FK_AREA_DIRECT + 0x6000, 77, "cat",
		  NULL, 0);
	fk_signal(&fk, 503, 1, 1, 9);
	CHECK_EQ(dusk_run(s), 0);
	CHECK_EQ(fop_sig_seen, 1);
	CHECK_EQ(fop_fatal_seen, 1);
	/* Outside an invocation: none. */
	CHECK_EQ(dusk_klib_host.signal_pending(0), 0);

	/* An open failing: -ENODEV as a 64-bit value. */
	fk_invoke(&fk, 501, cookie_open, args, FK_AREA_DIRECT + 0x6000, 77,
		  "cat", NULL, 0);
	CHECK_EQ(dusk_run(s), 0);
	inv = fk_inv_find(&fk, 501);
	CHECK(inv && inv->returned);
	CHECK_EQ(inv->ret, (uint64_t)(int64_t)-ENODEV);
}

int main(void)
{
	dusk_mod_klib_host();	/* as __dusk_main() does */
	test_types();
	test_layout_checks();
	test_image();
	test_params();
	dusk_percpu_snapshot();
	session_open();
	test_kvars();
	test_module_percpu();
	test_kvar_errors();
	test_calls();
	test_dbg_fixed();
	test_refusals();
	test_work_fn_kept();
	test_fn_proxies();
	test_kptr();
	test_fnptr();
	test_nf();
	test_late_packet();
	test_fops();
	test_probe_spec();
	dusk_session_close(s);
	fk_deinit(&fk);
	return check_done("test_modrt");
}
