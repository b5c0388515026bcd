// SPDX-License-Identifier: GPL-2.0
/* Struct and union layouts from DWARF, and their differences (layout.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libdwarf/dwarf.h>
#include <libdwarf/libdwarf.h>

#include "layout.h"

/* A type's size by its DIE's offset: members share their types a lot. */
struct size_cache {
	Dwarf_Off *off;
	uint64_t *size;
	size_t n, cap;		/* cap: a power of two, slots */
};

struct reader {
	Dwarf_Debug dbg;
	Dwarf_Half version;	/* of the CU being read */
	char **files;		/* its file table (dwarf_srcfiles) */
	Dwarf_Signed n_files;
	struct layout *out;
	struct size_cache cache;
};

static void drop_error(struct reader *r, Dwarf_Error err)
{
	if (err)
		dwarf_dealloc_error(r->dbg, err);
}

static bool has_attr(struct reader *r, Dwarf_Die die, Dwarf_Half at)
{
	Dwarf_Bool has = 0;
	Dwarf_Error err = NULL;

	if (dwarf_hasattr(die, at, &has, &err) != DW_DLV_OK) {
		drop_error(r, err);
		return false;
	}
	return has;
}

/* An attribute's value as an unsigned constant (data or implicit_const
 * forms, or an expression that is just DW_OP_plus_uconst N, as older
 * DWARF writes member offsets). */
static bool attr_udata(struct reader *r, Dwarf_Die die, Dwarf_Half at,
		       uint64_t *ret)
{
	Dwarf_Attribute attr;
	Dwarf_Error err = NULL;
	Dwarf_Unsigned u, len;
	Dwarf_Signed s;
	Dwarf_Ptr expr;
	bool ok = false;

	if (dwarf_attr(die, at, &attr, &err) != DW_DLV_OK) {
		drop_error(r, err);
		return false;
	}
	if (dwarf_formudata(attr, &u, &err) == DW_DLV_OK) {
		*ret = u;
		ok = true;
		goto out;
	}
	drop_error(r, err);
	err = NULL;
	if (dwarf_formsdata(attr, &s, &err) == DW_DLV_OK) {
		*ret = (uint64_t)s;
		ok = s >= 0;
		goto out;
	}
	drop_error(r, err);
	err = NULL;
	if (dwarf_formexprloc(attr, &len, &expr, &err) == DW_DLV_OK) {
		const unsigned char *p = expr, *end = p + len;
		uint64_t v = 0;
		unsigned int shift = 0;

		if (len >= 2 && *p++ == DW_OP_plus_uconst) {
			while (p < end && shift < 64) {
				v |= (uint64_t)(*p & 0x7f) << shift;
				shift += 7;
				if (!(*p++ & 0x80))
					break;
			}
			*ret = v;
			ok = p == end;
		}
	} else {
		drop_error(r, err);
	}
out:
	dwarf_dealloc_attribute(attr);
	return ok;
}

/* The DIE an attribute refers to (DW_AT_type), or NULL. */
static Dwarf_Die ref_die(struct reader *r, Dwarf_Die die, Dwarf_Half at)
{
	Dwarf_Attribute attr;
	Dwarf_Error err = NULL;
	Dwarf_Off off;
	Dwarf_Die ret = NULL;

	if (dwarf_attr(die, at, &attr, &err) != DW_DLV_OK) {
		drop_error(r, err);
		return NULL;
	}
	if (dwarf_global_formref(attr, &off, &err) != DW_DLV_OK ||
	    dwarf_offdie_b(r->dbg, off, 1, &ret, &err) != DW_DLV_OK) {
		drop_error(r, err);
		ret = NULL;
	}
	dwarf_dealloc_attribute(attr);
	return ret;
}

static Dwarf_Half die_tag(struct reader *r, Dwarf_Die die)
{
	Dwarf_Half tag = 0;
	Dwarf_Error err = NULL;

	if (dwarf_tag(die, &tag, &err) != DW_DLV_OK)
		drop_error(r, err);
	return tag;
}

/* The DIE's name (libdwarf's string, valid until dwarf_finish) or NULL. */
static const char *die_name(struct reader *r, Dwarf_Die die)
{
	char *name = NULL;
	Dwarf_Error err = NULL;

	if (dwarf_diename(die, &name, &err) != DW_DLV_OK) {
		drop_error(r, err);
		return NULL;
	}
	return name;
}

static bool die_next(struct reader *r, Dwarf_Die die, Dwarf_Die *ret)
{
	Dwarf_Error err = NULL;
	int res = dwarf_siblingof_b(r->dbg, die, 1, ret, &err);

	drop_error(r, err);
	return res == DW_DLV_OK;
}

static bool die_child(struct reader *r, Dwarf_Die die, Dwarf_Die *ret)
{
	Dwarf_Error err = NULL;
	int res = dwarf_child(die, ret, &err);

	drop_error(r, err);
	return res == DW_DLV_OK;
}

static bool cache_get(const struct size_cache *c, Dwarf_Off off, uint64_t *ret)
{
	size_t i;

	if (!c->cap)
		return false;
	for (i = (off * 0x9e3779b97f4a7c15ull) & (c->cap - 1); c->off[i];
	     i = (i + 1) & (c->cap - 1))
		if (c->off[i] == off) {
			*ret = c->size[i];
			return true;
		}
	return false;
}

static int cache_put(struct size_cache *c, Dwarf_Off off, uint64_t size)
{
	size_t i;

	if (!off)
		return 0;
	if (2 * (c->n + 1) > c->cap) {
		struct size_cache bigger = { 0 };

		bigger.cap = c->cap ? 2 * c->cap : 1024;
		bigger.off = calloc(bigger.cap, sizeof(*bigger.off));
		bigger.size = calloc(bigger.cap, sizeof(*bigger.size));
		if (!bigger.off || !bigger.size) {
			free(bigger.off);
			free(bigger.size);
			return -ENOMEM;
		}
		for (i = 0; i < c->cap; i++)
			if (c->off[i])
				cache_put(&bigger, c->off[i], c->size[i]);
		free(c->off);
		free(c->size);
		*c = bigger;
	}
	for (i = (off * 0x9e3779b97f4a7c15ull) & (c->cap - 1); c->off[i];
	     i = (i + 1) & (c->cap - 1))
		if (c->off[i] == off)
			break;
	if (!c->off[i])
		c->n++;
	c->off[i] = off;
	c->size[i] = size;
	return 0;
}

static uint64_t type_size(struct reader *r, Dwarf_Die die, int depth);

static uint64_t array_size(struct reader *r, Dwarf_Die die, int depth)
{
	Dwarf_Die elem = ref_die(r, die, DW_AT_type), sub, next;
	uint64_t size, count, n = 1;

	if (!elem)
		return LAYOUT_UNKNOWN;
	size = type_size(r, elem, depth + 1);
	dwarf_dealloc_die(elem);
	if (size == LAYOUT_UNKNOWN || !die_child(r, die, &sub))
		return LAYOUT_UNKNOWN;
	for (;;) {
		if (die_tag(r, sub) == DW_TAG_subrange_type) {
			if (attr_udata(r, sub, DW_AT_count, &count))
				n *= count;
			else if (attr_udata(r, sub, DW_AT_upper_bound, &count))
				n *= count + 1;
			else
				n = 0;	/* a flexible array member */
		}
		if (!die_next(r, sub, &next))
			break;
		dwarf_dealloc_die(sub);
		sub = next;
	}
	dwarf_dealloc_die(sub);
	return size * n;
}

/* The size in bytes of the type at die, through typedefs and qualifiers. */
static uint64_t type_size(struct reader *r, Dwarf_Die die, int depth)
{
	Dwarf_Off off = 0;
	Dwarf_Error err = NULL;
	Dwarf_Die next;
	uint64_t size = LAYOUT_UNKNOWN;

	if (depth > 32)
		return LAYOUT_UNKNOWN;
	if (dwarf_dieoffset(die, &off, &err) != DW_DLV_OK)
		drop_error(r, err);
	else if (cache_get(&r->cache, off, &size))
		return size;
	if (attr_udata(r, die, DW_AT_byte_size, &size)) {
		/* said outright: base, enum, struct, union, pointer types */
	} else {
		switch (die_tag(r, die)) {
		case DW_TAG_typedef:
		case DW_TAG_const_type:
		case DW_TAG_volatile_type:
		case DW_TAG_restrict_type:
		case DW_TAG_atomic_type:
			next = ref_die(r, die, DW_AT_type);
			if (next) {
				size = type_size(r, next, depth + 1);
				dwarf_dealloc_die(next);
			}
			break;
		case DW_TAG_array_type:
			size = array_size(r, die, depth);
			break;
		default:
			break;
		}
	}
	cache_put(&r->cache, off, size);
	return size;
}

static int push_member(struct layout_type *t, const char *name,
		       uint64_t bit_offset, uint64_t size, uint64_t bit_size)
{
	struct layout_member *m;

	m = realloc(t->members, (t->n_members + 1) * sizeof(*m));
	if (!m)
		return -ENOMEM;
	t->members = m;
	m += t->n_members;
	m->name = strdup(name);
	if (!m->name)
		return -ENOMEM;
	m->bit_offset = bit_offset;
	m->size = size;
	m->bit_size = bit_size;
	t->n_members++;
	return 0;
}

/* A member's offset in bits from the start of its struct. */
static uint64_t member_bit_offset(struct reader *r, Dwarf_Die m, Dwarf_Die type,
				  uint64_t bit_size)
{
	uint64_t off = 0, loc = 0, big_endian_off, storage;

	if (attr_udata(r, m, DW_AT_data_bit_offset, &off))
		return off;
	attr_udata(r, m, DW_AT_data_member_location, &loc);
	/* DWARF 2-4 bitfields: counted from the storage unit's top bit */
	if (bit_size && attr_udata(r, m, DW_AT_bit_offset, &big_endian_off)) {
		if (!attr_udata(r, m, DW_AT_byte_size, &storage))
			storage = type ? type_size(r, type, 0) : 0;
		if (storage != LAYOUT_UNKNOWN)
			return loc * 8 + storage * 8 - big_endian_off - bit_size;
	}
	return loc * 8;
}

static bool aggregate(Dwarf_Half tag)
{
	return tag == DW_TAG_structure_type || tag == DW_TAG_union_type;
}

/* The members of the struct or union at die into t, at base bits. */
static int collect_members(struct reader *r, Dwarf_Die die, uint64_t base,
			   struct layout_type *t, int depth)
{
	Dwarf_Die m, next, type;
	int ret = 0;

	if (depth > 16 || !die_child(r, die, &m))
		return 0;
	for (;;) {
		if (die_tag(r, m) == DW_TAG_member) {
			const char *name = die_name(r, m);
			uint64_t bit_size = 0, off, size;

			attr_udata(r, m, DW_AT_bit_size, &bit_size);
			type = ref_die(r, m, DW_AT_type);
			off = base + member_bit_offset(r, m, type, bit_size);
			if (!name) {
				/* an anonymous struct or union: its members are
				 * ours; an unnamed bitfield is padding */
				if (type && aggregate(die_tag(r, type)))
					ret = collect_members(r, type, off, t,
							      depth + 1);
			} else {
				size = type ? type_size(r, type, 0) : LAYOUT_UNKNOWN;
				ret = push_member(t, name, off, size, bit_size);
			}
			if (type)
				dwarf_dealloc_die(type);
		}
		if (ret || !die_next(r, m, &next))
			break;
		dwarf_dealloc_die(m);
		m = next;
	}
	dwarf_dealloc_die(m);
	return ret;
}

static int add_type(struct reader *r, Dwarf_Die die, const char *key)
{
	struct layout *l = r->out;
	struct layout_type *t;
	uint64_t file;

	if (has_attr(r, die, DW_AT_declaration))
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 256;

		t = realloc(l->types, cap * sizeof(*t));
		if (!t)
			return -ENOMEM;
		l->types = t;
		l->cap = cap;
	}
	t = &l->types[l->n];
	memset(t, 0, sizeof(*t));
	t->key = strdup(key);
	if (!t->key)
		return -ENOMEM;
	l->n++;
	if (!attr_udata(r, die, DW_AT_byte_size, &t->size))
		t->size = LAYOUT_UNKNOWN;
	attr_udata(r, die, DW_AT_decl_line, &t->decl_line);
	/* DWARF 5 counts files from 0, the primary file; earlier from 1 */
	if (attr_udata(r, die, DW_AT_decl_file, &file)) {
		if (r->version < 5)
			file--;
		if (file < (uint64_t)r->n_files) {
			t->decl_file = strdup(r->files[file]);
			if (!t->decl_file)
				return -ENOMEM;
		}
	}
	return collect_members(r, die, 0, t, 0);
}

static int walk(struct reader *r, Dwarf_Die die, const char *scope, int depth);

static int visit(struct reader *r, Dwarf_Die die, const char *scope, int depth)
{
	Dwarf_Half tag = die_tag(r, die);
	const char *name = die_name(r, die);
	char *key = NULL, *inner = NULL;
	Dwarf_Die type;
	int ret = 0;

	switch (tag) {
	case DW_TAG_structure_type:
	case DW_TAG_union_type:
		if (name) {
			if (asprintf(&key, "%s%s %s", scope,
				     tag == DW_TAG_union_type ? "union" : "struct",
				     name) < 0)
				return -ENOMEM;
			ret = add_type(r, die, key);
		}
		if (!ret)
			ret = walk(r, die, scope, depth + 1);
		break;
	case DW_TAG_typedef:
		/* typedef struct { ... } name_t; */
		type = name ? ref_die(r, die, DW_AT_type) : NULL;
		if (type && aggregate(die_tag(r, type)) && !die_name(r, type)) {
			if (asprintf(&key, "%s%s", scope, name) < 0)
				ret = -ENOMEM;
			else
				ret = add_type(r, type, key);
		}
		if (type)
			dwarf_dealloc_die(type);
		break;
	case DW_TAG_subprogram:
		if (name) {
			if (asprintf(&inner, "%s%s(): ", scope, name) < 0)
				return -ENOMEM;
			ret = walk(r, die, inner, depth + 1);
		}
		break;
	case DW_TAG_lexical_block:
		ret = walk(r, die, scope, depth + 1);
		break;
	default:
		break;
	}
	free(key);
	free(inner);
	return ret;
}

static int walk(struct reader *r, Dwarf_Die die, const char *scope, int depth)
{
	Dwarf_Die child, next;
	int ret = 0;

	if (depth > 64 || !die_child(r, die, &child))
		return 0;
	for (;;) {
		ret = visit(r, child, scope, depth);
		if (ret || !die_next(r, child, &next))
			break;
		dwarf_dealloc_die(child);
		child = next;
	}
	dwarf_dealloc_die(child);
	return ret;
}

static int by_key(const void *a, const void *b)
{
	const struct layout_type *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	if (c)
		return c;
	return x->decl_line < y->decl_line ? -1 : x->decl_line > y->decl_line;
}

static void free_type(struct layout_type *t)
{
	for (size_t i = 0; i < t->n_members; i++)
		free(t->members[i].name);
	free(t->members);
	free(t->decl_file);
	free(t->key);
}

/* A name met twice (two functions' own struct foo in one block scope):
 * told apart by line, or dropped when even that does not. */
static int disambiguate(struct layout *l)
{
	size_t i, j, n;
	char *key;

	for (i = 0; i < l->n; i = j) {
		for (j = i + 1; j < l->n && !strcmp(l->types[i].key, l->types[j].key); j++)
			;
		if (j - i == 1)
			continue;
		for (size_t k = i; k < j; k++) {
			if (asprintf(&key, "%s (line %" PRIu64 ")", l->types[k].key,
				     l->types[k].decl_line) < 0)
				return -ENOMEM;
			free(l->types[k].key);
			l->types[k].key = key;
		}
	}
	qsort(l->types, l->n, sizeof(*l->types), by_key);
	for (i = n = 0; i < l->n; i = j) {
		for (j = i + 1; j < l->n && !strcmp(l->types[i].key, l->types[j].key); j++)
			;
		if (j - i == 1) {
			l->types[n++] = l->types[i];
			continue;
		}
		for (size_t k = i; k < j; k++)
			free_type(&l->types[k]);
	}
	l->n = n;
	return 0;
}

static void free_files(struct reader *r)
{
	for (Dwarf_Signed i = 0; i < r->n_files; i++)
		dwarf_dealloc(r->dbg, r->files[i], DW_DLA_STRING);
	if (r->files)
		dwarf_dealloc(r->dbg, r->files, DW_DLA_LIST);
	r->files = NULL;
	r->n_files = 0;
}

int layout_read(const char *path, struct layout *ret)
{
	struct reader r = { .out = ret };
	Dwarf_Error err = NULL;
	Dwarf_Die cu;
	int res, err_ret = 0;

	memset(ret, 0, sizeof(*ret));
	res = dwarf_init_path(path, NULL, 0, DW_DLC_READ, DW_GROUPNUMBER_ANY,
			      NULL, NULL, &r.dbg, NULL, 0, NULL, &err);
	if (res == DW_DLV_NO_ENTRY)
		return -ENODATA;
	if (res != DW_DLV_OK) {
		if (err)
			dwarf_dealloc_error(NULL, err);
		return -EIO;
	}
	for (;;) {
		Dwarf_Unsigned length, abbrev, typeoff, next;
		Dwarf_Half addr_size, off_size, ext_size, cu_type;
		Dwarf_Sig8 sig;

		res = dwarf_next_cu_header_d(r.dbg, 1, &length, &r.version, &abbrev,
					     &addr_size, &off_size, &ext_size, &sig,
					     &typeoff, &next, &cu_type, &err);
		if (res == DW_DLV_NO_ENTRY)
			break;
		if (res != DW_DLV_OK ||
		    dwarf_siblingof_b(r.dbg, NULL, 1, &cu, &err) != DW_DLV_OK) {
			drop_error(&r, err);
			err_ret = -EIO;
			break;
		}
		if (dwarf_srcfiles(cu, &r.files, &r.n_files, &err) != DW_DLV_OK) {
			drop_error(&r, err);
			err = NULL;
			r.files = NULL;
			r.n_files = 0;
		}
		err_ret = walk(&r, cu, "", 0);
		free_files(&r);
		dwarf_dealloc_die(cu);
		if (err_ret)
			break;
	}
	free(r.cache.off);
	free(r.cache.size);
	dwarf_finish(r.dbg, &err);
	if (!err_ret) {
		qsort(ret->types, ret->n, sizeof(*ret->types), by_key);
		err_ret = disambiguate(ret);
	}
	if (err_ret)
		layout_free(ret);
	return err_ret;
}

void layout_free(struct layout *l)
{
	for (size_t i = 0; i < l->n; i++)
		free_type(&l->types[i]);
	free(l->types);
	memset(l, 0, sizeof(*l));
}

/* ---- comparing ------------------------------------------------------------ */

struct diffs {
	struct layout_diff *v;
	size_t n, cap;
};

static int push_diff(struct diffs *d, enum layout_diff_kind kind,
		     const struct layout_type *a, const struct layout_type *b,
		     const struct layout_member *ma, const struct layout_member *mb)
{
	if (d->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 16;
		struct layout_diff *v = realloc(d->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		d->v = v;
		d->cap = cap;
	}
	d->v[d->n++] = (struct layout_diff){ kind, a, b, ma, mb };
	return 0;
}

static const struct layout_member *member(const struct layout_type *t,
					  const char *name)
{
	for (size_t i = 0; i < t->n_members; i++)
		if (!strcmp(t->members[i].name, name))
			return &t->members[i];
	return NULL;
}

static int compare_type(const struct layout_type *a, const struct layout_type *b,
			struct diffs *d)
{
	int ret = 0;

	if (a->size != b->size && a->size != LAYOUT_UNKNOWN &&
	    b->size != LAYOUT_UNKNOWN)
		ret = push_diff(d, LAYOUT_DIFF_SIZE, a, b, NULL, NULL);
	for (size_t i = 0; !ret && i < a->n_members; i++) {
		const struct layout_member *ma = &a->members[i];
		const struct layout_member *mb = member(b, ma->name);

		if (!mb)
			ret = push_diff(d, LAYOUT_DIFF_MEMBER_MISSING, a, b, ma, NULL);
		else if (ma->bit_offset != mb->bit_offset)
			ret = push_diff(d, LAYOUT_DIFF_OFFSET, a, b, ma, mb);
		else if (ma->bit_size != mb->bit_size ||
			 (ma->size != mb->size && ma->size != LAYOUT_UNKNOWN &&
			  mb->size != LAYOUT_UNKNOWN && !ma->bit_size))
			ret = push_diff(d, LAYOUT_DIFF_MEMBER_SIZE, a, b, ma, mb);
	}
	for (size_t i = 0; !ret && i < b->n_members; i++)
		if (!member(a, b->members[i].name))
			ret = push_diff(d, LAYOUT_DIFF_MEMBER_MISSING, a, b, NULL,
					&b->members[i]);
	return ret;
}

static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return !strncmp(path, dir, n) && (path[n] == '/' || !path[n]);
}

static bool preferred(const struct layout_diff *d, const char *const *last)
{
	const char *file = d->a->decl_file;

	if (!file || file[0] != '/')
		return false;
	for (; last && *last; last++)
		if (under(file, *last))
			return false;
	return true;
}

int layout_compare(const struct layout *a, const struct layout *b,
		   const char *const *last, struct layout_diff **ret,
		   size_t *n_ret, size_t *n_types)
{
	struct diffs d = { 0 };
	size_t i = 0, j = 0, common = 0, k, first;
	int err = 0;

	while (!err && i < a->n && j < b->n) {
		int c = strcmp(a->types[i].key, b->types[j].key);

		if (c < 0) {
			i++;
		} else if (c > 0) {
			j++;
		} else {
			err = compare_type(&a->types[i++], &b->types[j++], &d);
			common++;
		}
	}
	if (err) {
		free(d.v);
		return err;
	}
	/* the module's own types first: they are what its author knows */
	for (k = first = 0; k < d.n; k++) {
		if (preferred(&d.v[k], last)) {
			struct layout_diff x = d.v[k];

			memmove(&d.v[first + 1], &d.v[first], (k - first) * sizeof(x));
			d.v[first++] = x;
		}
	}
	*ret = d.v;
	*n_ret = d.n;
	*n_types = common;
	return 0;
}

void layout_diff_describe(const struct layout_diff *d, const char *name_a,
			  const char *name_b, char *buf, size_t len)
{
	const struct layout_member *ma = d->ma, *mb = d->mb;
	char where[512] = "";
	bool bits;
	int n;

	if (d->a->decl_file)
		snprintf(where, sizeof(where), " (%s:%" PRIu64 ")", d->a->decl_file,
			 d->a->decl_line);
	n = snprintf(buf, len, "%s%s: ", d->a->key, where);
	if (n < 0 || (size_t)n >= len)
		return;
	buf += n;
	len -= n;
	switch (d->kind) {
	case LAYOUT_DIFF_SIZE:
		snprintf(buf, len, "%" PRIu64 " bytes in the %s, %" PRIu64
			 " in the %s", d->a->size, name_a, d->b->size, name_b);
		break;
	case LAYOUT_DIFF_OFFSET:
		bits = ma->bit_size || mb->bit_size || ma->bit_offset % 8 ||
		       mb->bit_offset % 8;
		snprintf(buf, len, "member '%s' at %soffset %" PRIu64 " in the %s, %"
			 PRIu64 " in the %s", ma->name, bits ? "bit " : "",
			 bits ? ma->bit_offset : ma->bit_offset / 8, name_a,
			 bits ? mb->bit_offset : mb->bit_offset / 8, name_b);
		break;
	case LAYOUT_DIFF_MEMBER_SIZE:
		if (ma->bit_size || mb->bit_size)
			snprintf(buf, len, "member '%s' is %" PRIu64 " bits wide in "
				 "the %s, %" PRIu64 " in the %s", ma->name,
				 ma->bit_size ? ma->bit_size : ma->size * 8, name_a,
				 mb->bit_size ? mb->bit_size : mb->size * 8, name_b);
		else
			snprintf(buf, len, "member '%s' is %" PRIu64 " bytes in the "
				 "%s, %" PRIu64 " in the %s", ma->name, ma->size,
				 name_a, mb->size, name_b);
		break;
	case LAYOUT_DIFF_MEMBER_MISSING:
		snprintf(buf, len, "member '%s' only in the %s",
			 ma ? ma->name : mb->name, ma ? name_a : name_b);
		break;
	}
}
