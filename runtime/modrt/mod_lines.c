// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * The module's source lines from the program's DWARF (mod_lines.h).
 *
 * Three sorted tables of the module's compilation units, addresses
 * relocated by the program's load bias (it is a PIE):
 *  - the line table rows (an end of sequence is a row without a file:
 *    what follows it up to the next row is nobody's);
 *  - the out-of-line functions' address ranges (DW_TAG_subprogram; a
 *    function GCC split into hot and cold parts has several);
 *  - the outermost inlined subroutines' ranges, each with its call site:
 *    code a module inlines from a kernel header (skb_header_pointer,
 *    register_chrdev) has header rows in the line table, but the module's
 *    own line is where the outermost inline was called.
 * Within each table the ranges do not overlap, so the last range
 * starting at or below pc is the only candidate.
 */
#include <libdwarf/dwarf.h>
#include <errno.h>
#include <execinfo.h>
#include <libdwarf/libdwarf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mod_lines.h"
#include "modrt.h"
#include "util.h"

struct lrow {
	uintptr_t addr;
	const char *file;		/* NULL: end of a sequence */
	unsigned int line;
};

struct lrange {
	uintptr_t lo, hi;
	const char *name;
	const char *call_file;		/* inlined: the call site */
	unsigned int call_line;
};

struct lvec {
	void *v;
	size_t n, cap, elsize;
};

static struct {
	int loaded, err;
	uintptr_t bias;
	struct lvec rows, funcs, inl;
	char **strs;			/* every string kept, for dedupe */
	size_t nr_strs, cap_strs;
} dusk_lines = {
	.rows = { .elsize = sizeof(struct lrow) },
	.funcs = { .elsize = sizeof(struct lrange) },
	.inl = { .elsize = sizeof(struct lrange) },
};

/* The CU being read: its version and its file numbers' names. */
struct lcu {
	Dwarf_Debug dbg;
	Dwarf_Die die;
	Dwarf_Half version;
	Dwarf_Addr base;		/* DW_AT_low_pc of the CU */
	const char **files;		/* by the line program's file number */
	size_t nr_files;
	char **srcfiles;		/* dwarf_srcfiles(), for the others */
	Dwarf_Signed nr_srcfiles;
};

static void *lvec_push(struct lvec *v)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? 2 * v->cap : 256;
		void *nv = realloc(v->v, cap * v->elsize);

		if (!nv)
			return NULL;
		v->v = nv;
		v->cap = cap;
	}
	return (char *)v->v + v->elsize * v->n++;
}

/* A string kept for the program's life, one copy of each. */
static const char *lines_str(const char *s)
{
	size_t i;
	char *c;

	if (!s)
		return NULL;
	for (i = dusk_lines.nr_strs; i > 0; i--)
		if (!strcmp(dusk_lines.strs[i - 1], s))
			return dusk_lines.strs[i - 1];
	if (DUSK_GROW(dusk_lines.strs, dusk_lines.cap_strs, dusk_lines.nr_strs, 64))
		return NULL;
	c = strdup(s);
	if (c)
		dusk_lines.strs[dusk_lines.nr_strs++] = c;
	return c;
}

/* A CU dusk-cc compiled through its plugin: the module's code. */
static int lines_cu_is_module(Dwarf_Die cu)
{
	Dwarf_Error e = NULL;
	char *producer = NULL;
	const char *p;

	if (dwarf_die_text(cu, DW_AT_producer, &producer, &e) != DW_DLV_OK)
		return 0;
	p = strstr(producer, "-fplugin=");
	if (!p)
		return 0;
	p = strstr(p, "dusk.so");
	return p && (p[7] == '\0' || p[7] == ' ');
}

/* The name of a file number of the CU's line program. */
static const char *lines_file(struct lcu *cu, Dwarf_Unsigned no)
{
	Dwarf_Signed i;

	if (no < cu->nr_files && cu->files[no])
		return cu->files[no];
	/* Not met in a row: the file table, numbered from 1 before DWARF 5. */
	i = (Dwarf_Signed)no - (cu->version >= 5 ? 0 : 1);
	if (i >= 0 && i < cu->nr_srcfiles)
		return lines_str(cu->srcfiles[i]);
	return NULL;
}

static int lines_rows(struct lcu *cu)
{
	Dwarf_Line_Context ctx = NULL;
	Dwarf_Unsigned lversion;
	Dwarf_Small count;
	Dwarf_Line *lines;
	Dwarf_Signed n, i;
	Dwarf_Error e = NULL;
	size_t seq_start = dusk_lines.rows.n;
	int err = 0;

	if (dwarf_srclines_b(cu->die, &lversion, &count, &ctx, &e) != DW_DLV_OK)
		return 0;
	if (dwarf_srclines_from_linecontext(ctx, &lines, &n, &e) != DW_DLV_OK)
		goto out;
	for (i = 0; i < n && !err; i++) {
		Dwarf_Unsigned no = 0, lineno = 0;
		Dwarf_Bool end = 0;
		Dwarf_Addr addr;
		struct lrow *r;

		if (dwarf_lineaddr(lines[i], &addr, &e) != DW_DLV_OK)
			continue;
		dwarf_lineendsequence(lines[i], &end, &e);
		dwarf_lineno(lines[i], &lineno, &e);
		dwarf_line_srcfileno(lines[i], &no, &e);
		if (end) {
			/* Rows at the end's address cover nothing: dropped, so
			 * that only another sequence starting there can share
			 * the address with the end. */
			const struct lrow *v = dusk_lines.rows.v;

			while (dusk_lines.rows.n > seq_start &&
			       v[dusk_lines.rows.n - 1].addr == dusk_lines.bias + addr)
				dusk_lines.rows.n--;
		}
		r = lvec_push(&dusk_lines.rows);
		if (!r) {
			err = -ENOMEM;
			break;
		}
		r->addr = dusk_lines.bias + addr;
		r->line = (unsigned int)lineno;
		r->file = NULL;
		if (end) {
			seq_start = dusk_lines.rows.n;
			continue;
		}
		if (no >= cu->nr_files || !cu->files[no]) {
			char *src = NULL;

			if (no >= cu->nr_files) {
				const char **f = realloc(cu->files, (no + 1) * sizeof(*f));

				if (!f) {
					err = -ENOMEM;
					break;
				}
				memset(f + cu->nr_files, 0,
				       (no + 1 - cu->nr_files) * sizeof(*f));
				cu->files = f;
				cu->nr_files = no + 1;
			}
			if (dwarf_linesrc(lines[i], &src, &e) == DW_DLV_OK) {
				cu->files[no] = lines_str(src);
				dwarf_dealloc(cu->dbg, src, DW_DLA_STRING);
			}
		}
		r->file = cu->files[no];
		if (!r->file)
			r->line = 0;
	}
out:
	dwarf_srclines_dealloc_b(ctx);
	return err;
}

static int lines_udata(Dwarf_Debug dbg, Dwarf_Die die, Dwarf_Half at,
		       Dwarf_Unsigned *ret)
{
	Dwarf_Attribute a;
	Dwarf_Error e = NULL;
	int ok;

	if (dwarf_attr(die, at, &a, &e) != DW_DLV_OK)
		return 0;
	ok = dwarf_formudata(a, ret, &e) == DW_DLV_OK;
	if (!ok) {
		/* This libdwarf reads DW_FORM_implicit_const (GCC's
		 * DW_AT_call_file) only as signed. */
		Dwarf_Signed v;

		if (e)
			dwarf_dealloc(dbg, e, DW_DLA_ERROR);
		e = NULL;
		ok = dwarf_formsdata(a, &v, &e) == DW_DLV_OK && v >= 0;
		if (ok)
			*ret = (Dwarf_Unsigned)v;
	}
	dwarf_dealloc(dbg, a, DW_DLA_ATTR);
	return ok;
}

/* The name of a DIE, or of what it is a concrete instance of. */
static const char *lines_die_name(Dwarf_Debug dbg, Dwarf_Die die, int depth)
{
	static const Dwarf_Half origin[] = { DW_AT_abstract_origin,
					     DW_AT_specification };
	Dwarf_Error e = NULL;
	const char *name = NULL;
	char *n = NULL;
	unsigned int i;

	if (dwarf_diename(die, &n, &e) == DW_DLV_OK)
		return lines_str(n);
	for (i = 0; i < DUSK_ARRAY_SIZE(origin) && !name && depth < 4; i++) {
		Dwarf_Attribute a;
		Dwarf_Off off;
		Dwarf_Die o;

		if (dwarf_attr(die, origin[i], &a, &e) != DW_DLV_OK)
			continue;
		if (dwarf_global_formref(a, &off, &e) == DW_DLV_OK &&
		    dwarf_offdie_b(dbg, off, 1, &o, &e) == DW_DLV_OK) {
			name = lines_die_name(dbg, o, depth + 1);
			dwarf_dealloc(dbg, o, DW_DLA_DIE);
		}
		dwarf_dealloc(dbg, a, DW_DLA_ATTR);
	}
	return name;
}

/* Push [lo, hi) (link-time addresses) to v, as a copy of tmpl. */
static int lines_push_range(struct lvec *v, Dwarf_Addr lo, Dwarf_Addr hi,
			    const struct lrange *tmpl)
{
	struct lrange *r;

	if (hi <= lo)
		return 0;
	r = lvec_push(v);
	if (!r)
		return -ENOMEM;
	*r = *tmpl;
	r->lo = dusk_lines.bias + lo;
	r->hi = dusk_lines.bias + hi;
	return 0;
}

/* Every address range of die (low_pc/high_pc, or DW_AT_ranges) into v. */
static int lines_die_ranges(struct lcu *cu, Dwarf_Die die, struct lvec *v,
			    const struct lrange *tmpl)
{
	enum Dwarf_Form_Class cls;
	Dwarf_Addr lo, hi;
	Dwarf_Attribute a;
	Dwarf_Half form;
	Dwarf_Unsigned val;
	Dwarf_Error e = NULL;
	int err = 0;

	if (dwarf_lowpc(die, &lo, &e) == DW_DLV_OK &&
	    dwarf_highpc_b(die, &hi, &form, &cls, &e) == DW_DLV_OK) {
		if (cls == DW_FORM_CLASS_CONSTANT)
			hi += lo;
		return lines_push_range(v, lo, hi, tmpl);
	}
	if (dwarf_attr(die, DW_AT_ranges, &a, &e) != DW_DLV_OK)
		return 0;
	if (dwarf_whatform(a, &form, &e) != DW_DLV_OK)
		goto out;
	if (cu->version >= 5) {
		Dwarf_Rnglists_Head head;
		Dwarf_Unsigned count, goff, i;

		if ((form == DW_FORM_rnglistx ?
		     dwarf_formudata(a, &val, &e) :
		     dwarf_global_formref(a, &val, &e)) != DW_DLV_OK)
			goto out;
		if (dwarf_rnglists_get_rle_head(a, form, val, &head, &count,
						&goff, &e) != DW_DLV_OK)
			goto out;
		for (i = 0; i < count && !err; i++) {
			Dwarf_Unsigned raw1, raw2, c1, c2;
			unsigned int len, code;
			Dwarf_Bool unavailable = 0;

			if (dwarf_get_rnglists_entry_fields_a(head, i, &len, &code,
							      &raw1, &raw2,
							      &unavailable, &c1,
							      &c2, &e) != DW_DLV_OK)
				break;
			if (code == DW_RLE_end_of_list)
				break;
			if (code == DW_RLE_base_address ||
			    code == DW_RLE_base_addressx || unavailable)
				continue;
			err = lines_push_range(v, c1, c2, tmpl);
		}
		dwarf_dealloc_rnglists_head(head);
	} else {
		Dwarf_Ranges *r;
		Dwarf_Signed n, i;
		Dwarf_Unsigned bytes;
		Dwarf_Off real;
		Dwarf_Addr base = cu->base;

		if ((form == DW_FORM_sec_offset ? dwarf_global_formref(a, &val, &e) :
		     dwarf_formudata(a, &val, &e)) != DW_DLV_OK)
			goto out;
		if (dwarf_get_ranges_b(cu->dbg, val, die, &real, &r, &n, &bytes,
				       &e) != DW_DLV_OK)
			goto out;
		for (i = 0; i < n && !err; i++) {
			if (r[i].dwr_type == DW_RANGES_END)
				break;
			if (r[i].dwr_type == DW_RANGES_ADDRESS_SELECTION)
				base = r[i].dwr_addr2;
			else
				err = lines_push_range(v, base + r[i].dwr_addr1,
						       base + r[i].dwr_addr2, tmpl);
		}
		dwarf_ranges_dealloc(cu->dbg, r, n);
	}
out:
	dwarf_dealloc(cu->dbg, a, DW_DLA_ATTR);
	return err;
}

/*
 * The DIEs under parent: functions, and the outermost inlined
 * subroutines in them (in_func: inside a function; an inlined
 * subroutine's own children are not looked at, being inner ones).
 */
static int lines_walk(struct lcu *cu, Dwarf_Die parent, int in_func)
{
	Dwarf_Error e = NULL;
	Dwarf_Die die, next;
	int err = 0, res;

	res = dwarf_child(parent, &die, &e);
	while (res == DW_DLV_OK && !err) {
		Dwarf_Half tag = 0;

		dwarf_tag(die, &tag, &e);
		if (tag == DW_TAG_subprogram) {
			struct lrange t = { .name = lines_die_name(cu->dbg, die, 0) };

			err = lines_die_ranges(cu, die, &dusk_lines.funcs, &t);
			if (!err)
				err = lines_walk(cu, die, 1);
		} else if (tag == DW_TAG_inlined_subroutine && in_func) {
			struct lrange t = { .name = lines_die_name(cu->dbg, die, 0) };
			Dwarf_Unsigned file = 0, line = 0;

			if (lines_udata(cu->dbg, die, DW_AT_call_file, &file))
				t.call_file = lines_file(cu, file);
			if (lines_udata(cu->dbg, die, DW_AT_call_line, &line))
				t.call_line = (unsigned int)line;
			err = lines_die_ranges(cu, die, &dusk_lines.inl, &t);
		} else if (tag == DW_TAG_lexical_block ||
			   (tag == DW_TAG_namespace && !in_func)) {
			err = lines_walk(cu, die, in_func);
		}
		res = dwarf_siblingof_b(cu->dbg, die, 1, &next, &e);
		dwarf_dealloc(cu->dbg, die, DW_DLA_DIE);
		die = next;
	}
	return err;
}

static int lines_cu(Dwarf_Debug dbg, Dwarf_Die cu_die, Dwarf_Half version)
{
	struct lcu cu = { .dbg = dbg, .die = cu_die, .version = version };
	Dwarf_Error e = NULL;
	Dwarf_Signed i;
	int err;

	dwarf_lowpc(cu_die, &cu.base, &e);
	if (dwarf_srcfiles(cu_die, &cu.srcfiles, &cu.nr_srcfiles, &e) != DW_DLV_OK) {
		cu.srcfiles = NULL;
		cu.nr_srcfiles = 0;
	}
	err = lines_rows(&cu);
	if (!err)
		err = lines_walk(&cu, cu_die, 0);
	for (i = 0; i < cu.nr_srcfiles; i++)
		dwarf_dealloc(dbg, cu.srcfiles[i], DW_DLA_STRING);
	if (cu.srcfiles)
		dwarf_dealloc(dbg, cu.srcfiles, DW_DLA_LIST);
	free(cu.files);
	return err;
}

static int lrow_cmp(const void *a, const void *b)
{
	const struct lrow *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int lrange_cmp(const void *a, const void *b)
{
	const struct lrange *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->hi > y->hi ? -1 : x->hi < y->hi;
}

static int lines_read(void)
{
	Dwarf_Debug dbg;
	Dwarf_Error e = NULL;
	int err = 0, res, modules = 0;

	dusk_lines.bias = dusk_image_bias();
	res = dwarf_init_path("/proc/self/exe", NULL, 0, DW_DLC_READ,
			      DW_GROUPNUMBER_ANY, NULL, NULL, &dbg, NULL, 0,
			      NULL, &e);
	if (res == DW_DLV_NO_ENTRY)
		return -ENOENT;
	if (res != DW_DLV_OK)
		return -EIO;
	for (;;) {
		Dwarf_Unsigned len, typeoff, next;
		Dwarf_Half version, asz, lsz, esz, type;
		Dwarf_Off abbrev;
		Dwarf_Sig8 sig;
		Dwarf_Die cu_die;

		res = dwarf_next_cu_header_d(dbg, 1, &len, &version, &abbrev, &asz,
					     &lsz, &esz, &sig, &typeoff, &next,
					     &type, &e);
		if (res != DW_DLV_OK)
			break;
		if (dwarf_siblingof_b(dbg, NULL, 1, &cu_die, &e) != DW_DLV_OK)
			continue;
		if (lines_cu_is_module(cu_die)) {
			modules++;
			err = lines_cu(dbg, cu_die, version);
		}
		dwarf_dealloc(dbg, cu_die, DW_DLA_DIE);
		if (err)
			break;
	}
	dwarf_finish(dbg, &e);
	if (err)
		return err;
	if (!modules)
		return -ENOENT;
	/* Stable for rows: several at one address, the last one holds. */
	if (dusk_lines.rows.n)
		qsort(dusk_lines.rows.v, dusk_lines.rows.n, sizeof(struct lrow),
		      lrow_cmp);
	if (dusk_lines.funcs.n)
		qsort(dusk_lines.funcs.v, dusk_lines.funcs.n,
		      sizeof(struct lrange), lrange_cmp);
	if (dusk_lines.inl.n)
		qsort(dusk_lines.inl.v, dusk_lines.inl.n, sizeof(struct lrange),
		      lrange_cmp);
	return 0;
}

int dusk_lines_load(void)
{
	if (!dusk_lines.loaded) {
		uint64_t t0 = dusk_now_ms();

		dusk_lines.err = lines_read();
		if (dusk_lines.err)
			dusk_dbg("the module's lines (DWARF): %s",
				 strerror(-dusk_lines.err));
		else
			dusk_dbg("the module's lines (DWARF): %zu rows, %zu function ranges, %zu inlined, read in %llu ms",
				 dusk_lines.rows.n, dusk_lines.funcs.n,
				 dusk_lines.inl.n,
				 (unsigned long long)(dusk_now_ms() - t0));
		/* The unwinder, loaded now: dusk_lines_caller() and crash
		 * reports then never load it from where loading is unsafe. */
		{
			void *f[2];

			backtrace(f, 2);
		}
		dusk_lines.loaded = 1;
	}
	return dusk_lines.err;
}

/* The last row at or below pc: with qsort not stable, among rows of one
 * address the one with a file wins (an end of sequence never shares an
 * address with the next sequence's start in practice). */
static const struct lrow *lines_row(uintptr_t pc)
{
	const struct lrow *v = dusk_lines.rows.v;
	size_t lo = 0, hi = dusk_lines.rows.n;

	if (!dusk_lines.loaded || dusk_lines.err)
		return NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid].addr <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	/* Among equal addresses prefer a real row over an end marker. */
	for (hi = lo; hi > 0 && v[hi - 1].addr == v[lo - 1].addr; hi--)
		if (v[hi - 1].file)
			return &v[hi - 1];
	return NULL;
}

static const struct lrange *lines_range(const struct lvec *vec, uintptr_t pc)
{
	const struct lrange *v = vec->v;
	size_t lo = 0, hi = vec->n, i, steps;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid].lo <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (i = lo, steps = 0; i > 0 && steps < 8; i--, steps++)
		if (pc >= v[i - 1].lo && pc < v[i - 1].hi)
			return &v[i - 1];
	return NULL;
}

int dusk_lines_module(uintptr_t pc)
{
	return lines_row(pc) != NULL;
}

int dusk_lines_find(uintptr_t pc, struct dusk_line *ret)
{
	const struct lrow *row = lines_row(pc);
	const struct lrange *f, *in;

	memset(ret, 0, sizeof(*ret));
	if (!row)
		return -ENOENT;
	f = lines_range(&dusk_lines.funcs, pc);
	in = lines_range(&dusk_lines.inl, pc);
	ret->func = f ? f->name : NULL;
	ret->file = row->file;
	ret->line = row->line;
	if (in && in->call_file) {
		ret->inl_func = in->name;
		ret->inl_file = row->file;
		ret->inl_line = row->line;
		ret->file = in->call_file;
		ret->line = in->call_line;
	}
	return 0;
}

int dusk_lines_caller(uintptr_t *ret_pc, struct dusk_line *ret)
{
	void *frames[64];
	int n, i;

	if (dusk_lines_load())
		return -ENOENT;
	n = backtrace(frames, (int)DUSK_ARRAY_SIZE(frames));
	for (i = 1; i < n; i++) {
		uintptr_t pc = (uintptr_t)frames[i] - 1;

		if (!dusk_lines_find(pc, ret)) {
			*ret_pc = pc;
			return 0;
		}
	}
	return -ENOENT;
}

const char *dusk_lines_caller_text(char *buf, unsigned long len)
{
	struct dusk_line l;
	uintptr_t pc;

	if (!len)
		return buf;
	buf[0] = '\0';
	if (!dusk_lines_caller(&pc, &l) && l.file)
		snprintf(buf, len, "%s:%u", l.file, l.line);
	return buf;
}
