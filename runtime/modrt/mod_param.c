// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * Module parameters: the module's struct kernel_param records (section
 * __param) set from "param=value" words exactly as insmod takes them:
 * joined with spaces, a value with spaces and no quotes quoted (as
 * busybox's insmod does: "name=a b" stays one parameter), then split by
 * the kernel's own rules (next_arg(): double quotes group, '-' and '_'
 * are alike in names, a bare name sets a boolean).
 *
 * libdusk defines the kernel's param_ops_* objects (as __dusk_impl_...,
 * to which dusk-cc renames the module's references) with set functions
 * that behave as the kernel's, so the module's own kernel_param_ops work
 * too: the runtime calls kp->ops->set, whichever ops it is. A parameter
 * whose ops libdusk does not define is a kernel object's placeholder: it
 * is reported when it is set.
 *
 * Layouts are the target kernel's (kconst.h, from its headers): struct
 * kernel_param, kparam_string and kparam_array read from the module's
 * objects, kernel_param_ops mirrored by struct dusk_kparam_ops. The
 * module's type records of them, where it has any, must agree.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kconst.h"
#include "klib_dyndbg.h"
#include "log.h"
#include "modrt.h"
#include "util.h"

#define DUSK_PARAM_FL_NOARG	DUSK_K_KERNEL_PARAM_OPS_FL_NOARG

/* The fields read from the module's objects, as these types: */
_Static_assert(DUSK_K_SIZEOF_KERNEL_PARAM__NAME == sizeof(void *) &&
	       DUSK_K_SIZEOF_KERNEL_PARAM__OPS == sizeof(void *) &&
	       DUSK_K_SIZEOF_KERNEL_PARAM__ARG == sizeof(void *) &&
	       DUSK_K_SIZEOF_KPARAM_STRING__MAXLEN == sizeof(uint32_t) &&
	       DUSK_K_SIZEOF_KPARAM_STRING__STRING == sizeof(void *) &&
	       DUSK_K_SIZEOF_KPARAM_ARRAY__MAX == sizeof(uint32_t) &&
	       DUSK_K_SIZEOF_KPARAM_ARRAY__ELEMSIZE == sizeof(uint32_t) &&
	       DUSK_K_SIZEOF_KPARAM_ARRAY__NUM == sizeof(void *) &&
	       DUSK_K_SIZEOF_KPARAM_ARRAY__OPS == sizeof(void *) &&
	       DUSK_K_SIZEOF_KPARAM_ARRAY__ELEM == sizeof(void *),
	       "the target kernel's kernel_param and kparam_* are not read as kconst.h says");
/* struct dusk_kparam_ops is the kernel's struct kernel_param_ops. */
_Static_assert(sizeof(struct dusk_kparam_ops) == DUSK_K_SIZEOF_KERNEL_PARAM_OPS &&
	       offsetof(struct dusk_kparam_ops, flags) == DUSK_K_KERNEL_PARAM_OPS__FLAGS &&
	       sizeof(((struct dusk_kparam_ops *)0)->flags) ==
	       DUSK_K_SIZEOF_KERNEL_PARAM_OPS__FLAGS &&
	       offsetof(struct dusk_kparam_ops, set) == DUSK_K_KERNEL_PARAM_OPS__SET &&
	       offsetof(struct dusk_kparam_ops, get) == DUSK_K_KERNEL_PARAM_OPS__GET &&
	       offsetof(struct dusk_kparam_ops, free) == DUSK_K_KERNEL_PARAM_OPS__FREE,
	       "struct dusk_kparam_ops is not the target kernel's kernel_param_ops");
#define DUSK_CHARP_MAX		1024

struct dusk_kp_layout {
	uint32_t size, name, ops, arg;
	uint32_t str_maxlen, str_string;
	uint32_t arr_max, arr_elemsize, arr_num, arr_ops, arr_elem;
};

static struct dusk_kp_layout dusk_kpl;
static int dusk_kpl_known;

static const struct dusk_kp_layout *dusk_kp_layout(void)
{
	const struct dusk_types *ty;
	const struct dusk_mtype *t;

	if (dusk_kpl_known)
		return &dusk_kpl;
	/* The target kernel's (kconst.h): the module's records must agree. */
	dusk_kpl = (struct dusk_kp_layout){
		.size = DUSK_K_SIZEOF_KERNEL_PARAM,
		.name = DUSK_K_KERNEL_PARAM__NAME,
		.ops = DUSK_K_KERNEL_PARAM__OPS,
		.arg = DUSK_K_KERNEL_PARAM__ARG,
		.str_maxlen = DUSK_K_KPARAM_STRING__MAXLEN,
		.str_string = DUSK_K_KPARAM_STRING__STRING,
		.arr_max = DUSK_K_KPARAM_ARRAY__MAX,
		.arr_elemsize = DUSK_K_KPARAM_ARRAY__ELEMSIZE,
		.arr_num = DUSK_K_KPARAM_ARRAY__NUM,
		.arr_ops = DUSK_K_KPARAM_ARRAY__OPS,
		.arr_elem = DUSK_K_KPARAM_ARRAY__ELEM,
	};
	ty = dusk_mod_types();
	t = dusk_types_type(ty, "struct_kernel_param");
	if (t) {
		dusk_mtype_layout_size(t, dusk_kpl.size);
		dusk_mtype_layout(t, "name", DUSK_K_SIZEOF_KERNEL_PARAM__NAME,
				  &dusk_kpl.name);
		dusk_mtype_layout(t, "ops", DUSK_K_SIZEOF_KERNEL_PARAM__OPS,
				  &dusk_kpl.ops);
		dusk_mtype_layout(t, "arg", DUSK_K_SIZEOF_KERNEL_PARAM__ARG,
				  &dusk_kpl.arg);
	}
	t = dusk_types_type(ty, "struct_kparam_string");
	if (t) {
		dusk_mtype_layout_size(t, DUSK_K_SIZEOF_KPARAM_STRING);
		dusk_mtype_layout(t, "maxlen", DUSK_K_SIZEOF_KPARAM_STRING__MAXLEN,
				  &dusk_kpl.str_maxlen);
		dusk_mtype_layout(t, "string", DUSK_K_SIZEOF_KPARAM_STRING__STRING,
				  &dusk_kpl.str_string);
	}
	t = dusk_types_type(ty, "struct_kparam_array");
	if (t) {
		dusk_mtype_layout_size(t, DUSK_K_SIZEOF_KPARAM_ARRAY);
		dusk_mtype_layout(t, "max", DUSK_K_SIZEOF_KPARAM_ARRAY__MAX,
				  &dusk_kpl.arr_max);
		dusk_mtype_layout(t, "elemsize",
				  DUSK_K_SIZEOF_KPARAM_ARRAY__ELEMSIZE,
				  &dusk_kpl.arr_elemsize);
		dusk_mtype_layout(t, "num", DUSK_K_SIZEOF_KPARAM_ARRAY__NUM,
				  &dusk_kpl.arr_num);
		dusk_mtype_layout(t, "ops", DUSK_K_SIZEOF_KPARAM_ARRAY__OPS,
				  &dusk_kpl.arr_ops);
		dusk_mtype_layout(t, "elem", DUSK_K_SIZEOF_KPARAM_ARRAY__ELEM,
				  &dusk_kpl.arr_elem);
	}
	dusk_kpl_known = 1;
	return &dusk_kpl;
}

static void *dusk_kp_ptr(const void *base, uint32_t off)
{
	void *p;

	memcpy(&p, (const char *)base + off, sizeof(p));
	return p;
}

static uint32_t dusk_kp_u32(const void *base, uint32_t off)
{
	uint32_t v;

	memcpy(&v, (const char *)base + off, sizeof(v));
	return v;
}

static void *dusk_kp_arg(const void *kp)
{
	return dusk_kp_ptr(kp, dusk_kp_layout()->arg);
}

/* ---- the kernel's kstrto* rules (lib/kstrtox.c) ---- */

/* Base 0: 0x -> 16, 0 -> 8, else 10. No leading space; '+' allowed; one
 * trailing newline allowed. -EINVAL, -ERANGE. */
static int dusk_kstrtoull(const char *s, unsigned long long *ret)
{
	unsigned long long v = 0;
	unsigned int base = 10, d;
	int any = 0;

	if (!s)
		return -EINVAL;
	if (*s == '+')
		s++;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && isxdigit((unsigned char)s[2])) {
		base = 16;
		s += 2;
	} else if (s[0] == '0') {
		base = 8;
	}
	for (; *s; s++) {
		if (*s >= '0' && *s <= '9')
			d = (unsigned int)(*s - '0');
		else if (*s >= 'a' && *s <= 'f')
			d = (unsigned int)(*s - 'a' + 10);
		else if (*s >= 'A' && *s <= 'F')
			d = (unsigned int)(*s - 'A' + 10);
		else
			break;
		if (d >= base)
			break;
		if (v > (ULLONG_MAX - d) / base)
			return -ERANGE;
		v = v * base + d;
		any = 1;
	}
	if (!any)
		return -EINVAL;
	if (*s == '\n')
		s++;
	if (*s)
		return -EINVAL;
	*ret = v;
	return 0;
}

static int dusk_kstrtoll(const char *s, long long *ret)
{
	unsigned long long v;
	int err;

	if (s && *s == '-') {
		err = dusk_kstrtoull(s + 1, &v);
		if (err)
			return err;
		if (v > (unsigned long long)LLONG_MAX + 1)
			return -ERANGE;
		*ret = (long long)(0 - v);
		return 0;
	}
	err = dusk_kstrtoull(s, &v);
	if (err)
		return err;
	if (v > LLONG_MAX)
		return -ERANGE;
	*ret = (long long)v;
	return 0;
}

static int dusk_kstrtobool(const char *s, bool *ret)
{
	if (!s)
		return -EINVAL;
	switch (s[0]) {
	case 'y': case 'Y': case 't': case 'T': case '1':
		*ret = true;
		return 0;
	case 'n': case 'N': case 'f': case 'F': case '0':
		*ret = false;
		return 0;
	case 'o': case 'O':
		if (s[1] == 'n' || s[1] == 'N') {
			*ret = true;
			return 0;
		}
		if (s[1] == 'f' || s[1] == 'F') {
			*ret = false;
			return 0;
		}
		break;
	default:
		break;
	}
	return -EINVAL;
}

/* ---- param_set_* and param_ops_* ---- */

#define DUSK_PARAM_SIGNED(name, type, min, max)				\
DUSK_EXPORT int __dusk_impl_param_set_##name(const char *val, const void *kp) \
{									\
	long long v;							\
	int err = dusk_kstrtoll(val, &v);				\
									\
	if (err)							\
		return err;						\
	if (v < (min) || v > (max))					\
		return -ERANGE;						\
	*(type *)dusk_kp_arg(kp) = (type)v;				\
	return 0;							\
}

#define DUSK_PARAM_UNSIGNED(name, type, max)				\
DUSK_EXPORT int __dusk_impl_param_set_##name(const char *val, const void *kp) \
{									\
	unsigned long long v;						\
	int err = dusk_kstrtoull(val, &v);				\
									\
	if (err)							\
		return err;						\
	if (v > (max))							\
		return -ERANGE;						\
	*(type *)dusk_kp_arg(kp) = (type)v;				\
	return 0;							\
}

DUSK_PARAM_UNSIGNED(byte, unsigned char, UCHAR_MAX)
DUSK_PARAM_SIGNED(short, short, SHRT_MIN, SHRT_MAX)
DUSK_PARAM_UNSIGNED(ushort, unsigned short, USHRT_MAX)
DUSK_PARAM_SIGNED(int, int, INT_MIN, INT_MAX)
DUSK_PARAM_UNSIGNED(uint, unsigned int, UINT_MAX)
DUSK_PARAM_SIGNED(long, long, LONG_MIN, LONG_MAX)
DUSK_PARAM_UNSIGNED(ulong, unsigned long, ULONG_MAX)
DUSK_PARAM_UNSIGNED(ullong, unsigned long long, ULLONG_MAX)
DUSK_PARAM_UNSIGNED(hexint, unsigned int, UINT_MAX)

DUSK_EXPORT int __dusk_impl_param_set_charp(const char *val, const void *kp)
{
	char *copy;

	if (!val)
		return -EINVAL;
	if (strlen(val) > DUSK_CHARP_MAX)
		return -ENOSPC;
	/* The old value may be a literal: never freed (as the kernel keeps
	 * track of what it allocated, we just let it be). */
	copy = strdup(val);
	if (!copy)
		return -ENOMEM;
	*(char **)dusk_kp_arg(kp) = copy;
	return 0;
}

DUSK_EXPORT int __dusk_impl_param_set_bool(const char *val, const void *kp)
{
	/* No value means "set". */
	return dusk_kstrtobool(val ? val : "1", (bool *)dusk_kp_arg(kp));
}

DUSK_EXPORT int __dusk_impl_param_set_bool_enable_only(const char *val,
							const void *kp)
{
	bool *arg = dusk_kp_arg(kp), v;
	int err = dusk_kstrtobool(val ? val : "1", &v);

	if (err)
		return err;
	if (!v && *arg)
		return -EROFS;	/* once set, it stays set */
	*arg = v;
	return 0;
}

DUSK_EXPORT int __dusk_impl_param_set_invbool(const char *val, const void *kp)
{
	bool v;
	int err = dusk_kstrtobool(val ? val : "1", &v);

	if (!err)
		*(bool *)dusk_kp_arg(kp) = !v;
	return err;
}

DUSK_EXPORT int __dusk_impl_param_set_bint(const char *val, const void *kp)
{
	bool v;
	int err = dusk_kstrtobool(val ? val : "1", &v);

	if (!err)
		*(int *)dusk_kp_arg(kp) = v;
	return err;
}

DUSK_EXPORT int __dusk_impl_param_set_copystring(const char *val,
						 const void *kp)
{
	const struct dusk_kp_layout *l = dusk_kp_layout();
	const void *kps = dusk_kp_arg(kp);
	uint32_t maxlen = dusk_kp_u32(kps, l->str_maxlen);
	char *dst = dusk_kp_ptr(kps, l->str_string);

	if (!val)
		return -EINVAL;
	if (strlen(val) + 1 > maxlen)
		return -ENOSPC;
	strcpy(dst, val);
	return 0;
}

#define DUSK_PARAM_OPS(name, fl, setfn)				\
DUSK_EXPORT const struct dusk_kparam_ops __dusk_impl_param_ops_##name = {	\
	.flags = (fl),							\
	.set = setfn,							\
}

DUSK_PARAM_OPS(byte, 0, __dusk_impl_param_set_byte);
DUSK_PARAM_OPS(short, 0, __dusk_impl_param_set_short);
DUSK_PARAM_OPS(ushort, 0, __dusk_impl_param_set_ushort);
DUSK_PARAM_OPS(int, 0, __dusk_impl_param_set_int);
DUSK_PARAM_OPS(uint, 0, __dusk_impl_param_set_uint);
DUSK_PARAM_OPS(long, 0, __dusk_impl_param_set_long);
DUSK_PARAM_OPS(ulong, 0, __dusk_impl_param_set_ulong);
DUSK_PARAM_OPS(ullong, 0, __dusk_impl_param_set_ullong);
DUSK_PARAM_OPS(hexint, 0, __dusk_impl_param_set_hexint);
DUSK_PARAM_OPS(charp, 0, __dusk_impl_param_set_charp);
DUSK_PARAM_OPS(bool, DUSK_PARAM_FL_NOARG, __dusk_impl_param_set_bool);
DUSK_PARAM_OPS(bool_enable_only, DUSK_PARAM_FL_NOARG,
	       __dusk_impl_param_set_bool_enable_only);
DUSK_PARAM_OPS(invbool, DUSK_PARAM_FL_NOARG, __dusk_impl_param_set_invbool);
DUSK_PARAM_OPS(bint, DUSK_PARAM_FL_NOARG, __dusk_impl_param_set_bint);
DUSK_PARAM_OPS(string, 0, __dusk_impl_param_set_copystring);

static int dusk_param_array_set(const char *val, const void *kp);

DUSK_EXPORT const struct dusk_kparam_ops __dusk_impl_param_array_ops = {
	.set = dusk_param_array_set,
};

/* The element ops of an array parameter; NULL if it is not one of ours
 * nor the module's own (a kernel object's placeholder). */
static const struct dusk_kparam_ops *dusk_ops_usable(const void *ops)
{
	enum dusk_mem_class cls = dusk_mem_class((uintptr_t)ops);

	if (!ops || cls == DUSK_MEM_KDATA || cls == DUSK_MEM_KERNEL ||
	    cls == DUSK_MEM_MIRROR)
		return NULL;
	return ops;
}

/* lib/params.c param_array(): comma-separated values, each set with the
 * element's ops on a kernel_param whose arg is the element. */
static int dusk_param_array_set(const char *val, const void *kp)
{
	const struct dusk_kp_layout *l = dusk_kp_layout();
	const void *arr = dusk_kp_arg(kp);
	uint32_t max = dusk_kp_u32(arr, l->arr_max);
	uint32_t elemsize = dusk_kp_u32(arr, l->arr_elemsize);
	unsigned int *num = dusk_kp_ptr(arr, l->arr_num), count = 0;
	const struct dusk_kparam_ops *ops = dusk_ops_usable(dusk_kp_ptr(arr, l->arr_ops));
	char *elem = dusk_kp_ptr(arr, l->arr_elem);
	char *copy, *p, *comma;
	unsigned char ekp[256];
	int err = 0;

	if (!val)
		return -EINVAL;
	if (!ops || !ops->set || l->size > sizeof(ekp))
		return -EOPNOTSUPP;
	copy = strdup(val);
	if (!copy)
		return -ENOMEM;
	memcpy(ekp, kp, l->size);
	for (p = copy;; p = comma + 1) {
		void *arg;

		if (count == max) {
			err = -EINVAL;	/* "can only take max arguments" */
			break;
		}
		comma = strchr(p, ',');
		if (comma)
			*comma = '\0';
		arg = elem + (size_t)elemsize * count;
		memcpy(ekp + l->arg, &arg, sizeof(arg));
		err = ops->set(p, ekp);
		if (err)
			break;
		count++;
		if (!comma)
			break;
	}
	free(copy);
	if (!err && num)
		*num = count;
	return err;
}

/* ---- parsing ---- */

/* The words joined with spaces, as insmod joins them; a word with a space
 * and no quotes of its own gets its value quoted (as busybox's insmod
 * does), so that "name=a b" stays one parameter and 'name="a b"' is
 * what it is to the kernel. */
static char *dusk_params_join(int argc, char **argv)
{
	size_t len = 1;
	char *s, *p;
	int i;

	for (i = 0; i < argc; i++)
		len += strlen(argv[i]) + 3;
	s = malloc(len);
	if (!s)
		return NULL;
	p = s;
	for (i = 0; i < argc; i++) {
		const char *a = argv[i], *eq = strchr(a, '=');

		if (i)
			*p++ = ' ';
		if (!strchr(a, ' ') || strchr(a, '"')) {
			p = stpcpy(p, a);
		} else if (eq) {
			memcpy(p, a, (size_t)(eq - a + 1));
			p += eq - a + 1;
			p += sprintf(p, "\"%s\"", eq + 1);
		} else {
			p += sprintf(p, "\"%s\"", a);
		}
	}
	*p = '\0';
	return s;
}

/* lib/cmdline.c next_arg(), as the kernel splits a module's arguments. */
static char *dusk_next_arg(char *args, char **param, char **val)
{
	unsigned int i, equals = 0;
	int in_quote = 0, quoted = 0;

	if (*args == '"') {
		args++;
		in_quote = 1;
		quoted = 1;
	}
	for (i = 0; args[i]; i++) {
		if (isspace((unsigned char)args[i]) && !in_quote)
			break;
		if (equals == 0 && args[i] == '=')
			equals = i;
		if (args[i] == '"')
			in_quote = !in_quote;
	}
	*param = args;
	if (!equals) {
		*val = NULL;
	} else {
		args[equals] = '\0';
		*val = args + equals + 1;
		if (**val == '"') {
			(*val)++;
			if (args[i - 1] == '"')
				args[i - 1] = '\0';
		}
	}
	if (quoted && i > 0 && args[i - 1] == '"')
		args[i - 1] = '\0';
	if (args[i]) {
		args[i] = '\0';
		args += i + 1;
	} else {
		args += i;
	}
	while (isspace((unsigned char)*args))
		args++;
	return args;
}

/* '-' and '_' are the same in parameter names. */
static int dusk_parameq(const char *a, const char *b)
{
	for (; *a || *b; a++, b++) {
		char x = *a == '-' ? '_' : *a, y = *b == '-' ? '_' : *b;

		if (x != y)
			return 0;
	}
	return 1;
}

static const char *dusk_kp_name(const void *kp)
{
	const char *name = dusk_kp_ptr(kp, dusk_kp_layout()->name);

	return name ? name : "";
}

static const char *dusk_ops_name(const void *ops, char *buf, size_t len)
{
	const struct dusk_kvar *kv = dusk_kvar_of((uintptr_t)ops, NULL);
	const struct dusk_msym *sym;

	if (kv)
		return kv->name;
	sym = dusk_image_object((uintptr_t)ops);
	if (sym) {
		const char *n = sym->name;

		if (!strncmp(n, "__dusk_impl_", 12))
			n += 12;
		snprintf(buf, len, "%s", n);
		return buf;
	}
	snprintf(buf, len, "%p", ops);
	return buf;
}

static int dusk_param_set(void *kp, const char *name, const char *val,
			  char *err_msg, size_t err_len)
{
	const struct dusk_kparam_ops *ops =
		dusk_ops_usable(dusk_kp_ptr(kp, dusk_kp_layout()->ops));
	char obuf[96];
	int err;

	if (!ops || !ops->set) {
		snprintf(err_msg, err_len,
			 "parameter '%s': its kind (%s) cannot be set at user level",
			 name, dusk_ops_name(dusk_kp_ptr(kp, dusk_kp_layout()->ops),
					     obuf, sizeof(obuf)));
		return -EOPNOTSUPP;
	}
	if (!val && !(ops->flags & DUSK_PARAM_FL_NOARG)) {
		snprintf(err_msg, err_len, "parameter '%s' needs a value ('%s=VALUE')",
			 name, name);
		return -EINVAL;
	}
	err = ops->set(val, kp);
	if (err == -ENOSPC)
		snprintf(err_msg, err_len, "'%s' too large for parameter '%s'",
			 val ? val : "", name);
	else if (err == -EOPNOTSUPP)
		snprintf(err_msg, err_len,
			 "parameter '%s': an array of a kind that cannot be set at user level",
			 name);
	else if (err)
		snprintf(err_msg, err_len, "'%s' invalid for parameter '%s'",
			 val ? val : "", name);
	return err;
}

int dusk_params_apply(void *start, void *end, int argc, char **argv,
		      char *err_msg, size_t err_len)
{
	const struct dusk_kp_layout *l = dusk_kp_layout();
	char *args, *rest, *param, *val;
	char *p;
	int err = 0;

	err_msg[0] = '\0';
	if (argc <= 0)
		return 0;
	args = dusk_params_join(argc, argv);
	if (!args) {
		snprintf(err_msg, err_len, "out of memory");
		return -ENOMEM;
	}
	rest = args;
	while (isspace((unsigned char)*rest))
		rest++;
	while (*rest && !err) {
		int found = 0;

		rest = dusk_next_arg(rest, &param, &val);
		for (p = start; p && p + l->size <= (char *)end; p += l->size) {
			if (!dusk_parameq(param, dusk_kp_name(p)))
				continue;
			found = 1;
			err = dusk_param_set(p, param, val, err_msg, err_len);
			break;
		}
		/* what the kernel's loader gives dynamic debug */
		if (!found && !dusk_dyndbg_param(param, val))
			found = 1;
		if (!found) {
			snprintf(err_msg, err_len, "unknown parameter '%s'", param);
			err = -ENOENT;
		}
	}
	free(args);
	return err;
}

/* "parm=NAME:..." / "parmtype=NAME:..." in .modinfo. */
static const char *dusk_modinfo_for(const char *key, const char *name,
				    size_t *ret_len)
{
	size_t len, klen = strlen(key), nlen = strlen(name);
	const char *mi = dusk_image_modinfo(&len), *p, *stop;

	if (!mi)
		return NULL;
	for (p = mi, stop = mi + len; p < stop; p += strnlen(p, (size_t)(stop - p)) + 1) {
		size_t n = strnlen(p, (size_t)(stop - p));

		if (n > klen + nlen + 1 && !strncmp(p, key, klen) &&
		    p[klen] == '=' && !strncmp(p + klen + 1, name, nlen) &&
		    p[klen + 1 + nlen] == ':') {
			*ret_len = n - klen - nlen - 2;
			return p + klen + nlen + 2;
		}
	}
	return NULL;
}

void dusk_params_describe(void *start, void *end, char *buf, size_t len)
{
	const struct dusk_kp_layout *l = dusk_kp_layout();
	size_t used = 0, tl, dl;
	const char *type, *desc;
	char *p;
	int n;

	buf[0] = '\0';
	for (p = start; p && p + l->size <= (char *)end && used < len; p += l->size) {
		const char *name = dusk_kp_name(p);

		type = dusk_modinfo_for("parmtype", name, &tl);
		desc = dusk_modinfo_for("parm", name, &dl);
		n = snprintf(buf + used, len - used, "  %s=%.*s%s%.*s\n", name,
			     type ? (int)tl : 5, type ? type : "VALUE",
			     desc ? "\t" : "", desc ? (int)dl : 0,
			     desc ? desc : "");
		if (n < 0)
			break;
		used += (size_t)n;
	}
}
