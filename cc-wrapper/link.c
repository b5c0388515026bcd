// SPDX-License-Identifier: GPL-2.0
/* The link step (see link.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "link.h"

#define DUSK_PERCPU_SECTION	"dusk_percpu"	/* dusk_module.h */

/*
 * Sections that only mean something to the kernel's loader and patching:
 * alternatives, static keys and calls, exception and bug tables, ftrace
 * and objtool annotations. User-level code runs the original instructions
 * and the default branches.
 */
static const char *const kernel_sections[] = {
	"__jump_table", ".altinstructions", ".altinstr_replacement",
	".altinstr_aux", ".static_call_sites", ".static_call.text",
	".retpoline_sites", ".return_sites", ".call_sites", "__mcount_loc",
	".orc_unwind", ".orc_unwind_ip", ".orc_header", "__ex_table",
	".parainstructions", ".smp_locks", "__bug_table",
	".ibt_endbr_seal", "__patchable_function_entries",
};

/*
 * The kernel's link discards .discard.* (EXPORT_SYMBOL's __ADDRESSABLE
 * among them). Removing them here would fail when the debug information
 * refers to them (the __addressable_ variable of an exported symbol):
 * excluded, the program's link drops them as the kernel's does.
 */
#define DISCARD_FLAGS	"--set-section-flags=.discard.*=exclude,contents,readonly"

/* Symbols the toolchain and libc provide to compiled C code. */
static bool toolchain_symbol(const char *name)
{
	return str_starts(name, "__dusk_") || str_starts(name, "__start_") ||
	       str_starts(name, "__stop_") || !strcmp(name, "__stack_chk_fail") ||
	       !strcmp(name, "_GLOBAL_OFFSET_TABLE_");
}

enum ksym_kind { KSYM_VAR, KSYM_FUNC };

struct ksym {
	char *name;
	enum ksym_kind kind;
	bool needed;		/* undefined in the module: glue or rename */
	bool impl;		/* libdusk has __dusk_impl_<name> */
	bool called;		/* a call relocation refers to it */
	char *func;		/* its "func" record, if any */
	unsigned long size;	/* its "var" record's size, if any */
	char *vcall;		/* "FILE:LINE: error: dusk: in CALLER" of a
				 * variadic call (a "vcall" record) */
	const char *object;	/* the object of its "func" record */
	int fmt_arg, va_arg;	/* __printf(fmt_arg, va_arg), 1-based; 0 */
};

struct symtab {
	struct ksym *v;
	size_t n, cap;
	struct strvec defined;	/* by the module's objects */
	struct strvec impls;	/* __dusk_impl_* in libdusk */
	struct strvec libgcc;	/* __* helpers libgcc defines */
	bool dyndbg;		/* a section __dyndbg (pr_debug descriptors) */
};

static struct ksym *ksym_get(struct symtab *st, const char *name, bool create)
{
	for (size_t i = 0; i < st->n; i++)
		if (!strcmp(st->v[i].name, name))
			return &st->v[i];
	if (!create)
		return NULL;
	if (st->n == st->cap) {
		st->cap = st->cap ? 2 * st->cap : 64;
		st->v = realloc(st->v, st->cap * sizeof(*st->v));
		if (!st->v) {
			cc_error(-ENOMEM, "symbols");
			exit(1);
		}
	}
	memset(&st->v[st->n], 0, sizeof(st->v[st->n]));
	st->v[st->n].name = xstrdup(name);
	return &st->v[st->n++];
}

/* ---- ELF ------------------------------------------------------------------- */

static void records(struct symtab *st, const char *data, size_t len,
		    const char *object)
{
	const char *p = data, *end = data + len;

	for (; p < end; p += strlen(p) + 1) {
		char name[256], caller[256];
		unsigned long size, line;
		int at = 0;
		struct ksym *k;

		if (sscanf(p, "func %255s", name) == 1) {
			const char *fmt = strstr(p, " printf:");

			k = ksym_get(st, name, true);
			k->func = xstrdup(p);
			k->object = object;
			if (fmt)
				sscanf(fmt, " printf:%d:%d", &k->fmt_arg, &k->va_arg);
		} else if (sscanf(p, "vcall %255s %lu %255s %n", name, &line,
				  caller, &at) == 3 && at) {
			k = ksym_get(st, name, true);
			if (!k->vcall)
				k->vcall = xasprintf("%s:%lu: error: dusk: in %s",
						     p + at, line, caller);
		} else if (sscanf(p, "var %255s %lu", name, &size) == 2)
			ksym_get(st, name, true)->size = size;
	}
}

/* Defined and undefined symbols, records and call relocations of one object. */
static int scan_object(struct symtab *st, const char *path, struct strvec *undef)
{
	int fd = open(path, O_RDONLY), err = 0;
	Elf_Scn *scn = NULL, *symscn = NULL;
	size_t shstrndx, i;
	GElf_Shdr sh, symsh = { 0 };
	Elf_Data *symdata = NULL;
	Elf *elf;

	if (fd < 0)
		return -errno;
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || elf_getshdrstrndx(elf, &shstrndx)) {
		cc_error(0, "%s: %s", path, elf_errmsg(-1));
		err = -EINVAL;
		goto out;
	}
	while ((scn = elf_nextscn(elf, scn))) {
		const char *sname;

		gelf_getshdr(scn, &sh);
		sname = elf_strptr(elf, shstrndx, sh.sh_name);
		if (sh.sh_type == SHT_SYMTAB) {
			symscn = scn;
			symsh = sh;
			symdata = elf_getdata(scn, NULL);
		} else if (sname && !strcmp(sname, "dusk_types")) {
			Elf_Data *d = elf_getdata(scn, NULL);

			if (d && d->d_size)
				records(st, d->d_buf, d->d_size, path);
		} else if (sname && !strcmp(sname, "__dyndbg")) {
			st->dyndbg = true;
		}
	}
	if (!symscn || !symdata)
		goto out;
	for (i = 1; i < symsh.sh_size / symsh.sh_entsize; i++) {
		GElf_Sym sym;
		const char *name;

		gelf_getsym(symdata, i, &sym);
		name = elf_strptr(elf, symsh.sh_link, sym.st_name);
		if (!name || !*name || GELF_ST_BIND(sym.st_info) == STB_LOCAL)
			continue;
		if (sym.st_shndx == SHN_UNDEF) {
			if (!strvec_has(undef, name))
				strvec_push(undef, name);
		} else if (!strvec_has(&st->defined, name)) {
			strvec_push(&st->defined, name);
		}
	}
	/* Calls tell functions from variables where no record does. */
	scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		Elf_Data *d;

		gelf_getshdr(scn, &sh);
		if (sh.sh_type != SHT_RELA || sh.sh_link != elf_ndxscn(symscn))
			continue;
		d = elf_getdata(scn, NULL);
		for (i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Rela rela;
			GElf_Sym sym;
			const char *name;

			gelf_getrela(d, i, &rela);
			if (GELF_R_TYPE(rela.r_info) != R_X86_64_PLT32)
				continue;
			gelf_getsym(symdata, GELF_R_SYM(rela.r_info), &sym);
			name = elf_strptr(elf, symsh.sh_link, sym.st_name);
			if (name && *name && sym.st_shndx == SHN_UNDEF)
				ksym_get(st, name, true)->called = true;
		}
	}
out:
	if (elf)
		elf_end(elf);
	close(fd);
	return err;
}

/*
 * The global symbols an archive defines whose names start with prefix,
 * without it: libdusk's user-level versions of kernel symbols
 * (__dusk_impl_*), libgcc's helpers.
 */
static int scan_archive(const char *archive, const char *prefix,
			struct strvec *out)
{
	int fd = open(archive, O_RDONLY);
	Elf *ar, *elf;

	if (fd < 0)
		return -errno;
	ar = elf_begin(fd, ELF_C_READ, NULL);
	while (ar && (elf = elf_begin(fd, ELF_C_READ, ar))) {
		Elf_Scn *scn = NULL;
		GElf_Shdr sh;

		while ((scn = elf_nextscn(elf, scn))) {
			Elf_Data *d;

			gelf_getshdr(scn, &sh);
			if (sh.sh_type != SHT_SYMTAB)
				continue;
			d = elf_getdata(scn, NULL);
			for (size_t i = 1; d && i < sh.sh_size / sh.sh_entsize; i++) {
				GElf_Sym sym;
				const char *name;

				gelf_getsym(d, i, &sym);
				name = elf_strptr(elf, sh.sh_link, sym.st_name);
				if (name && sym.st_shndx != SHN_UNDEF &&
				    GELF_ST_BIND(sym.st_info) != STB_LOCAL &&
				    str_starts(name, prefix) &&
				    !strvec_has(out, name + strlen(prefix)))
					strvec_push(out, name + strlen(prefix));
			}
		}
		elf_next(elf);
		elf_end(elf);
	}
	if (ar)
		elf_end(ar);
	close(fd);
	return 0;
}

/* ---- the glue ------------------------------------------------------------------ */

enum karg { KARG_INT, KARG_PTR, KARG_FN };

/* Parse a "func" record's argument kinds; -EINVAL for what no stub takes. */
static int func_args(const struct ksym *k, struct strvec *kinds, struct strvec *types)
{
	char ret[256], *copy, *tok, *save;
	int nargs, variadic, i, err = 0;

	if (!k->func) {
		/* Not a call in the source (the plugin records each): GCC
		 * made it, lowering a builtin after dusk's pass. Its
		 * arguments are unknown: no kernel call can stand for it. */
		cc_error(0, "the compiler made a call to %s (a builtin it "
			 "lowered), which libdusk has no user-level version of",
			 k->name);
		return -EINVAL;
	}
	if (sscanf(k->func, "func %*s %255s %d %d", ret, &nargs, &variadic) != 3)
		return -EINVAL;
	/* with a format: formatted here, called with "%s" (write_glue()) */
	if (variadic && !(k->fmt_arg > 0 && k->va_arg > k->fmt_arg)) {
		if (k->vcall)
			fprintf(stderr, "%s: %s takes variable arguments with no "
				"printf format: dusk cannot tell what they are to "
				"pass them to the kernel, and libdusk has no "
				"user-level version of it (call a function with "
				"fixed arguments, or build the module as a .ko)\n",
				k->vcall, k->name);
		else
			cc_error(0, "%s: the module calls %s, a kernel function "
				 "with variable arguments and no printf format, "
				 "which libdusk has no user-level version of",
				 k->object ? k->object : "?", k->name);
		return -EINVAL;
	}
	if (variadic && nargs != k->va_arg - 1) {
		cc_error(0, "%s: its format attribute (printf, %d, %d) does not "
			 "fit its %d named arguments", k->name, k->fmt_arg,
			 k->va_arg, nargs);
		return -EINVAL;
	}
	if (nargs > 6 || (variadic && nargs > 5)) {
		cc_error(0, "%s%s%s takes %d arguments%s: dusk calls kernel "
			 "functions with six at most", k->vcall ? k->vcall : "",
			 k->vcall ? ": " : "", k->name, nargs + !!variadic,
			 variadic ? " (its formatted message is one)" : "");
		return -EINVAL;
	}
	if (str_starts(ret, "agg:") && atoi(ret + 4) > 8) {
		cc_error(0, "%s returns a structure of %d bytes by value, which a "
			 "kernel call cannot carry back", k->name, atoi(ret + 4));
		return -EINVAL;
	}
	copy = xstrdup(k->func);
	tok = strtok_r(copy, " ", &save);
	for (i = 0; i < 4 && tok; i++)		/* "func" NAME RET NARGS */
		tok = strtok_r(NULL, " ", &save);
	for (i = 0; i < nargs && (tok = strtok_r(NULL, " ", &save)); i++) {
		if (str_starts(tok, "ptr:")) {
			strvec_pushf(kinds, "%d", KARG_PTR);
			strvec_pushf(types, "\"%s\"", tok + 4);
		} else if (!strcmp(tok, "fn")) {
			strvec_pushf(kinds, "%d", KARG_FN);
			strvec_push(types, "NULL");
		} else if (str_starts(tok, "agg:") && atoi(tok + 4) > 8) {
			cc_error(0, "%s takes a structure of %d bytes by value "
				 "(argument %d)", k->name, atoi(tok + 4), i + 1);
			err = -EINVAL;
		} else {
			strvec_pushf(kinds, "%d", KARG_INT);
			strvec_push(types, "NULL");
		}
	}
	free(copy);
	return err;
}

/* A variadic kernel function with a printf format libdusk has no version
 * of (its named arguments passed checks in func_args()). */
static int printf_stub(const struct ksym *k)
{
	int nargs, variadic;

	return !k->impl && k->func && k->fmt_arg > 0 &&
	       k->va_arg > k->fmt_arg &&
	       sscanf(k->func, "func %*s %*s %d %d", &nargs, &variadic) == 2 &&
	       variadic;
}

/* Its stub formats the message at user level and calls the kernel's
 * function with "%s" and the text (dusk_module.h, __dusk_kcall_printf). */
static void write_printf_stub(FILE *f, const struct ksym *k, size_t i)
{
	int fmt = k->fmt_arg - 1, n = k->va_arg - 1, j;

	fprintf(f, "uint64_t __dusk_k_%s(", k->name);
	for (j = 0; j < n; j++)
		fprintf(f, j == fmt ? "%sconst char *a%d" : "%suint64_t a%d",
			j ? ", " : "", j);
	fprintf(f, ", ...)\n{\n\tconst uint64_t args[] = { ");
	for (j = 0; j < n; j++)
		fprintf(f, j == fmt ? "(uintptr_t)a%d, " : "a%d, ", j);
	fprintf(f, "};\n\tuint64_t ret;\n\tva_list ap;\n\n"
		"\tva_start(ap, a%d);\n"
		"\tret = __dusk_kcall_printf(&kfunc_%zu, args, %d, %d, ap);\n"
		"\tva_end(ap);\n\treturn ret;\n}\n\n", n - 1, i, fmt, n);
}

/* The probes of its nargs arguments, from the "probe:" part of its "func"
 * record (dusk_module.h); none without one (an impl, or no record). */
static void write_probes(FILE *f, const struct ksym *k, size_t i, size_t nargs)
{
	const char *p = k->func ? strstr(k->func, " probe:") : NULL;
	size_t j;

	fprintf(f, "static const uint32_t probe_%zu[] = { ", i);
	if (p)
		p += strlen(" probe:");
	for (j = 0; j < nargs; j++) {
		if (p && *p == 's')
			fprintf(f, "DUSK_KPROBE_STR, ");
		else
			fprintf(f, "%lu, ", p ? strtoul(p, NULL, 10) : 0UL);
		p = p ? strpbrk(p, ", ") : NULL;
		if (p && *p == ',')
			p++;
		else
			p = NULL;
	}
	fprintf(f, "0 };\n");
}

static int write_glue(const struct symtab *st, const char *path)
{
	FILE *f = fopen(path, "w");
	size_t i, nfunc = 0, nvar = 0;
	int err = 0;

	if (!f)
		return -errno;
	fputs("/* Generated by dusk-cc: the module's kernel symbols. */\n"
	      "#include <stdarg.h>\n#include <stdint.h>\n"
	      "#include \"dusk_module.h\"\n\n", f);
	for (i = 0; i < st->n; i++) {
		const struct ksym *k = &st->v[i];
		struct strvec kinds = { 0 }, types = { 0 };

		if (!k->needed || k->kind != KSYM_FUNC)
			continue;
		if (!k->impl && func_args(k, &kinds, &types))
			err = -EINVAL;
		fprintf(f, "static const uint8_t kind_%zu[] = { ", i);
		for (size_t j = 0; j < kinds.n; j++)
			fprintf(f, "%s, ", kinds.v[j]);
		fprintf(f, "0 };\nstatic const char *const type_%zu[] = { ", i);
		for (size_t j = 0; j < types.n; j++)
			fprintf(f, "%s, ", types.v[j]);
		fprintf(f, "NULL };\n");
		write_probes(f, k, i, kinds.n);
		fprintf(f, "static struct dusk_kfunc kfunc_%zu = "
			"{ \"%s\", 0, %zu, %d, kind_%zu, type_%zu, probe_%zu };\n",
			i, k->name, kinds.n, printf_stub(k), i, i, i);
		if (k->impl)
			fprintf(f, "extern char __dusk_impl_%s[];\n", k->name);
		else if (printf_stub(k))
			write_printf_stub(f, k, i);
		else
			fprintf(f, "uint64_t __dusk_k_%s(uint64_t a0, uint64_t a1, "
				"uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)\n"
				"{\n\treturn __dusk_kcall_stub(&kfunc_%zu, a0, a1, a2, "
				"a3, a4, a5);\n}\n\n", k->name, i);
		strvec_free(&kinds);
		strvec_free(&types);
		nfunc++;
	}
	for (i = 0; i < st->n; i++) {
		const struct ksym *k = &st->v[i];

		if (!k->needed || k->kind != KSYM_VAR || k->impl)
			continue;
		fprintf(f, "__attribute__((section(\"dusk_kdata\"), aligned(64)))\n"
			"char __dusk_kv_%s[%lu];\n", k->name, k->size ? k->size : 64);
		nvar++;
	}
	fputs("\nconst struct dusk_kvar __dusk_kvars[] = {\n", f);
	for (i = 0; i < st->n; i++) {
		const struct ksym *k = &st->v[i];

		if (k->needed && k->kind == KSYM_VAR && !k->impl)
			fprintf(f, "\t{ \"%s\", __dusk_kv_%s, %lu },\n", k->name,
				k->name, k->size ? k->size : 64);
	}
	fprintf(f, "\t{ 0 }\n};\nconst size_t __dusk_nr_kvars = %zu;\n\n"
		"const struct dusk_kfunc_stub __dusk_kfuncs[] = {\n", nvar);
	for (i = 0; i < st->n; i++) {
		const struct ksym *k = &st->v[i];

		if (k->needed && k->kind == KSYM_FUNC)
			fprintf(f, "\t{ (void *)__dusk_%s_%s, &kfunc_%zu },\n",
				k->impl ? "impl" : "k", k->name, i);
	}
	fprintf(f, "\t{ 0 }\n};\nconst size_t __dusk_nr_kfuncs = %zu;\n", nfunc);
	/* Handed to libdusk before main(): it names nothing of ours. */
	if (nvar)
		fputs("\nextern char __start_dusk_kdata[], __stop_dusk_kdata[];\n", f);
	fprintf(f, "\n__attribute__((constructor)) static void dusk_glue_register(void)\n"
		"{\n%s\tstatic const struct dusk_glue glue = {\n"
		"\t\t__dusk_kvars, %zu, __dusk_kfuncs, %zu,\n\t\t%s\n\t};\n\n"
		"\t__dusk_glue_register(&glue);\n}\n",
		/* pr_debug()'s descriptors, for dyndbg= (klib_dyndbg.h) */
		st->dyndbg ? "\textern char __start___dyndbg[], __stop___dyndbg[];\n\n"
		"\t__dusk_dyndbg_register(__start___dyndbg, __stop___dyndbg);\n" : "",
		nvar, nfunc,
		nvar ? "__start_dusk_kdata, __stop_dusk_kdata" : "NULL, NULL");
	if (fclose(f) && !err)
		err = -errno;
	return err;
}

/* ---- putting it together ------------------------------------------------------- */

static int rename_object(const char *in, const char *out, const char *map)
{
	struct strvec argv = { 0 };
	int ret;

	strvec_push(&argv, "objcopy");
	strvec_pushf(&argv, "--redefine-syms=%s", map);
	/* the linker would fold the kernel's name into .data (dusk_module.h) */
	strvec_push(&argv, "--rename-section=.data..percpu=" DUSK_PERCPU_SECTION);
	strvec_push(&argv, DISCARD_FLAGS);
	for (size_t i = 0; i < sizeof(kernel_sections) / sizeof(*kernel_sections); i++)
		strvec_pushf(&argv, "--remove-section=%s", kernel_sections[i]);
	strvec_push(&argv, in);
	strvec_push(&argv, out);
	ret = run_cmd(argv.v, NULL, NULL);
	strvec_free(&argv);
	return ret ? -EIO : 0;
}

int link_program(const struct link *l)
{
	struct symtab st = { 0 };
	struct strvec undef = { 0 }, argv = { 0 }, objs = { 0 };
	char *map_path, *glue_c, *glue_o;
	FILE *map;
	size_t i;
	int err;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	if ((err = scan_archive(l->paths->libdusk, "__dusk_impl_", &st.impls)) ||
	    (err = scan_archive(l->paths->libdusk_main, "__dusk_impl_",
				&st.impls))) {
		cc_error(err, "reading libdusk (%s, %s)", l->paths->libdusk,
			 l->paths->libdusk_main);
		return err;
	}
	/* What GCC lowers some builtins to (__popcountdi2 for hweight32
	 * without popcnt...): the program's link takes it from libgcc. */
	{
		char *argv[] = { "gcc", "-print-libgcc-file-name", NULL };
		char *libgcc = run_line(argv, NULL, "");

		if (libgcc && *libgcc)
			scan_archive(libgcc, "__", &st.libgcc);
		free(libgcc);
	}
	for (i = 0; i < l->objs->n; i++) {
		err = scan_object(&st, l->objs->v[i], &undef);
		if (err)
			return err;
	}

	map_path = xasprintf("%s/rename.map", l->tmpdir);
	map = fopen(map_path, "w");
	if (!map)
		return -errno;
	for (i = 0; i < undef.n; i++) {
		const char *name = undef.v[i];
		struct ksym *k;

		if (strvec_has(&st.defined, name) || toolchain_symbol(name) ||
		    (str_starts(name, "__") && strvec_has(&st.libgcc, name + 2)))
			continue;
		k = ksym_get(&st, name, true);
		k->needed = true;
		k->kind = k->func || (k->called && !k->size) ? KSYM_FUNC : KSYM_VAR;
		k->impl = strvec_has(&st.impls, name);
		fprintf(map, "%s __dusk_%s_%s\n", name, k->impl ? "impl" :
			k->kind == KSYM_FUNC ? "k" : "kv", name);
	}
	fclose(map);

	glue_c = xasprintf("%s/glue.c", l->tmpdir);
	glue_o = xasprintf("%s/glue.o", l->tmpdir);
	err = write_glue(&st, glue_c);
	if (err)
		goto out;
	{
		char *inc0 = xasprintf("-I%s", l->paths->include[0]);
		char *inc1 = xasprintf("-I%s", l->paths->include[1]);
		char *cc[] = { "gcc", "-std=gnu11", "-O2", "-fPIE", "-g", inc0, inc1,
			       "-c", "-o", glue_o, glue_c, NULL };

		err = run_cmd(cc, NULL, NULL) ? -EIO : 0;
		free(inc1);
		free(inc0);
		if (err) {
			cc_error(0, "the generated glue does not compile: %s", glue_c);
			goto out;
		}
	}
	for (i = 0; i < l->objs->n; i++) {
		strvec_pushf(&objs, "%s/m%zu.o", l->tmpdir, i);
		err = rename_object(l->objs->v[i], objs.v[i], map_path);
		if (err)
			goto out;
	}

	strvec_push(&argv, "gcc");
	strvec_push(&argv, "-pie");
	strvec_push(&argv, "-o");
	strvec_push(&argv, l->prog);
	for (i = 0; i < objs.n; i++)
		strvec_push(&argv, objs.v[i]);
	strvec_push(&argv, glue_o);
	strvec_push(&argv, l->paths->libdusk_main);
	strvec_push(&argv, l->paths->libdusk);
	strvec_push(&argv, "-lelf");
	strvec_push(&argv, "-ldwarf");	/* crash reports' lines (mod_lines.c) */
	strvec_push(&argv, "-lpthread");
	for (i = 0; l->ldflags && i < l->ldflags->n; i++)
		strvec_push(&argv, l->ldflags->v[i]);
	err = run_cmd(argv.v, NULL, NULL) ? -EIO : 0;
	if (err)
		cc_error(0, "linking %s failed", l->prog);
out:
	strvec_free(&argv);
	strvec_free(&objs);
	strvec_free(&undef);
	free(glue_o);
	free(glue_c);
	free(map_path);
	return err;
}
