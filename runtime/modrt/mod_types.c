// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * The plugin's type records (dusk_module.h, section dusk_types), parsed
 * into tables by name. Every object of the program contributes its own
 * records, so names repeat: the first of a name counts, and a field is
 * added to its type once.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kconst.h"
#include "log.h"
#include "modrt.h"
#include "util.h"

/* A name -> object table: open addressing, power-of-two slots. */
struct dusk_ntab {
	void **v;
	const char *(*name_of)(const void *);
	uint32_t n, mask;
};

struct dusk_types {
	char *text;			/* the records, tokens NUL-terminated */
	struct dusk_ntab types, funcs, vars;
	struct dusk_types_stats stats;
};

static uint64_t dusk_name_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 0x100000001b3ULL;
	return h;
}

static void **dusk_ntab_slot(const struct dusk_ntab *t, const char *name)
{
	uint32_t i;

	if (!t->v)
		return NULL;
	for (i = (uint32_t)dusk_name_hash(name) & t->mask;;
	     i = (i + 1) & t->mask) {
		if (!t->v[i] || !strcmp(t->name_of(t->v[i]), name))
			return &t->v[i];
	}
}

static void *dusk_ntab_get(const struct dusk_ntab *t, const char *name)
{
	void **slot = dusk_ntab_slot(t, name);

	return slot ? *slot : NULL;
}

static int dusk_ntab_put(struct dusk_ntab *t, void *obj)
{
	void **slot;

	if ((t->n + 1) * 2 > t->mask + 1 || !t->v) {
		uint32_t slots = t->v ? 2 * (t->mask + 1) : 64, i;
		void **old = t->v;
		uint32_t old_slots = t->v ? t->mask + 1 : 0;

		t->v = calloc(slots, sizeof(*t->v));
		if (!t->v) {
			t->v = old;
			return -ENOMEM;
		}
		t->mask = slots - 1;
		for (i = 0; i < old_slots; i++)
			if (old[i])
				*dusk_ntab_slot(t, t->name_of(old[i])) = old[i];
		free(old);
	}
	slot = dusk_ntab_slot(t, t->name_of(obj));
	*slot = obj;
	t->n++;
	return 0;
}

static const char *dusk_mtype_name(const void *p)
{
	return ((const struct dusk_mtype *)p)->name;
}

static const char *dusk_mfunc_name(const void *p)
{
	return ((const struct dusk_mfunc *)p)->name;
}

static const char *dusk_mvar_name(const void *p)
{
	return ((const struct dusk_mvar *)p)->name;
}

/* Split rec at spaces, in place: up to max tokens; returns how many. */
static unsigned int dusk_tokens(char *rec, char **tok, unsigned int max)
{
	unsigned int n = 0;
	char *p = rec;

	while (*p && n < max) {
		tok[n++] = p;
		p = strchr(p, ' ');
		if (!p)
			break;
		*p++ = '\0';
	}
	return n;
}

/*
 * The plugin names C's base types as GCC does, with spaces ("long int",
 * "long unsigned int", "unsigned char"), which split a record's fields.
 * A base-type word after a word that never ends such a name ("long",
 * "short", "unsigned", "signed") continues the previous field: glue them
 * back. ("ptr:char int" stays two fields: "char" ends a name.)
 */
static int dusk_word_in(const char *w, const char *const *set)
{
	for (; *set; set++)
		if (!strcmp(w, *set))
			return 1;
	return 0;
}

static unsigned int dusk_tokens_join(char **tok, unsigned int n)
{
	static const char *const base[] = {
		"int", "long", "short", "unsigned", "signed", "char", NULL,
	};
	static const char *const open[] = {
		"long", "short", "unsigned", "signed", NULL,
	};
	unsigned int i, out = 1;

	if (!n)
		return 0;
	for (i = 1; i < n; i++) {
		const char *prev = tok[out - 1], *last = strrchr(prev, ' ');

		last = last ? last + 1 : strchr(prev, ':') ? strchr(prev, ':') + 1 :
		       prev;
		if (dusk_word_in(tok[i], base) && dusk_word_in(last, open)) {
			tok[i][-1] = ' ';	/* the separator dusk_tokens cut */
			continue;
		}
		tok[out++] = tok[i];
	}
	return out;
}

static int dusk_num(const char *s, uint64_t *ret)
{
	char *end;

	if (!*s || *s == '-')
		return -EINVAL;
	errno = 0;
	*ret = strtoull(s, &end, 10);
	return errno || *end ? -EINVAL : 0;
}

static struct dusk_mtype *dusk_type_get(struct dusk_types *t, const char *name,
					int *err)
{
	struct dusk_mtype *ty = dusk_ntab_get(&t->types, name);

	if (ty)
		return ty;
	ty = calloc(1, sizeof(*ty));
	if (ty)
		ty->name = name;
	if (!ty || dusk_ntab_put(&t->types, ty)) {
		free(ty);
		*err = -ENOMEM;
		return NULL;
	}
	t->stats.types++;
	return ty;
}

static int dusk_kind_parse(const char *s, struct dusk_marg *a)
{
	uint64_t n;

	memset(a, 0, sizeof(*a));
	if (!strcmp(s, "void"))
		a->kind = DUSK_MK_VOID;
	else if (!strcmp(s, "int"))
		a->kind = DUSK_MK_INT;
	else if (!strcmp(s, "fn"))
		a->kind = DUSK_MK_FN;
	else if (!strncmp(s, "ptr:", 4) && s[4]) {
		a->kind = DUSK_MK_PTR;
		a->target = s + 4;
	} else if (!strncmp(s, "agg:", 4) && !dusk_num(s + 4, &n)) {
		a->kind = DUSK_MK_AGG;
		a->size = n;
	} else {
		return -EINVAL;
	}
	return 0;
}

static int dusk_field_kind(const char *s, enum dusk_mfield_kind *ret)
{
	static const char *const names[] = {
		[DUSK_MF_INT] = "int", [DUSK_MF_PTR] = "ptr",
		[DUSK_MF_FN] = "fn", [DUSK_MF_AGG] = "agg",
		[DUSK_MF_ARR] = "arr", [DUSK_MF_BITS] = "bits",
	};
	unsigned int i;

	for (i = 0; i < DUSK_ARRAY_SIZE(names); i++) {
		if (!strcmp(s, names[i])) {
			*ret = (enum dusk_mfield_kind)i;
			return 0;
		}
	}
	return -EINVAL;
}

static int dusk_field_add(struct dusk_mtype *ty, const struct dusk_mfield *f)
{
	struct dusk_mfield *v;
	uint32_t i;

	for (i = 0; i < ty->nr_fields; i++)
		if (!strcmp(ty->fields[i].name, f->name))
			return 1;	/* repeated by another object */
	if (ty->nr_fields == ty->cap_fields) {
		uint32_t cap = ty->cap_fields ? 2 * ty->cap_fields : 8;

		v = realloc(ty->fields, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		ty->fields = v;
		ty->cap_fields = cap;
	}
	/* Keep them by offset (stable: a union's members in record order). */
	for (i = ty->nr_fields; i > 0 && ty->fields[i - 1].off > f->off; i--)
		ty->fields[i] = ty->fields[i - 1];
	ty->fields[i] = *f;
	ty->nr_fields++;
	return 0;
}

/* One record; -EINVAL when it is malformed, 1 when it repeats a name. */
static int dusk_record(struct dusk_types *t, char *rec)
{
	char *tok[4 + 6 + 64];
	unsigned int n = dusk_tokens_join(tok, dusk_tokens(rec, tok,
							    DUSK_ARRAY_SIZE(tok)));
	struct dusk_mtype *ty;
	uint64_t a, b;
	int err = 0;

	if (!n)
		return -EINVAL;
	if (!strcmp(tok[0], "type")) {
		if (n != 3 || dusk_num(tok[2], &a))
			return -EINVAL;
		ty = dusk_type_get(t, tok[1], &err);
		if (!ty)
			return err;
		if (ty->sized)
			return 1;
		ty->size = a;
		ty->sized = 1;
		return 0;
	}
	if (!strcmp(tok[0], "field")) {
		struct dusk_mfield f = { 0 };

		if ((n != 6 && n != 7) || dusk_num(tok[3], &a) ||
		    dusk_num(tok[4], &b) || a > UINT32_MAX || b > UINT32_MAX ||
		    dusk_field_kind(tok[5], &f.kind))
			return -EINVAL;
		f.name = tok[2];
		f.off = (uint32_t)a;
		f.size = (uint32_t)b;
		f.target = n == 7 && strcmp(tok[6], "-") ? tok[6] : NULL;
		ty = dusk_type_get(t, tok[1], &err);
		if (!ty)
			return err;
		err = dusk_field_add(ty, &f);
		if (!err)
			t->stats.fields++;
		return err;
	}
	if (!strcmp(tok[0], "func")) {
		struct dusk_mfunc *fn;
		unsigned int i;

		/* a printf format's argument numbers may follow, after the
		 * probes of the arguments: dusk-cc's (the glue has them) */
		if (n > 5 && !strncmp(tok[n - 1], "printf:", 7))
			n--;
		if (n > 5 && !strncmp(tok[n - 1], "probe:", 6))
			n--;
		if (n < 5 || dusk_num(tok[3], &a) || dusk_num(tok[4], &b) ||
		    b > 1 || a != n - 5)
			return -EINVAL;
		if (dusk_ntab_get(&t->funcs, tok[1]))
			return 1;
		fn = calloc(1, sizeof(*fn));
		if (!fn)
			return -ENOMEM;
		fn->args = calloc(a ? a : 1, sizeof(*fn->args));
		if (!fn->args) {
			free(fn);
			return -ENOMEM;
		}
		fn->name = tok[1];
		fn->nargs = (uint32_t)a;
		fn->variadic = (int)b;
		err = dusk_kind_parse(tok[2], &fn->ret);
		for (i = 0; !err && i < fn->nargs; i++) {
			err = dusk_kind_parse(tok[5 + i], &fn->args[i]);
			if (!err && fn->args[i].kind == DUSK_MK_VOID)
				err = -EINVAL;
		}
		if (!err)
			err = dusk_ntab_put(&t->funcs, fn);
		if (err) {
			free(fn->args);
			free(fn);
			return err;
		}
		t->stats.funcs++;
		return 0;
	}
	if (!strcmp(tok[0], "var")) {
		struct dusk_mvar *v;

		if (n != 3 || dusk_num(tok[2], &a))
			return -EINVAL;
		if (dusk_ntab_get(&t->vars, tok[1]))
			return 1;
		v = calloc(1, sizeof(*v));
		if (!v)
			return -ENOMEM;
		v->name = tok[1];
		v->size = a;
		if (dusk_ntab_put(&t->vars, v)) {
			free(v);
			return -ENOMEM;
		}
		t->stats.vars++;
		return 0;
	}
	/* where a variadic kernel function is called: dusk-cc's */
	if (!strcmp(tok[0], "vcall") && n >= 5)
		return 0;
	return -EINVAL;
}

int dusk_types_create(const char *start, const char *end,
		      struct dusk_types **ret)
{
	size_t len = start && end > start ? (size_t)(end - start) : 0;
	struct dusk_types *t;
	char *p, *stop, *next;
	int err;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->types.name_of = dusk_mtype_name;
	t->funcs.name_of = dusk_mfunc_name;
	t->vars.name_of = dusk_mvar_name;
	t->text = malloc(len + 1);
	if (!t->text) {
		free(t);
		return -ENOMEM;
	}
	if (len)
		memcpy(t->text, start, len);
	t->text[len] = '\0';	/* a last record without its NUL */
	stop = t->text + len;
	for (p = t->text; p < stop; p = next) {
		/* Parsing splits the record in place: find the next first. */
		next = p + strlen(p) + 1;
		if (!*p)
			continue;	/* padding between objects' sections */
		t->stats.records++;
		err = dusk_record(t, p);
		if (err == 1) {
			t->stats.duplicates++;
		} else if (err == -ENOMEM) {
			dusk_types_destroy(t);
			return err;
		} else if (err) {
			if (!t->stats.malformed) {
				char *q;

				for (q = p; q < next - 1; q++)	/* as it was */
					if (!*q)
						*q = ' ';
				dusk_warn("malformed type record \"%s\" ignored", p);
			}
			t->stats.malformed++;
		}
	}
	*ret = t;
	return 0;
}

void dusk_types_destroy(struct dusk_types *t)
{
	uint32_t i;

	if (!t)
		return;
	for (i = 0; t->types.v && i <= t->types.mask; i++) {
		struct dusk_mtype *ty = t->types.v[i];

		if (ty) {
			free(ty->fields);
			free(ty);
		}
	}
	for (i = 0; t->funcs.v && i <= t->funcs.mask; i++) {
		struct dusk_mfunc *fn = t->funcs.v[i];

		if (fn) {
			free(fn->args);
			free(fn);
		}
	}
	for (i = 0; t->vars.v && i <= t->vars.mask; i++)
		free(t->vars.v[i]);
	free(t->types.v);
	free(t->funcs.v);
	free(t->vars.v);
	free(t->text);
	free(t);
}

const struct dusk_mtype *dusk_types_type(const struct dusk_types *t,
					 const char *name)
{
	const struct dusk_mtype *ty;

	if (!t || !name)
		return NULL;
	ty = dusk_ntab_get(&t->types, name);
	return ty && ty->sized ? ty : NULL;
}

const struct dusk_mfunc *dusk_types_func(const struct dusk_types *t,
					 const char *name)
{
	return t && name ? dusk_ntab_get(&t->funcs, name) : NULL;
}

const struct dusk_mvar *dusk_types_var(const struct dusk_types *t,
				       const char *name)
{
	return t && name ? dusk_ntab_get(&t->vars, name) : NULL;
}

const struct dusk_types_stats *dusk_types_stats(const struct dusk_types *t)
{
	return &t->stats;
}

const struct dusk_mfield *dusk_mtype_field(const struct dusk_mtype *type,
					   const char *name)
{
	uint32_t i;

	for (i = 0; type && i < type->nr_fields; i++)
		if (!strcmp(type->fields[i].name, name))
			return &type->fields[i];
	return NULL;
}

int dusk_mtype_offset(const struct dusk_mtype *type, const char *name,
		      uint32_t size, uint32_t *off)
{
	const struct dusk_mfield *f = dusk_mtype_field(type, name);

	if (!f || f->size != size)
		return -ENOENT;
	*off = f->off;
	return 0;
}

/* A module compiled for another kernel than libdusk's target (kconst.h)
 * would have its objects read as garbage: it stops here instead. */
#define DUSK_MTYPE_OTHER_KERNEL \
	"the module was not compiled for the kernel libdusk was built for"

void dusk_mtype_layout(const struct dusk_mtype *type, const char *name,
		       uint32_t size, uint32_t *off)
{
	const struct dusk_mfield *f = dusk_mtype_field(type, name);

	if (!type)
		return;
	if (!f) {
		dusk_warn("type record %s has no field %s: using the layout of the target kernel %s",
			  type->name, name, DUSK_K_RELEASE);
		return;
	}
	if (f->off != *off || f->size != size)
		dusk_mod_fatal(1, "the module's %s has %s at offset %u (%u bytes), the target kernel %s's at offset %u (%u bytes): "
			       DUSK_MTYPE_OTHER_KERNEL,
			       type->name, name, f->off, f->size, DUSK_K_RELEASE,
			       *off, size);
}

void dusk_mtype_layout_size(const struct dusk_mtype *type, uint32_t size)
{
	if (type && type->sized && type->size != size)
		dusk_mod_fatal(1, "the module's %s is %llu bytes, the target kernel %s's %u: "
			       DUSK_MTYPE_OTHER_KERNEL, type->name,
			       (unsigned long long)type->size, DUSK_K_RELEASE, size);
}

const struct dusk_mfield *dusk_mtype_field_at(const struct dusk_mtype *type,
					      uint64_t off)
{
	const struct dusk_mfield *best = NULL;
	uint32_t i;

	for (i = 0; type && i < type->nr_fields; i++) {
		const struct dusk_mfield *f = &type->fields[i];

		if (off >= f->off && off - f->off < (f->size ? f->size : 1) &&
		    (!best || f->size < best->size))
			best = f;
	}
	return best;
}

/* The program's records: every object's dusk_types section, concatenated
 * by the linker. Weak: a program without instrumented code has none. */
extern const char __start_dusk_types[] __attribute__((weak));
extern const char __stop_dusk_types[] __attribute__((weak));

static struct dusk_types *dusk_mod_types_cur;

const struct dusk_types *dusk_mod_types(void)
{
	static struct dusk_types empty;
	int err;

	if (dusk_mod_types_cur)
		return dusk_mod_types_cur;
	err = dusk_types_create(__start_dusk_types, __stop_dusk_types,
				&dusk_mod_types_cur);
	if (err) {
		dusk_err("type records: %s", strerror(-err));
		return &empty;
	}
	dusk_dbg("type records: %u types, %u fields, %u functions, %u variables",
		 dusk_mod_types_cur->stats.types, dusk_mod_types_cur->stats.fields,
		 dusk_mod_types_cur->stats.funcs, dusk_mod_types_cur->stats.vars);
	return dusk_mod_types_cur;
}
