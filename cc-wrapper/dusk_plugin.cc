// SPDX-License-Identifier: GPL-2.0
/*
 * dusk.so - the GCC plugin that makes a kernel module's code run at user
 * level against libdusk (runtime/), unchanged at the source level.
 *
 * One GIMPLE pass, "dusk", right after the CFG is built (before SSA and
 * every optimisation, so that it sees each access exactly as written and
 * inlined kernel helpers get instrumented inside their own bodies):
 *
 *  - every memory reference whose base is a pointer value becomes a
 *    reference through __dusk_check(addr, size) (loads) or
 *    __dusk_check_w(addr, size) (stores), which return the user-level
 *    mirror of a kernel address and user addresses unchanged; the pointer
 *    arguments of the memory and string builtins likewise (their results
 *    rebased from the mirror to the module's pointer; the sprintf family,
 *    which GCC would fold into unchecked stores, called in libdusk);
 *  - a store of a pointer value through a pointer goes through
 *    __dusk_kptr(dest, value), so kernel memory only ever receives kernel
 *    addresses;
 *  - uses of variables defined elsewhere (kernel globals: init_net,
 *    jiffies...; per-CPU variables) go through __dusk_gvar(&var), which
 *    gives the variable's kernel address (or its own, if another file of
 *    the module defines it); per-CPU accessors (inline asm on %gs),
 *    interrupt flag asm, paravirt irq ops and BUG()/WARN() become runtime
 *    calls; calls through pointers go through __dusk_fnptr(fn);
 *  - the kernel's user-space accessors become libdusk's, which reach the
 *    memory of the process blocked in the callback: get_user()/put_user()
 *    (asm calls of __get_user_N/__put_user_N) become __dusk_get_user()/
 *    __dusk_put_user(), the inline ones whose asm copies or clears user
 *    memory (raw_copy_*_user, clear_user) and access_ok()'s TASK_SIZE_MAX
 *    __dusk_impl_<name>; static_cpu_has() tests the target's boot_cpu_data;
 *  - non-inline module functions count their nesting in __dusk_enter() and
 *    __dusk_leave(), so that the runtime commits when the outermost
 *    callback returns.
 * Inline asm that would touch privileged state or call into the kernel is
 * a compile error at its source line, never a silent miscompile.
 *
 * Options: -fplugin-arg-dusk-verbose (a note per instrumented function).
 * Debugging: -fdump-tree-all writes each function as the pass leaves it
 * (the file ending in .dusk).
 */
#include "gcc-plugin.h"
#include "plugin-version.h"
#include "tree.h"
#include "tree-pass.h"
#include "context.h"
#include "function.h"
#include "basic-block.h"
#include "gimple.h"
#include "gimple-iterator.h"
#include "gimplify.h"
#include "gimplify-me.h"
#include "stringpool.h"
#include "attribs.h"
#include "diagnostic.h"
#include "stor-layout.h"
#include "fold-const.h"
#include "cgraph.h"
#include "builtins.h"
#include "hash-set.h"
#include "tree-iterator.h"
#include "varasm.h"
#include "tree-cfg.h"
#include "file-prefix-map.h"
#include "cfgloop.h"
#include "predict.h"
#include "gimple-predict.h"

/* The shadow cache's table and fast path: their layout is ABI, which the
 * inline checks below emit (C, but valid C++ too). */
#include "shadow_fast.h"

#include <string>
#include <vector>

int plugin_is_GPL_compatible;

#define DUSK_TYPES_SECTION "dusk_types"	/* dusk_module.h */

static const char *dusk_decl_name(tree t);
static bool dusk_runtime_fn(tree fndecl);

static struct plugin_info dusk_plugin_info = {
	.version = "0.1",
	.help = "instrument a kernel module to run at user level with libdusk\n"
		"  -fplugin-arg-dusk-verbose  note each instrumented function\n"
		"  -fplugin-arg-dusk-check-calls  no inline fast path: every\n"
		"      access check calls the runtime\n",
};

static bool dusk_verbose;
/* -fplugin-arg-dusk-check-calls: every check a call to the runtime, as
 * before the fast path was inlined (to compare, or to rule it out). */
static bool dusk_check_calls;

/* Runtime entry points (declared once per unit, defined in libdusk). */
static tree rt_check, rt_check_w, rt_check_str, rt_check_strn, rt_kptr, rt_uptr;
static tree rt_gvar, rt_this_cpu_ptr, rt_preempt_count_ptr, rt_fnptr;
static tree rt_enter, rt_leave, rt_bug, rt_hint;
static tree rt_irq_flags, rt_irq_disable, rt_irq_enable;
static tree rt_static_branch;
static tree rt_get_user, rt_put_user;
static tree rt_shadow;		/* struct dusk_shadow_table __dusk_shadow */

static tree dusk_decl(const char *name, tree ret, int nargs, ...)
{
	tree args[4], type, decl;
	va_list ap;
	int i;

	va_start(ap, nargs);
	for (i = 0; i < nargs; i++)
		args[i] = va_arg(ap, tree);
	va_end(ap);
	type = build_function_type_array(ret, nargs, args);
	decl = build_fn_decl(name, type);
	TREE_PUBLIC(decl) = 1;
	DECL_EXTERNAL(decl) = 1;
	DECL_ARTIFICIAL(decl) = 1;
	TREE_NOTHROW(decl) = 1;
	return decl;
}

static void dusk_runtime_decls(void *gcc_data, void *user_data)
{
	tree vp = ptr_type_node, cvp = const_ptr_type_node;
	tree sz = size_type_node, ul = long_unsigned_type_node;
	tree v = void_type_node, u = unsigned_type_node;
	tree cstr = build_pointer_type(build_qualified_type(char_type_node,
							    TYPE_QUAL_CONST));

	rt_check = dusk_decl("__dusk_check", vp, 2, cvp, sz);
	rt_check_w = dusk_decl("__dusk_check_w", vp, 2, vp, sz);
	rt_check_str = dusk_decl("__dusk_check_str", vp, 1, cvp);
	rt_check_strn = dusk_decl("__dusk_check_strn", vp, 2, cvp, sz);
	rt_kptr = dusk_decl("__dusk_kptr", vp, 2, vp, vp);
	rt_uptr = dusk_decl("__dusk_uptr", vp, 1, vp);
	rt_gvar = dusk_decl("__dusk_gvar", vp, 1, cvp);
	rt_this_cpu_ptr = dusk_decl("__dusk_this_cpu_ptr", vp, 1, cvp);
	rt_preempt_count_ptr = dusk_decl("__dusk_preempt_count_ptr", vp, 0);
	rt_fnptr = dusk_decl("__dusk_fnptr", vp, 1, vp);
	rt_enter = dusk_decl("__dusk_enter", v, 0);
	rt_leave = dusk_decl("__dusk_leave", v, 0);
	rt_bug = dusk_decl("__dusk_bug", v, 3, cstr, u, u);
	rt_irq_flags = dusk_decl("__dusk_irq_flags", ul, 0);
	rt_irq_disable = dusk_decl("__dusk_irq_disable", v, 0);
	rt_irq_enable = dusk_decl("__dusk_irq_enable", v, 0);
	rt_hint = dusk_decl("__dusk_hint", v, 3, u, cvp, sz);
	rt_static_branch = dusk_decl("__dusk_static_branch", boolean_type_node, 2,
				     cvp, ul);
	/* int __dusk_get_user(const void *p, unsigned long size, u64 *val);
	 * int __dusk_put_user(void *p, u64 val, unsigned long size) */
	rt_get_user = dusk_decl("__dusk_get_user", integer_type_node, 3, cvp, ul,
				build_pointer_type(ul));
	rt_put_user = dusk_decl("__dusk_put_user", integer_type_node, 3, vp, ul,
				ul);
	/* Only read through MEM_REFs at shadow_fast.h's offsets: an array of
	 * its size will do, with no type of its own in the debug info. */
	rt_shadow = build_decl(UNKNOWN_LOCATION, VAR_DECL,
			       get_identifier("__dusk_shadow"),
			       build_array_type_nelts(char_type_node,
					sizeof(struct dusk_shadow_table)));
	TREE_PUBLIC(rt_shadow) = 1;
	DECL_EXTERNAL(rt_shadow) = 1;
	DECL_ARTIFICIAL(rt_shadow) = 1;
	DECL_IGNORED_P(rt_shadow) = 1;
	TREE_ADDRESSABLE(rt_shadow) = 1;
}


/* ---- type records (dusk_module.h, section dusk_types) ------------------------ */

static std::vector<std::string> dusk_records;
static hash_set<tree> dusk_recorded;	/* types, functions, variables */

static std::string dusk_type_name(tree type)
{
	tree name;
	std::string s;

	type = TYPE_MAIN_VARIANT(type);
	if (TREE_CODE(type) == VOID_TYPE)
		return "void";
	if (TREE_CODE(type) == INTEGER_TYPE &&
	    TYPE_PRECISION(type) == TYPE_PRECISION(char_type_node))
		return "char";
	name = TYPE_NAME(type);
	if (name && TREE_CODE(name) == TYPE_DECL)
		name = DECL_NAME(name);
	if (!name || TREE_CODE(name) != IDENTIFIER_NODE)
		return "-";
	if (TREE_CODE(type) == RECORD_TYPE)
		s = "struct_";
	else if (TREE_CODE(type) == UNION_TYPE)
		s = "union_";
	s += IDENTIFIER_POINTER(name);
	/* records are space-separated: "long unsigned int" -> long_unsigned_int */
	for (char &c : s)
		if (c == ' ')
			c = '_';
	return s;
}

static bool dusk_aggregate(tree type)
{
	return TREE_CODE(type) == RECORD_TYPE || TREE_CODE(type) == UNION_TYPE;
}

static void dusk_record_type(tree type, int depth);

/* One "field" record per member; anonymous members are flattened. */
static void dusk_record_fields(const std::string &owner, tree type, long base,
			       int depth)
{
	for (tree f = TYPE_FIELDS(type); f; f = DECL_CHAIN(f)) {
		tree ft, size;
		std::string kind, target;
		long off;

		if (TREE_CODE(f) != FIELD_DECL)
			continue;
		ft = TREE_TYPE(f);
		off = base + int_byte_position(f);
		if (!DECL_NAME(f)) {
			if (dusk_aggregate(ft))
				dusk_record_fields(owner, ft, off, depth);
			continue;
		}
		size = TYPE_SIZE_UNIT(ft);
		if (DECL_BIT_FIELD(f)) {
			kind = "bits";
		} else if (POINTER_TYPE_P(ft)) {
			tree pt = TREE_TYPE(ft);

			if (TREE_CODE(pt) == FUNCTION_TYPE) {
				kind = "fn";
			} else {
				kind = "ptr";
				target = dusk_type_name(pt);
				if (dusk_aggregate(TYPE_MAIN_VARIANT(pt)))
					dusk_record_type(pt, depth + 1);
			}
		} else if (dusk_aggregate(ft)) {
			kind = "agg";
			target = dusk_type_name(ft);
			dusk_record_type(ft, depth);
		} else if (TREE_CODE(ft) == ARRAY_TYPE) {
			kind = "arr";
			target = dusk_type_name(TREE_TYPE(ft));
			if (dusk_aggregate(TYPE_MAIN_VARIANT(TREE_TYPE(ft))))
				dusk_record_type(TREE_TYPE(ft), depth);
		} else {
			kind = "int";
		}
		dusk_records.push_back("field " + owner + " " +
			IDENTIFIER_POINTER(DECL_NAME(f)) + " " + std::to_string(off) +
			" " + std::to_string(size && tree_fits_uhwi_p(size) ?
					     tree_to_uhwi(size) : 0) +
			" " + kind + (target.empty() ? "" : " " + target));
	}
}

/*
 * Record a struct or union: whole for what the module names (depth 0),
 * and one level of what their pointer members point to, which is what
 * the runtime needs to copy a user object into the kernel.
 */
static void dusk_record_type(tree type, int depth)
{
	std::string name;

	type = TYPE_MAIN_VARIANT(type);
	while (TREE_CODE(type) == ARRAY_TYPE)
		type = TYPE_MAIN_VARIANT(TREE_TYPE(type));
	if (!dusk_aggregate(type) || !COMPLETE_TYPE_P(type) || depth > 1)
		return;
	name = dusk_type_name(type);
	if (name == "-" || dusk_recorded.add(type))
		return;
	dusk_records.push_back("type " + name + " " +
			       std::to_string(tree_to_uhwi(TYPE_SIZE_UNIT(type))));
	dusk_record_fields(name, type, 0, depth);
}

static std::string dusk_kind(tree type)
{
	if (VOID_TYPE_P(type))
		return "void";
	if (POINTER_TYPE_P(type)) {
		if (TREE_CODE(TREE_TYPE(type)) == FUNCTION_TYPE)
			return "fn";
		return "ptr:" + dusk_type_name(TREE_TYPE(type));
	}
	if (dusk_aggregate(type) && TYPE_SIZE_UNIT(type) &&
	    tree_fits_uhwi_p(TYPE_SIZE_UNIT(type)))
		return "agg:" + std::to_string(tree_to_uhwi(TYPE_SIZE_UNIT(type)));
	return "int";
}

/*
 * A printf-like function's format attribute (the kernel's __printf(m, n)):
 * " printf:M:N", M the format's argument number and N the first
 * variadic one (0: a va_list), else "".
 */
static std::string dusk_printf_format(tree fntype)
{
	for (tree a = lookup_attribute("format", TYPE_ATTRIBUTES(fntype)); a;
	     a = lookup_attribute("format", TREE_CHAIN(a))) {
		tree args = TREE_VALUE(a), m, n;

		if (!args || TREE_CODE(TREE_VALUE(args)) != IDENTIFIER_NODE ||
		    !strstr(IDENTIFIER_POINTER(TREE_VALUE(args)), "printf") ||
		    !TREE_CHAIN(args) || !TREE_CHAIN(TREE_CHAIN(args)))
			continue;
		m = TREE_VALUE(TREE_CHAIN(args));
		n = TREE_VALUE(TREE_CHAIN(TREE_CHAIN(args)));
		if (!tree_fits_uhwi_p(m) || !tree_fits_uhwi_p(n))
			continue;
		return " printf:" + std::to_string(tree_to_uhwi(m)) + ":" +
		       std::to_string(tree_to_uhwi(n));
	}
	return "";
}

/*
 * What the runtime asks dusk.ko to probe of an argument before the call
 * (dusk_proto.h, struct dusk_probe): "s" for a const char * (a string, to
 * its NUL), the pointee's bytes for any other object pointer (1 for an
 * incomplete type: the callee reads it, at least), "0" for what is not
 * read through (an integer, a function, void *: opaque data).
 */
static std::string dusk_probe_of(tree type)
{
	tree pt;

	if (!POINTER_TYPE_P(type))
		return "0";
	pt = TREE_TYPE(type);
	if (VOID_TYPE_P(pt) || TREE_CODE(pt) == FUNCTION_TYPE)
		return "0";
	if (TYPE_MAIN_VARIANT(pt) == char_type_node && TYPE_READONLY(pt))
		return "s";
	if (!COMPLETE_TYPE_P(pt) || !tree_fits_uhwi_p(TYPE_SIZE_UNIT(pt)) ||
	    !tree_to_uhwi(TYPE_SIZE_UNIT(pt)))
		return "1";
	return std::to_string(tree_to_uhwi(TYPE_SIZE_UNIT(pt)));
}

static void dusk_record_func(tree fndecl)
{
	tree type = TREE_TYPE(fndecl), a;
	std::string args, probe;
	int n = 0;
	bool variadic = !prototype_p(type) || stdarg_p(type);

	if (dusk_recorded.add(fndecl))
		return;
	for (a = TYPE_ARG_TYPES(type); a && !VOID_TYPE_P(TREE_VALUE(a));
	     a = TREE_CHAIN(a), n++) {
		args += " " + dusk_kind(TREE_VALUE(a));
		probe += (n ? "," : " probe:") + dusk_probe_of(TREE_VALUE(a));
		if (POINTER_TYPE_P(TREE_VALUE(a)))
			dusk_record_type(TREE_TYPE(TREE_VALUE(a)), 0);
	}
	dusk_records.push_back(std::string("func ") + dusk_decl_name(fndecl) + " " +
			       dusk_kind(TREE_TYPE(type)) + " " + std::to_string(n) +
			       " " + (variadic ? "1" : "0") + args + probe +
			       dusk_printf_format(type));
}

/*
 * The first call in this unit of each variadic kernel function without a
 * printf format, "vcall NAME LINE CALLER FILE": dusk-cc refuses to call
 * one at the module's line (FILE remapped as in the debug information).
 */
static hash_set<tree> dusk_vcalls;

static void dusk_note_vcall(gimple *stmt, tree caller)
{
	tree fndecl = is_gimple_call(stmt) ? gimple_call_fndecl(stmt) : NULL_TREE;
	tree type;
	expanded_location xl;
	const char *file;

	if (!fndecl || !DECL_EXTERNAL(fndecl) || fndecl_built_in_p(fndecl) ||
	    dusk_runtime_fn(fndecl))
		return;
	type = TREE_TYPE(fndecl);
	if ((prototype_p(type) && !stdarg_p(type)) ||
	    !dusk_printf_format(type).empty())
		return;
	xl = expand_location(gimple_location(stmt));
	file = xl.file ? remap_debug_filename(xl.file) : NULL;
	if (!file || strpbrk(file, "\\\"\n") || dusk_vcalls.add(fndecl))
		return;
	dusk_records.push_back(std::string("vcall ") + dusk_decl_name(fndecl) +
			       " " + std::to_string(xl.line) + " " +
			       dusk_decl_name(caller) + " " + file);
}

static void dusk_record_var(tree decl)
{
	tree size = TYPE_SIZE_UNIT(TREE_TYPE(decl));

	if (dusk_recorded.add(decl))
		return;
	dusk_records.push_back(std::string("var ") + dusk_decl_name(decl) + " " +
			       std::to_string(size && tree_fits_uhwi_p(size) ?
					      tree_to_uhwi(size) : 0));
}

/* The kernel functions (and, in initializers, variables) referred to. */
static tree dusk_note_fn(tree *tp, int *walk_subtrees, void *data)
{
	if (TREE_CODE(*tp) == FUNCTION_DECL && DECL_EXTERNAL(*tp) &&
	    !fndecl_built_in_p(*tp) && strncmp(dusk_decl_name(*tp), "__dusk", 6))
		dusk_record_func(*tp);
	if (data && TREE_CODE(*tp) == VAR_DECL && DECL_EXTERNAL(*tp))
		dusk_record_var(*tp);
	if (TYPE_P(*tp))
		*walk_subtrees = 0;
	return NULL_TREE;
}

/*
 * At the end of the unit: the types of the module's own variables (the
 * runtime reads struct kernel_param, struct nf_hook_ops... by name), then
 * every record into section dusk_types.
 */
static void dusk_emit_records(void *gcc_data, void *user_data)
{
	varpool_node *vnode;
	std::string text;

	FOR_EACH_VARIABLE(vnode) {
		tree decl = vnode->decl;

		if (DECL_EXTERNAL(decl) || !TREE_STATIC(decl))
			continue;
		dusk_record_type(TREE_TYPE(decl), 0);
		if (DECL_INITIAL(decl))
			walk_tree(&DECL_INITIAL(decl), dusk_note_fn, decl, NULL);
	}
	if (dusk_records.empty())
		return;
	text = "\t.pushsection " DUSK_TYPES_SECTION ",\"a\",@progbits\n";
	for (const std::string &r : dusk_records)
		text += "\t.asciz \"" + r + "\"\n";
	text += "\t.popsection\n";
	symtab->finalize_toplevel_asm(build_string(text.size(), text.c_str()));
	dusk_records.clear();
}

/* ---- helpers ------------------------------------------------------------- */

struct dusk_site {
	gimple_stmt_iterator *gsi;	/* new statements go before it */
	location_t loc;
};

/* expr as a GIMPLE value, computed by statements inserted before the site. */
static tree dusk_val(dusk_site *site, tree expr)
{
	return force_gimple_operand_gsi(site->gsi, expr, true, NULL_TREE, true,
					GSI_SAME_STMT);
}

/* fn(args...) inserted before the site; returns its result (or NULL). */
static tree dusk_call(dusk_site *site, tree fn, int nargs, ...)
{
	tree ret_type = TREE_TYPE(TREE_TYPE(fn));
	tree lhs = NULL_TREE;
	auto_vec<tree> args;
	va_list ap;
	gcall *call;
	int i;

	va_start(ap, nargs);
	for (i = 0; i < nargs; i++)
		args.safe_push(va_arg(ap, tree));
	va_end(ap);
	call = gimple_build_call_vec(fn, args);
	if (!VOID_TYPE_P(ret_type)) {
		lhs = create_tmp_reg(ret_type, "dusk");
		gimple_call_set_lhs(call, lhs);
	}
	gimple_set_location(call, site->loc);
	gsi_insert_before(site->gsi, call, GSI_SAME_STMT);
	return lhs;
}

static bool dusk_runtime_fn(tree fndecl)
{
	const char *name;

	if (!fndecl || !DECL_NAME(fndecl))
		return false;
	name = IDENTIFIER_POINTER(DECL_NAME(fndecl));
	return !strncmp(name, "__dusk", 6);
}

/* A variable this unit uses but does not define. */
static bool dusk_extern_var(tree t)
{
	return TREE_CODE(t) == VAR_DECL && DECL_EXTERNAL(t) &&
	       !DECL_THREAD_LOCAL_P(t);
}

static const char *dusk_decl_name(tree t)
{
	return DECL_NAME(t) ? IDENTIFIER_POINTER(DECL_NAME(t)) : "";
}

/* The address runtime code should use for an extern variable. */
static tree dusk_gvar(dusk_site *site, tree decl)
{
	tree addr = build_fold_addr_expr(decl);

	dusk_record_var(decl);
	tree k = dusk_call(site, rt_gvar, 1,
			   dusk_val(site, fold_convert(const_ptr_type_node, addr)));

	return dusk_val(site, fold_convert(TREE_TYPE(addr), k));
}

/* *(type *)ptr */
static tree dusk_deref(tree ptr, tree type)
{
	return fold_build2(MEM_REF, type, ptr,
			   build_int_cst(build_pointer_type(type), 0));
}

/* lhs = value (a GIMPLE value), inserted before the site. */
static void dusk_assign_to(dusk_site *site, tree lhs, tree value)
{
	gassign *as = gimple_build_assign(lhs, value);

	gimple_set_location(as, site->loc);
	gsi_insert_before(site->gsi, as, GSI_SAME_STMT);
}

/* ---- memory references ----------------------------------------------------- */

static tree *dusk_base_slot(tree *slot)
{
	while (handled_component_p(*slot))
		slot = &TREE_OPERAND(*slot, 0);
	return slot;
}

/*
 * Replace extern variables at the base of the reference in *slot with a
 * dereference of their runtime address. Returns true if the reference now
 * goes through a pointer (and so needs checking as an access).
 */
static bool dusk_rebase(dusk_site *site, tree *slot)
{
	tree *base = dusk_base_slot(slot), b = *base;

	if (dusk_extern_var(b)) {
		*base = dusk_deref(dusk_gvar(site, b), TREE_TYPE(b));
		return true;
	}
	if (TREE_CODE(b) == TARGET_MEM_REF) {
		error_at(site->loc, "dusk: unexpected %<TARGET_MEM_REF%>");
		return false;
	}
	if (TREE_CODE(b) != MEM_REF)
		return false;
	if (TREE_CODE(TREE_OPERAND(b, 0)) == ADDR_EXPR) {
		tree d = TREE_OPERAND(TREE_OPERAND(b, 0), 0);

		if (!dusk_extern_var(d))
			return false;
		TREE_OPERAND(b, 0) = dusk_gvar(site, d);
	}
	return true;
}

/* The part of a reference that has an address (bit-fields do not). */
static tree dusk_addressable(tree ref)
{
	while ((TREE_CODE(ref) == COMPONENT_REF &&
		DECL_BIT_FIELD(TREE_OPERAND(ref, 1))) ||
	       TREE_CODE(ref) == BIT_FIELD_REF)
		ref = TREE_OPERAND(ref, 0);
	return ref;
}

/*
 * Make the access *slot go through the runtime's check: with a the first
 * byte the access touches and t = __dusk_check(a, size), the base pointer p
 * becomes p + (t - a) (the mirror is contiguous wherever the object is).
 * Returns t, or NULL if the reference needs no check.
 */
static tree dusk_check_ref(dusk_site *site, tree *slot, bool store)
{
	tree ref = *slot, access, size, addr, t, *base, p, ut, delta;

	if (!handled_component_p(ref) && TREE_CODE(ref) != MEM_REF &&
	    TREE_CODE(ref) != TARGET_MEM_REF && TREE_CODE(ref) != VAR_DECL)
		return NULL_TREE;
	if (!dusk_rebase(site, slot))
		return NULL_TREE;
	ref = *slot;
	access = dusk_addressable(ref);
	size = TYPE_SIZE_UNIT(TREE_TYPE(access));
	if (!size || TREE_CODE(size) != INTEGER_CST) {
		error_at(site->loc, "dusk: access of variable size through a pointer");
		return NULL_TREE;
	}
	addr = dusk_val(site, fold_convert(ptr_type_node,
					   build_fold_addr_expr(unshare_expr(access))));
	t = dusk_call(site, store ? rt_check_w : rt_check, 2, addr,
		      fold_convert(size_type_node, size));
	base = dusk_base_slot(slot);
	p = TREE_OPERAND(*base, 0);
	ut = pointer_sized_int_node;
	delta = fold_build2(MINUS_EXPR, ut, fold_convert(ut, t),
			    fold_convert(ut, addr));
	TREE_OPERAND(*base, 0) = dusk_val(site, fold_convert(TREE_TYPE(p),
		fold_build2(PLUS_EXPR, ut, fold_convert(ut, p), delta)));
	return t;
}

/* &ref: no access, but an extern variable at its base needs its address. */
static void dusk_check_addr(dusk_site *site, tree *slot)
{
	tree inner;

	if (TREE_CODE(*slot) != ADDR_EXPR)
		return;
	inner = TREE_OPERAND(*slot, 0);
	if (TREE_CODE(inner) == FUNCTION_DECL || TREE_CODE(inner) == STRING_CST ||
	    TREE_CODE(inner) == LABEL_DECL)
		return;
	inner = unshare_expr(inner);
	{
		tree *base = dusk_base_slot(&inner), b = *base;

		if (dusk_extern_var(b))
			*base = dusk_deref(dusk_gvar(site, b), TREE_TYPE(b));
		else if (TREE_CODE(b) == MEM_REF &&
			 TREE_CODE(TREE_OPERAND(b, 0)) == ADDR_EXPR &&
			 dusk_extern_var(TREE_OPERAND(TREE_OPERAND(b, 0), 0)))
			TREE_OPERAND(b, 0) = dusk_gvar(site,
				TREE_OPERAND(TREE_OPERAND(b, 0), 0));
		else
			return;
	}
	*slot = dusk_val(site, fold_convert(TREE_TYPE(*slot),
					    build_fold_addr_expr(inner)));
}

/* An operand of a statement: an address, a memory reference or a value. */
static tree dusk_operand(dusk_site *site, tree *slot, bool store)
{
	if (!*slot)
		return NULL_TREE;
	if (TREE_CODE(*slot) == ADDR_EXPR) {
		dusk_check_addr(site, slot);
		return NULL_TREE;
	}
	return dusk_check_ref(site, slot, store);
}

/* ---- builtins and calls ------------------------------------------------------ */

static void dusk_wrap_arg(dusk_site *site, gcall *call, unsigned int i,
			  tree fn, tree size)
{
	tree arg = gimple_call_arg(call, i), t;

	if (size)
		t = dusk_call(site, fn, 2,
			      dusk_val(site, fold_convert(TREE_VALUE(
				TYPE_ARG_TYPES(TREE_TYPE(fn))), arg)),
			      dusk_val(site, fold_convert(size_type_node, size)));
	else
		t = dusk_call(site, fn, 1,
			      dusk_val(site, fold_convert(const_ptr_type_node, arg)));
	gimple_call_set_arg(call, i, dusk_val(site, fold_convert(TREE_TYPE(arg), t)));
}

static tree dusk_strlen(dusk_site *site, tree str)
{
	tree fn = builtin_decl_explicit(BUILT_IN_STRLEN);
	tree len = create_tmp_reg(size_type_node, "dusk");
	gcall *call = gimple_build_call(fn, 1, str);

	gimple_call_set_lhs(call, len);
	gimple_set_location(call, site->loc);
	gsi_insert_before(site->gsi, call, GSI_SAME_STMT);
	return len;
}

/*
 * strcpy/strcat/strncat write as many bytes as the strings make: read the
 * source (and the destination's string for cat) first, then check that
 * many bytes of the destination for writing.
 */
static void dusk_strcpy(dusk_site *site, gcall *call, enum built_in_function code)
{
	tree size, dst;

	if (code == BUILT_IN_STRNCAT)
		dusk_wrap_arg(site, call, 1, rt_check_strn, gimple_call_arg(call, 2));
	else
		dusk_wrap_arg(site, call, 1, rt_check_str, NULL_TREE);
	size = code == BUILT_IN_STRNCAT ? gimple_call_arg(call, 2)
					: dusk_strlen(site, gimple_call_arg(call, 1));
	if (code == BUILT_IN_STRCAT || code == BUILT_IN_STRNCAT) {
		dusk_wrap_arg(site, call, 0, rt_check_str, NULL_TREE);
		dst = dusk_strlen(site, gimple_call_arg(call, 0));
		size = fold_build2(PLUS_EXPR, size_type_node, dst,
				   fold_convert(size_type_node, size));
	}
	size = fold_build2(PLUS_EXPR, size_type_node,
			   fold_convert(size_type_node, size), size_one_node);
	dusk_wrap_arg(site, call, 0, rt_check_w, size);
}

/*
 * A builtin's result that points into its first argument (the destination
 * memcpy or strcpy returns, what strchr found) points into the mirror the
 * call was given: make it point into what the module passed, which the
 * module compares with its own pointers and subtracts from them. NULL
 * stays NULL. orig is the argument before its check.
 */
static void dusk_rebase_result(dusk_site *site, gcall *call, tree orig)
{
	tree lhs = gimple_call_lhs(call), t = gimple_call_arg(call, 0);
	tree ut = pointer_sized_int_node, r, v, found;
	gimple_stmt_iterator after = *site->gsi;
	gassign *as;

	if (!lhs || !POINTER_TYPE_P(TREE_TYPE(lhs)) || orig == t)
		return;
	r = create_tmp_reg(TREE_TYPE(lhs), "dusk");
	gimple_call_set_lhs(call, r);
	v = fold_build2(PLUS_EXPR, ut, fold_convert(ut, orig),
			fold_build2(MINUS_EXPR, ut, fold_convert(ut, r),
				    fold_convert(ut, t)));
	/* all ones unless r is NULL: no branch inside the block */
	found = fold_build1(NEGATE_EXPR, ut, fold_convert(ut,
		fold_build2(NE_EXPR, boolean_type_node, r,
			    build_int_cst(TREE_TYPE(r), 0))));
	v = fold_build2(BIT_AND_EXPR, ut, v, found);
	v = force_gimple_operand_gsi(&after, fold_convert(TREE_TYPE(lhs), v),
				     true, NULL_TREE, false,
				     GSI_CONTINUE_LINKING);
	as = gimple_build_assign(lhs, v);
	gimple_set_location(as, site->loc);
	gsi_insert_after(&after, as, GSI_CONTINUE_LINKING);
}

/*
 * The call goes to libdusk's version of the function (__dusk_impl_NAME),
 * an ordinary extern function of the same type: GCC can no longer fold
 * or lower it into stores or other calls on pointers nothing checked.
 */
static void dusk_call_impl(gcall *call, const char *name)
{
	std::string impl = std::string("__dusk_impl_") + name;
	tree fndecl = gimple_call_fndecl(call);
	tree decl = build_fn_decl(impl.c_str(), TREE_TYPE(fndecl));

	TREE_PUBLIC(decl) = 1;
	DECL_EXTERNAL(decl) = 1;
	DECL_ARTIFICIAL(decl) = 1;
	gimple_call_set_fndecl(call, decl);
}

/*
 * Pointer arguments of the memory and string builtins. Whatever GCC later
 * makes of a builtin left here (inline code on the checked pointers, or a
 * call to memcpy, strncpy...) acts on the checked range; libdusk has a
 * user-level version of every function such a call can name (the link
 * refuses a call to any other function it has no prototype for).
 */
static void dusk_builtin(dusk_site *site, gcall *call)
{
	tree fndecl = gimple_call_fndecl(call), n;
	tree orig = gimple_call_num_args(call) ? gimple_call_arg(call, 0) : NULL;

	switch (DECL_FUNCTION_CODE(fndecl)) {
	/* How much they write is known only once formatted, and GCC folds
	 * sprintf(buf, "lit") into stores, sprintf(buf, "%s", s) into
	 * strcpy(buf, s). */
	case BUILT_IN_SPRINTF:
		dusk_call_impl(call, "sprintf");
		break;
	case BUILT_IN_SNPRINTF:
		dusk_call_impl(call, "snprintf");
		break;
	case BUILT_IN_VSPRINTF:
		dusk_call_impl(call, "vsprintf");
		break;
	case BUILT_IN_VSNPRINTF:
		dusk_call_impl(call, "vsnprintf");
		break;
	case BUILT_IN_MEMCPY:
	case BUILT_IN_MEMMOVE:
	case BUILT_IN_MEMPCPY:
		n = gimple_call_arg(call, 2);
		dusk_wrap_arg(site, call, 1, rt_check, n);
		dusk_wrap_arg(site, call, 0, rt_check_w, n);
		break;
	case BUILT_IN_MEMSET:
		dusk_wrap_arg(site, call, 0, rt_check_w, gimple_call_arg(call, 2));
		break;
	case BUILT_IN_MEMCMP:
	case BUILT_IN_BCMP:
		n = gimple_call_arg(call, 2);
		dusk_wrap_arg(site, call, 0, rt_check, n);
		dusk_wrap_arg(site, call, 1, rt_check, n);
		break;
	case BUILT_IN_MEMCHR:
		dusk_wrap_arg(site, call, 0, rt_check, gimple_call_arg(call, 2));
		break;
	case BUILT_IN_STRLEN:
	case BUILT_IN_STRCHR:
	case BUILT_IN_STRRCHR:
		dusk_wrap_arg(site, call, 0, rt_check_str, NULL_TREE);
		break;
	case BUILT_IN_STRNLEN:
		dusk_wrap_arg(site, call, 0, rt_check_strn, gimple_call_arg(call, 1));
		break;
	case BUILT_IN_STRCMP:
	case BUILT_IN_STRSTR:
		dusk_wrap_arg(site, call, 0, rt_check_str, NULL_TREE);
		dusk_wrap_arg(site, call, 1, rt_check_str, NULL_TREE);
		break;
	case BUILT_IN_STRNCMP:
		n = gimple_call_arg(call, 2);
		dusk_wrap_arg(site, call, 0, rt_check_strn, n);
		dusk_wrap_arg(site, call, 1, rt_check_strn, n);
		break;
	case BUILT_IN_STRNCPY:
		/* strncpy writes exactly n bytes, reads at most n */
		n = gimple_call_arg(call, 2);
		dusk_wrap_arg(site, call, 1, rt_check_strn, n);
		dusk_wrap_arg(site, call, 0, rt_check_w, n);
		break;
	case BUILT_IN_STRCPY:
	case BUILT_IN_STPCPY:
	case BUILT_IN_STRCAT:
	case BUILT_IN_STRNCAT:
		dusk_strcpy(site, call, DECL_FUNCTION_CODE(fndecl));
		break;
	default:
		return;
	}
	switch (DECL_FUNCTION_CODE(fndecl)) {
	case BUILT_IN_MEMCPY:
	case BUILT_IN_MEMMOVE:
	case BUILT_IN_MEMPCPY:
	case BUILT_IN_MEMSET:
	case BUILT_IN_MEMCHR:
	case BUILT_IN_STRCHR:
	case BUILT_IN_STRRCHR:
	case BUILT_IN_STRSTR:
	case BUILT_IN_STRNCPY:
	case BUILT_IN_STRCPY:
	case BUILT_IN_STPCPY:
	case BUILT_IN_STRCAT:
	case BUILT_IN_STRNCAT:
		dusk_rebase_result(site, call, orig);
		break;
	default:
		break;
	}
}

/*
 * A local object passed by address to a kernel function: tell the runtime
 * its extent, which it copies to the kernel and back (a global's extent it
 * finds in the program's symbol table).
 */
static void dusk_hints(dusk_site *site, gcall *call)
{
	unsigned int i;

	for (i = 0; i < gimple_call_num_args(call); i++) {
		tree arg = gimple_call_arg(call, i), base, size;

		if (TREE_CODE(arg) != ADDR_EXPR)
			continue;
		base = get_base_address(TREE_OPERAND(arg, 0));
		if (!base || (TREE_CODE(base) != VAR_DECL &&
			      TREE_CODE(base) != PARM_DECL) ||
		    TREE_STATIC(base) || DECL_EXTERNAL(base))
			continue;
		size = TYPE_SIZE_UNIT(TREE_TYPE(base));
		if (!size || TREE_CODE(size) != INTEGER_CST)
			continue;
		dusk_call(site, rt_hint, 3, build_int_cst(unsigned_type_node, i),
			  dusk_val(site, fold_convert(const_ptr_type_node,
						      build_fold_addr_expr(base))),
			  fold_convert(size_type_node, size));
	}
}

static bool dusk_in_module_file(location_t loc);

/*
 * Kernel inline helpers whose asm reads memory through a pointer held in a
 * register, which no access check can see, or reaches user space: calls
 * to them go to libdusk's C versions (__dusk_impl_<name>), which read and
 * write through the cache and send user-space accesses to the calling
 * process (runtime/modrt/mod_uaccess.c). Their bodies are then never
 * compiled.
 */
static const char *const dusk_asm_helpers[] = {
	"ip_fast_csum",
	"memset16", "memset32", "memset64",	/* rep stos: they write */
	/* copy_user_generic()'s alternative call: what __copy_to_user(),
	 * __copy_from_user() and their _inatomic forms reach, after the
	 * kernel's hardening check (check_object_size) */
	"raw_copy_to_user", "raw_copy_from_user",
	"clear_user", "__clear_user",		/* stac, rep stos, clac */
	/* access_ok()'s TASK_SIZE_MAX: an alternative on X86_FEATURE_LA57,
	 * the target's (5-level paging gives user space 56 bits) */
	"task_size_max",
};

static void dusk_redirect_helper(gcall *call, tree fndecl)
{
	const char *name = dusk_decl_name(fndecl);

	/* the kernel's inline, not a function of the module's own */
	if (DECL_EXTERNAL(fndecl) ||
	    dusk_in_module_file(DECL_SOURCE_LOCATION(fndecl)))
		return;
	for (const char *h : dusk_asm_helpers)
		if (!strcmp(name, h))
			dusk_call_impl(call, h);
}

static void dusk_call_stmt(dusk_site *site, gcall *call)
{
	tree fndecl = gimple_call_fndecl(call);
	unsigned int i;

	if (fndecl)
		dusk_redirect_helper(call, fndecl);

	if (gimple_call_internal_p(call) || dusk_runtime_fn(fndecl))
		return;
	for (i = 0; i < gimple_call_num_args(call); i++)
		dusk_operand(site, gimple_call_arg_ptr(call, i), false);
	/* The kernel's own definition of a builtin (fortify-string.h's
	 * memcmp, strcpy...) checks what its body touches, like any inline
	 * function: checking at the call too would check twice, the second
	 * time a mirror address, which only the slow path translates. */
	if (fndecl && fndecl_built_in_p(fndecl, BUILT_IN_NORMAL) &&
	    !DECL_STRUCT_FUNCTION(fndecl))
		dusk_builtin(site, call);
	/* inline helpers too: skb_header_pointer() hands its buffer on */
	if (!fndecl || !fndecl_built_in_p(fndecl))
		dusk_hints(site, call);
	if (!fndecl) {
		/* A call through a pointer, which may hold a kernel address. */
		tree fn = gimple_call_fn(call);
		tree t = dusk_call(site, rt_fnptr, 1,
				   dusk_val(site, fold_convert(ptr_type_node, fn)));

		gimple_call_set_fn(call, dusk_val(site, fold_convert(TREE_TYPE(fn), t)));
	}
}

/* ---- inline asm ----------------------------------------------------------------- */

/* The template without comment lines and labels, one instruction a line. */
static std::vector<std::string> dusk_asm_lines(const char *tmpl)
{
	std::vector<std::string> lines;
	std::string s(tmpl), cur;
	size_t at;

	/* C comments (CC_SET() leaves one) are not instructions */
	while ((at = s.find("/*")) != std::string::npos) {
		size_t end = s.find("*/", at);

		s.erase(at, end == std::string::npos ? std::string::npos : end + 2 - at);
	}
	for (char &c : s)
		if (c == ';')
			c = '\n';
	s += '\n';
	for (char c : s) {
		if (c != '\n') {
			cur += c;
			continue;
		}
		size_t b = cur.find_first_not_of(" \t");
		if (b != std::string::npos) {
			cur = cur.substr(b);
			size_t colon = cur.find(':');
			/* "771:" labels */
			if (colon != std::string::npos && colon > 0 &&
			    cur.find_first_not_of("0123456789") == colon)
				cur = cur.substr(colon + 1);
			b = cur.find_first_not_of(" \t");
			cur = b == std::string::npos ? "" : cur.substr(b);
			if (!cur.empty() && cur[0] != '#')
				lines.push_back(cur);
		}
		cur.clear();
	}
	return lines;
}

static bool dusk_has(const std::string &s, const char *w)
{
	return s.find(w) != std::string::npos;
}

/* Operand n of an asm: outputs first, then inputs, as GCC numbers them. */
static tree dusk_asm_op(gasm *stmt, unsigned int n, bool *is_out)
{
	unsigned int nout = gimple_asm_noutputs(stmt);

	*is_out = n < nout;
	if (n < nout)
		return gimple_asm_output_op(stmt, n);
	if (n - nout < gimple_asm_ninputs(stmt))
		return gimple_asm_input_op(stmt, n - nout);
	return NULL_TREE;
}

/* The operand number after "%%gs:%" (or "%gs:%"), -1 if none. */
static int dusk_gs_operand(const std::string &arg)
{
	size_t at = arg.find("gs:%");

	if (at == std::string::npos)
		return -1;
	at += 4;
	while (at < arg.size() && ISALPHA(arg[at]))
		at++;
	return at < arg.size() && ISDIGIT(arg[at]) ? atoi(arg.c_str() + at) : -1;
}

static int dusk_reg_operand(const std::string &arg)
{
	size_t at = arg.find('%');

	if (at == std::string::npos || arg.find("gs:") != std::string::npos)
		return -1;
	at++;
	while (at < arg.size() && ISALPHA(arg[at]))
		at++;
	return at < arg.size() && ISDIGIT(arg[at]) ? atoi(arg.c_str() + at) : -1;
}

/*
 * Condition-code outputs ("=@cce"...) of a read-modify-write asm, from the
 * new value: what the flags would say after the instruction.
 */
static bool dusk_asm_flags(dusk_site *site, gasm *stmt, tree nv)
{
	tree zero = build_zero_cst(TREE_TYPE(nv));
	unsigned int i;

	for (i = 0; i < gimple_asm_noutputs(stmt); i++) {
		tree op = gimple_asm_output_op(stmt, i), out = TREE_VALUE(op);
		const char *c = TREE_STRING_POINTER(TREE_VALUE(TREE_PURPOSE(op)));
		enum tree_code cmp;
		tree sval;

		if (strncmp(c, "=@cc", 4))
			continue;
		c += 4;
		if (!strcmp(c, "e") || !strcmp(c, "z"))
			cmp = EQ_EXPR;
		else if (!strcmp(c, "ne") || !strcmp(c, "nz"))
			cmp = NE_EXPR;
		else if (!strcmp(c, "s") || !strcmp(c, "ns"))
			cmp = !strcmp(c, "s") ? LT_EXPR : GE_EXPR;
		else
			return false;
		sval = nv;
		if (cmp == LT_EXPR || cmp == GE_EXPR)
			sval = dusk_val(site, fold_convert(signed_type_for(TREE_TYPE(nv)), nv));
		dusk_assign_to(site, out, dusk_val(site, fold_convert(TREE_TYPE(out),
			fold_build2(cmp, boolean_type_node, sval,
				    fold_convert(TREE_TYPE(sval), zero)))));
	}
	return true;
}

/* The object a %gs operand names: "m"(var) or "p"(&var). */
static tree dusk_percpu_object(tree op)
{
	tree v = TREE_VALUE(op);
	const char *c = TREE_STRING_POINTER(TREE_VALUE(TREE_PURPOSE(op)));

	if (strchr(c, 'p') && TREE_CODE(v) == ADDR_EXPR)
		return TREE_OPERAND(v, 0);
	if (strchr(c, 'p') && POINTER_TYPE_P(TREE_TYPE(v)))
		return dusk_deref(v, TREE_TYPE(TREE_TYPE(v)));
	return v;
}

/* Split "a, b" at top-level commas. */
static std::vector<std::string> dusk_asm_args(const std::string &line,
					      std::string *mnemonic)
{
	std::vector<std::string> args;
	size_t sp = line.find_first_of(" \t");
	std::string rest, cur;
	int depth = 0;

	*mnemonic = line.substr(0, sp);
	if (sp == std::string::npos)
		return args;
	rest = line.substr(sp);
	for (char c : rest) {
		if (c == '(')
			depth++;
		if (c == ')')
			depth--;
		if (c == ',' && !depth) {
			args.push_back(cur);
			cur.clear();
			continue;
		}
		if (c != ' ' && c != '\t')
			cur += c;
	}
	if (!cur.empty())
		args.push_back(cur);
	return args;
}

/* mov, add, sub, and, or, xor, inc, dec with an AT&T size suffix. */
static std::string dusk_op_base(const std::string &m)
{
	static const char *const ops[] = { "mov", "add", "sub", "and", "or",
					   "xor", "inc", "dec" };

	for (const char *op : ops) {
		size_t n = strlen(op);

		if (!m.compare(0, n, op) &&
		    (m.size() == n || (m.size() == n + 1 && strchr("bwlq", m[n]))))
			return op;
	}
	return "";
}

/*
 * A per-CPU access on %gs: becomes the same operation on the object
 * __dusk_this_cpu_ptr() names (the kernel's copy for the CPU of the
 * invocation, or the module's own single copy).
 */
static bool dusk_asm_percpu(dusk_site *site, gasm *stmt, const std::string &line)
{
	std::string m, op;
	std::vector<std::string> args = dusk_asm_args(line, &m);
	int gs_idx = -1, gs_no = -1, other_no = -1;
	tree gs_op, obj, type, p, mem, val = NULL_TREE;
	bool gs_out, other_out = false;
	enum tree_code code = ERROR_MARK;
	unsigned int i;

	op = dusk_op_base(m);
	for (i = 0; i < args.size(); i++) {
		if (dusk_gs_operand(args[i]) >= 0) {
			gs_idx = i;
			gs_no = dusk_gs_operand(args[i]);
		}
	}
	if (op.empty() || gs_no < 0)
		return false;
	gs_op = dusk_asm_op(stmt, gs_no, &gs_out);
	if (!gs_op)
		return false;
	obj = dusk_percpu_object(gs_op);
	type = TREE_TYPE(obj);

	if (TREE_CODE(obj) == VAR_DECL &&
	    !strcmp(dusk_decl_name(obj), "__preempt_count")) {
		/* Preemption is emulated at user level, never the kernel's. */
		p = dusk_call(site, rt_preempt_count_ptr, 0);
	} else if (TREE_CODE(obj) == VAR_DECL &&
		   !strcmp(dusk_decl_name(obj), "this_cpu_off") &&
		   op == "add" && gs_idx == 0 && args.size() == 2) {
		/* arch_raw_cpu_ptr(): "add %gs:this_cpu_off, %0" on a pointer. */
		other_no = dusk_reg_operand(args[1]);
		tree out = dusk_asm_op(stmt, other_no, &other_out);

		if (!out || !other_out || gimple_asm_ninputs(stmt) < 2)
			return false;
		/* The pointer is the input tied to the output ("0"). */
		tree in = TREE_VALUE(gimple_asm_input_op(stmt, 1));
		tree t = dusk_call(site, rt_this_cpu_ptr, 1,
				   dusk_val(site, fold_convert(const_ptr_type_node, in)));

		dusk_assign_to(site, TREE_VALUE(out),
			       dusk_val(site, fold_convert(TREE_TYPE(TREE_VALUE(out)), t)));
		return true;
	} else {
		tree addr;

		/* A kernel per-CPU variable: its per-CPU offset. */
		if (dusk_extern_var(obj))
			addr = dusk_gvar(site, obj);
		else
			addr = build_fold_addr_expr(unshare_expr(obj));
		addr = dusk_val(site, fold_convert(const_ptr_type_node, addr));
		p = dusk_call(site, rt_this_cpu_ptr, 1, addr);
	}
	p = dusk_val(site, fold_convert(build_pointer_type(type), p));
	mem = dusk_deref(p, type);

	if (args.size() == 2) {
		other_no = dusk_reg_operand(args[1 - gs_idx]);
		if (other_no >= 0) {
			tree o = dusk_asm_op(stmt, other_no, &other_out);

			if (!o)
				return false;
			val = TREE_VALUE(o);
		} else if (args[1 - gs_idx][0] == '$') {
			val = build_int_cst(type, atoll(args[1 - gs_idx].c_str() + 1));
		} else {
			return false;
		}
	}

	if (op == "mov" && gs_idx == 0 && other_out) {
		/* A load into a temporary, then the asm output's type. */
		tree cur = dusk_val(site, mem);

		dusk_assign_to(site, val, dusk_val(site, fold_convert(TREE_TYPE(val), cur)));
		return true;
	}
	if (gs_idx != (int)args.size() - 1)
		return false;
	if (op == "mov") {
		dusk_assign_to(site, mem, dusk_val(site, fold_convert(type, val)));
		return true;
	}
	if (op == "inc" || op == "dec") {
		val = build_int_cst(type, 1);
		code = op == "inc" ? PLUS_EXPR : MINUS_EXPR;
	} else if (op == "add") {
		code = PLUS_EXPR;
	} else if (op == "sub") {
		code = MINUS_EXPR;
	} else if (op == "and") {
		code = BIT_AND_EXPR;
	} else if (op == "or") {
		code = BIT_IOR_EXPR;
	} else if (op == "xor") {
		code = BIT_XOR_EXPR;
	}
	if (!val || code == ERROR_MARK)
		return false;
	{
		tree cur = dusk_val(site, unshare_expr(mem));
		tree nv = dusk_val(site, fold_build2(code, type, cur,
						     fold_convert(type, val)));

		dusk_assign_to(site, unshare_expr(mem), nv);
		return dusk_asm_flags(site, stmt, nv);
	}
}

/* A paravirt call: its pv_ops member, e.g. "irq.save_fl", or "". */
static std::string dusk_pv_op(gasm *stmt)
{
	unsigned int i;

	for (i = 0; i < gimple_asm_ninputs(stmt); i++) {
		tree v = TREE_VALUE(gimple_asm_input_op(stmt, i));
		std::string path;

		/* paravirt_ptr(): "m" (pv_ops.op), or its address */
		if (TREE_CODE(v) == ADDR_EXPR)
			v = TREE_OPERAND(v, 0);
		for (; TREE_CODE(v) == COMPONENT_REF; v = TREE_OPERAND(v, 0))
			path = std::string(dusk_decl_name(TREE_OPERAND(v, 1))) +
			       (path.empty() ? "" : "." + path);
		if (TREE_CODE(v) == VAR_DECL && !strcmp(dusk_decl_name(v), "pv_ops"))
			return path;
	}
	return "";
}

static void dusk_asm_set_output(dusk_site *site, gasm *stmt, tree value)
{
	tree out;

	if (gimple_asm_noutputs(stmt) < 1)
		return;
	out = TREE_VALUE(gimple_asm_output_op(stmt, 0));
	dusk_assign_to(site, out, dusk_val(site, fold_convert(TREE_TYPE(out), value)));
}

/* BUG()/WARN(): the trap and its __bug_table entry become a runtime call. */
static bool dusk_asm_bug(dusk_site *site, gasm *stmt)
{
	unsigned int n = gimple_asm_ninputs(stmt);
	tree file = null_pointer_node, line = integer_zero_node, flags;

	if (n >= 3) {
		file = TREE_VALUE(gimple_asm_input_op(stmt, 0));
		line = TREE_VALUE(gimple_asm_input_op(stmt, 1));
		flags = TREE_VALUE(gimple_asm_input_op(stmt, 2));
	} else if (n >= 1) {
		flags = TREE_VALUE(gimple_asm_input_op(stmt, 0));
	} else {
		flags = integer_zero_node;
	}
	if (TREE_CODE(file) == STRING_CST)
		file = build_fold_addr_expr(file);
	dusk_call(site, rt_bug, 3,
		  dusk_val(site, fold_convert(TREE_VALUE(TYPE_ARG_TYPES(
			TREE_TYPE(rt_bug))), file)),
		  dusk_val(site, fold_convert(unsigned_type_node, line)),
		  dusk_val(site, fold_convert(unsigned_type_node, flags)));
	return true;
}

/*
 * The kernel's user-space accessors reach the memory of the process the
 * kernel runs for: at user level, that of the process blocked in the
 * callback (the invocation being served), through libdusk. These become
 * libdusk's: copy_to_user() and copy_from_user() (their out-of-line
 * _copy_to_user()/_copy_from_user(), kept behind the kernel's own size
 * checks), __copy_*_user*() (raw_copy_*_user(), above), clear_user(),
 * strncpy_from_user(), strnlen_user(), check_zeroed_user(), memdup_user()
 * and its kin (they allocate with kmalloc, in the kernel), get_user()
 * and put_user() (their asm, below), access_ok() (C on TASK_SIZE_MAX).
 * What remains is refused at the module's call, with what to use instead
 * (not again inside one another).
 */
static const struct {
	const char *name;
	const char *instead;
} dusk_uaccess[] = {
	{ "copy_user_generic", "copy_to_user() or copy_from_user()" },
	{ "copy_from_user_nofault", "copy_from_user() in a file operation" },
	{ "copy_to_user_nofault", "copy_to_user() in a file operation" },
	{ "strncpy_from_user_nofault",
	  "strncpy_from_user() in a file operation" },
	{ "strnlen_user_nofault", "strnlen_user() in a file operation" },
};

/* What to use instead of the refused accessor fndecl; NULL: not one. */
static const char *dusk_uaccess_fn(tree fndecl)
{
	if (!fndecl || !DECL_NAME(fndecl))
		return NULL;
	for (const auto &u : dusk_uaccess)
		if (!strcmp(dusk_decl_name(fndecl), u.name))
			return u.instead;
	return NULL;
}

/*
 * Where the module's own source asks for what is refused: an asm or call
 * inside a kernel header's inline function or macro (get_user(), an
 * inline's asm) is the module's doing at the outermost inlined call site
 * of the statement's block, then at the outermost macro expansion point.
 * The error goes there; a note keeps the kernel header's place.
 */
static bool dusk_in_module_file(location_t loc)
{
	expanded_location x = expand_location(loc);

	return x.file && main_input_filename &&
	       !strcmp(x.file, main_input_filename);
}

/* A call of node's function from the module's own file, through callers
 * that are kernel headers' inlines themselves (this pass runs before
 * inlining, on each inline's own body): UNKNOWN_LOCATION if none. */
static location_t dusk_module_call_site(cgraph_node *node, int depth)
{
	if (!node || depth > 8)
		return UNKNOWN_LOCATION;
	for (cgraph_edge *e = node->callers; e; e = e->next_caller) {
		location_t l;

		if (!e->call_stmt)
			continue;
		l = linemap_resolve_location(line_table,
					     gimple_location(e->call_stmt),
					     LRK_MACRO_EXPANSION_POINT, NULL);
		if (dusk_in_module_file(l))
			return l;
		l = dusk_module_call_site(e->caller, depth + 1);
		if (l != UNKNOWN_LOCATION)
			return l;
	}
	return UNKNOWN_LOCATION;
}

static location_t dusk_module_loc(const dusk_site *site)
{
	location_t loc = site->loc, call;

	for (tree b = gimple_block(gsi_stmt(*site->gsi));
	     b && TREE_CODE(b) == BLOCK; b = BLOCK_SUPERCONTEXT(b))
		if (inlined_function_outer_scope_p(b))
			loc = BLOCK_SOURCE_LOCATION(b);
	loc = linemap_resolve_location(line_table, loc,
				       LRK_MACRO_EXPANSION_POINT, NULL);
	if (!dusk_in_module_file(loc) && cfun) {
		call = dusk_module_call_site(cgraph_node::get(cfun->decl), 0);
		if (call != UNKNOWN_LOCATION)
			loc = call;
	}
	return loc;
}

static void dusk_refused_note(const dusk_site *site, location_t at)
{
	if (expand_location(at).line != expand_location_to_spelling_point(site->loc).line ||
	    expand_location(at).file != expand_location_to_spelling_point(site->loc).file)
		inform(site->loc, "dusk: refused here, in kernel code "
		       "the module uses");
}

static const char *const dusk_privileged[] = {
	"gs:", "cli", "sti", "hlt", "pushf", "popf", "ud2", "call", "jmp",
	"wrmsr", "rdmsr", "%cr", "swapgs", "iret", "sysret", "lgdt", "lidt",
	"invlpg", "wbinvd", "stac", "clac", "outb", "outw", "outl", "inb",
	"inw", "inl", "xsave", "xrstor", "vmcall", "vmmcall",
};

/*
 * A jump label (arch_static_branch(key, branch): asm goto with a
 * __jump_table entry of the key's address plus the branch bit) becomes a
 * test of the key as the kernel patches it (kernel/jump_label.c
 * jump_label_type()): the label is taken iff static_key_enabled(key) XOR
 * branch. The key may be the module's own (its dynamic debug descriptors)
 * or the kernel's. Returns true if the asm is to be removed: it is
 * replaced here by a condition, or means nothing (one successor).
 */
static bool dusk_static_branch(dusk_site *site, gasm *stmt)
{
	basic_block bb = gimple_bb(stmt), yes;
	tree key, branch, taken;
	gcond *cond;
	edge e;
	edge_iterator ei;

	if (gimple_asm_ninputs(stmt) != 2 || gimple_asm_noutputs(stmt) ||
	    gimple_asm_nlabels(stmt) != 1) {
		error_at(site->loc, "dusk: a jump label of an unknown shape");
		return false;
	}
	if (EDGE_COUNT(bb->succs) != 2)
		return true;
	yes = label_to_block(cfun, TREE_VALUE(gimple_asm_label_op(stmt, 0)));
	key = TREE_VALUE(gimple_asm_input_op(stmt, 0));
	branch = TREE_VALUE(gimple_asm_input_op(stmt, 1));
	taken = dusk_call(site, rt_static_branch, 2,
			  dusk_val(site, fold_convert(const_ptr_type_node, key)),
			  dusk_val(site, fold_convert(long_unsigned_type_node, branch)));
	cond = gimple_build_cond(NE_EXPR, taken, boolean_false_node, NULL_TREE,
				 NULL_TREE);
	gimple_set_location(cond, site->loc);
	gsi_replace(site->gsi, cond, false);
	FOR_EACH_EDGE(e, ei, bb->succs) {
		e->flags &= ~EDGE_FALLTHRU;
		e->flags |= e->dest == yes ? EDGE_TRUE_VALUE : EDGE_FALSE_VALUE;
	}
	return false;
}

/* The input of an asm whose constraint is c ("0", "r", "i"...). */
static tree dusk_asm_input(gasm *stmt, const char *c)
{
	unsigned int i;

	for (i = 0; i < gimple_asm_ninputs(stmt); i++) {
		tree op = gimple_asm_input_op(stmt, i);

		if (!strcmp(TREE_STRING_POINTER(TREE_VALUE(TREE_PURPOSE(op))), c))
			return TREE_VALUE(op);
	}
	return NULL_TREE;
}

/*
 * get_user()/__get_user() (do_get_user_call(): asm "call __get_user_%P4"
 * : "=a" (ret), "=r" (val in %rdx) : "0" (ptr), "i" (size)) and
 * put_user()/__put_user() (do_put_user_call(): "call __put_user_%P[size]"
 * : "=c" (ret) : "0" (ptr), "r" (val in %rax), [size] "i" (size)), the
 * nocheck forms alike: the call becomes
 *	ret = __dusk_get_user(ptr, size, &tmp); val = tmp;
 *	ret = __dusk_put_user(ptr, (u64)val, size);
 * Returns false when the asm is not of that shape.
 */
static bool dusk_asm_user_call(dusk_site *site, gasm *stmt, bool get)
{
	tree ptr = dusk_asm_input(stmt, "0"), size = dusk_asm_input(stmt, "i");
	tree ul = long_unsigned_type_node, ret, out;

	if (!ptr || !size || TREE_CODE(size) != INTEGER_CST ||
	    gimple_asm_noutputs(stmt) < (get ? 2u : 1u))
		return false;
	ptr = dusk_val(site, fold_convert(get ? const_ptr_type_node :
					  ptr_type_node, ptr));
	size = fold_convert(ul, size);
	if (get) {
		tree tmp = create_tmp_var(ul, "dusk_gu");

		TREE_ADDRESSABLE(tmp) = 1;
		ret = dusk_call(site, rt_get_user, 3, ptr, size,
				build_fold_addr_expr(tmp));
		out = TREE_VALUE(gimple_asm_output_op(stmt, 1));
		dusk_assign_to(site, out, dusk_val(site,
			fold_convert(TREE_TYPE(out), dusk_val(site, tmp))));
	} else {
		tree val = dusk_asm_input(stmt, "r");

		if (!val)
			return false;
		val = dusk_val(site, fold_convert(ul, val));
		ret = dusk_call(site, rt_put_user, 3, ptr, val, size);
	}
	dusk_asm_set_output(site, stmt, ret);
	return true;
}

/* The kernel's stac and clac (asm/smap.h: bytes, not mnemonics). */
static bool dusk_asm_smap(const std::string &all)
{
	return dusk_has(all, "0x0f,0x01,0xcb") || dusk_has(all, "0x0f,0x01,0xca");
}

/*
 * An exception table entry of a user-space access (asm/asm.h
 * _ASM_EXTABLE_UA: type EX_TYPE_UACCESS, 3; or a register set to -EFAULT,
 * EX_TYPE_EFAULT_REG): what unsafe_get_user(), unsafe_put_user() and
 * unsafe_copy_to_user() leave. Other fixups (a zero-padded load, an MSR)
 * are not user space.
 */
static bool dusk_asm_uaccess_fixup(const char *tmpl)
{
	const char *p = strstr(tmpl, "__ex_table");

	return p && (strstr(p, ".long 3 ") || strstr(p, "(-14)"));
}

/*
 * static_cpu_has(bit) (also cpu_feature_enabled(), pgtable_l5_enabled()):
 * _static_cpu_has()'s asm goto jumps to t_yes or t_no as the kernel patched
 * it at boot, its fallback testing the feature's byte of boot_cpu_data
 * (asm "testb %[bitnum], %[cap_byte]" in .altinstr_aux). That test
 * becomes C on the target's boot_cpu_data (a kernel variable like any
 * other, read through the cache): goto (*cap_byte & bitnum) ? t_yes : t_no.
 * Returns true if the asm is to be removed.
 */
static bool dusk_cpu_has(dusk_site *site, gasm *stmt)
{
	basic_block bb = gimple_bb(stmt), yes, no;
	tree bitnum = NULL_TREE, cap = NULL_TREE, byte, v;
	gcond *cond;
	edge e;
	edge_iterator ei;
	unsigned int i;

	for (i = 0; i < gimple_asm_ninputs(stmt); i++) {
		tree op = gimple_asm_input_op(stmt, i), name = TREE_PURPOSE(op);

		/* [name]: a STRING_CST */
		name = TREE_PURPOSE(name);
		if (!name || TREE_CODE(name) != STRING_CST)
			continue;
		if (!strcmp(TREE_STRING_POINTER(name), "bitnum"))
			bitnum = TREE_VALUE(op);
		else if (!strcmp(TREE_STRING_POINTER(name), "cap_byte"))
			cap = TREE_VALUE(op);
	}
	if (!bitnum || !cap || gimple_asm_nlabels(stmt) != 2 ||
	    gimple_asm_noutputs(stmt) || EDGE_COUNT(bb->succs) > 2) {
		error_at(dusk_module_loc(site),
			 "dusk: a CPU feature test of an unknown shape");
		return false;
	}
	yes = label_to_block(cfun, TREE_VALUE(gimple_asm_label_op(stmt, 0)));
	no = label_to_block(cfun, TREE_VALUE(gimple_asm_label_op(stmt, 1)));
	/* both ways lead to one place: nothing to decide */
	if (yes == no || EDGE_COUNT(bb->succs) < 2)
		return true;
	byte = dusk_val(site, dusk_deref(dusk_val(site, fold_convert(
		build_pointer_type(unsigned_char_type_node), cap)),
		unsigned_char_type_node));
	v = dusk_val(site, fold_build2(BIT_AND_EXPR, unsigned_char_type_node,
				       byte, fold_convert(unsigned_char_type_node,
							  bitnum)));
	cond = gimple_build_cond(NE_EXPR, v,
				 build_zero_cst(unsigned_char_type_node),
				 NULL_TREE, NULL_TREE);
	gimple_set_location(cond, site->loc);
	gsi_replace(site->gsi, cond, false);
	FOR_EACH_EDGE(e, ei, bb->succs) {
		e->flags &= ~(EDGE_FALLTHRU | EDGE_ABNORMAL);
		e->flags |= e->dest == yes ? EDGE_TRUE_VALUE : EDGE_FALSE_VALUE;
	}
	return false;
}

/*
 * Replace an asm statement by what it means at user level. Returns true
 * if replacement statements were inserted (the asm is then removed).
 */
static bool dusk_asm(dusk_site *site, gasm *stmt)
{
	const char *tmpl = gimple_asm_string(stmt);
	std::vector<std::string> lines = dusk_asm_lines(tmpl);
	std::string all, pv;

	for (const std::string &l : lines)
		all += l + "\n";

	if (dusk_has(tmpl, "__bug_table"))
		return dusk_asm_bug(site, stmt);
	if (gimple_asm_nlabels(stmt) && dusk_has(tmpl, "__jump_table"))
		return dusk_static_branch(site, stmt);
	if (gimple_asm_nlabels(stmt) && dusk_has(tmpl, ".altinstr_aux") &&
	    dusk_has(tmpl, "testb"))
		return dusk_cpu_has(site, stmt);

	pv = dusk_pv_op(stmt);
	/* callee-save ops are struct paravirt_callee_save { void *func; } */
	if (pv.size() > 5 && !pv.compare(pv.size() - 5, 5, ".func"))
		pv.erase(pv.size() - 5);
	if (!pv.empty()) {
		if (pv == "irq.save_fl") {
			dusk_asm_set_output(site, stmt, dusk_call(site, rt_irq_flags, 0));
			return true;
		}
		if (pv == "irq.irq_disable") {
			dusk_call(site, rt_irq_disable, 0);
			return true;
		}
		if (pv == "irq.irq_enable") {
			dusk_call(site, rt_irq_enable, 0);
			return true;
		}
		location_t at = dusk_module_loc(site);

		error_at(at, "dusk: paravirt operation %qs cannot run at user level",
			 pv.c_str());
		dusk_refused_note(site, at);
		return false;
	}
	if (lines.size() == 1 && (lines[0] == "cli" || lines[0] == "sti")) {
		dusk_call(site, lines[0] == "cli" ? rt_irq_disable : rt_irq_enable, 0);
		return true;
	}
	if (lines.size() == 2 && lines[0] == "pushf" && !lines[1].compare(0, 3, "pop")) {
		dusk_asm_set_output(site, stmt, dusk_call(site, rt_irq_flags, 0));
		return true;
	}
	if (lines.size() == 1 && dusk_has(lines[0], "gs:") &&
	    dusk_asm_percpu(site, stmt, lines[0]))
		return true;
	/* preempt_enable()'s reschedule: preemption is emulated, nothing to do */
	if (dusk_has(tmpl, "__SCT__preempt_schedule"))
		return true;
	/* hweight: ALTERNATIVE("call __sw_hweightN", "popcnt") */
	if ((dusk_has(tmpl, "__sw_hweight32") || dusk_has(tmpl, "__sw_hweight64")) &&
	    gimple_asm_noutputs(stmt) == 1 && gimple_asm_ninputs(stmt) >= 1) {
		bool wide = dusk_has(tmpl, "__sw_hweight64");
		tree in = TREE_VALUE(gimple_asm_input_op(stmt, 0));
		tree fn = builtin_decl_explicit(wide ? BUILT_IN_POPCOUNTLL : BUILT_IN_POPCOUNT);
		tree arg = dusk_val(site, fold_convert(wide ? long_long_unsigned_type_node :
						      unsigned_type_node, in));
		tree cnt = create_tmp_reg(integer_type_node, "dusk");
		gcall *call = gimple_build_call(fn, 1, arg);

		gimple_call_set_lhs(call, cnt);
		gimple_set_location(call, site->loc);
		gsi_insert_before(site->gsi, call, GSI_SAME_STMT);
		dusk_asm_set_output(site, stmt, cnt);
		return true;
	}

	for (const char *u : { "get_user", "put_user" }) {
		if (dusk_has(all, (std::string("call __") + u + "_").c_str())) {
			location_t at;

			if (dusk_asm_user_call(site, stmt, u[0] == 'g'))
				return true;
			at = dusk_module_loc(site);
			error_at(at, "dusk: %qs in a form dusk does not know",
				 u);
			dusk_refused_note(site, at);
			return false;
		}
	}
	/* user_access_begin() and the unsafe_*_user() that go with it: the
	 * kernel's fault fixup, which no user-level code has */
	if (dusk_asm_smap(all) || dusk_asm_uaccess_fixup(tmpl)) {
		bool smap = dusk_asm_smap(all);
		location_t at = dusk_module_loc(site);

		error_at(at, "dusk: %s cannot run at user level: use %s instead",
			 smap ? "stac/clac (user_access_begin(), user_access_end(), "
				"user_read_access_begin()...)" :
				"a user-space access with an exception-table fixup "
				"(unsafe_get_user(), unsafe_put_user(), "
				"unsafe_copy_to_user()...)",
			 "get_user(), put_user(), copy_from_user() or "
			 "copy_to_user()");
		dusk_refused_note(site, at);
		return false;
	}
	for (const char *w : dusk_privileged) {
		if (dusk_has(all, w)) {
			std::string first = lines.empty() ? tmpl : lines[0];
			location_t at = dusk_module_loc(site);

			error_at(at, "dusk: inline assembly %qs cannot run "
				 "at user level", first.c_str());
			dusk_refused_note(site, at);
			return false;
		}
	}
	return false;
}

/* Memory operands of an asm that stays: checked like any access. */
static void dusk_asm_operands(dusk_site *site, gasm *stmt)
{
	unsigned int i;

	for (i = 0; i < gimple_asm_ninputs(stmt); i++) {
		tree op = gimple_asm_input_op(stmt, i);
		const char *c = TREE_STRING_POINTER(TREE_VALUE(TREE_PURPOSE(op)));

		if (strpbrk(c, "mo"))
			dusk_operand(site, &TREE_VALUE(op), false);
		else if (TREE_CODE(TREE_VALUE(op)) == ADDR_EXPR)
			dusk_check_addr(site, &TREE_VALUE(op));
	}
	for (i = 0; i < gimple_asm_noutputs(stmt); i++) {
		tree op = gimple_asm_output_op(stmt, i);
		const char *c = TREE_STRING_POINTER(TREE_VALUE(TREE_PURPOSE(op)));

		if (strpbrk(c, "mo"))
			dusk_operand(site, &TREE_VALUE(op), true);
	}
}

/* ---- the checks' inline fast path ---------------------------------------- */

/* expr as a GIMPLE value, computed at the end of the block gsi is in. */
static tree dusk_val_at(gimple_stmt_iterator *gsi, tree expr)
{
	return force_gimple_operand_gsi(gsi, expr, true, NULL_TREE, false,
					GSI_CONTINUE_LINKING);
}

/* *(type *)(ptr + off), loaded at the end of the block gsi is in. */
static tree dusk_load_at(gimple_stmt_iterator *gsi, tree ptr, size_t off,
			 tree type)
{
	return dusk_val_at(gsi, build2(MEM_REF, type, ptr,
				       build_int_cst(ptr_type_node, off)));
}

/* An empty block after after, in its loop. */
static basic_block dusk_new_bb(basic_block after)
{
	basic_block bb = create_empty_bb(after);

	if (current_loops)
		add_bb_to_loop(bb, after->loop_father);
	return bb;
}

static edge dusk_edge(basic_block from, basic_block to, int flags,
		      profile_probability p)
{
	edge e = make_edge(from, to, flags);

	e->probability = p;
	return e;
}

/* if (lhs code rhs) goto yes; else goto no; ending bb, yes as likely as
 * p says. */
static void dusk_branch(basic_block bb, enum tree_code code, tree lhs, tree rhs,
			basic_block yes, basic_block no, location_t loc,
			profile_probability p = profile_probability::very_unlikely())
{
	gimple_stmt_iterator gsi = gsi_last_bb(bb);
	gcond *cond = gimple_build_cond(code, lhs, rhs, NULL_TREE, NULL_TREE);

	gimple_set_location(cond, loc);
	gsi_insert_after(&gsi, cond, GSI_CONTINUE_LINKING);
	dusk_edge(bb, yes, EDGE_TRUE_VALUE, p);
	dusk_edge(bb, no, EDGE_FALSE_VALUE, p.invert());
}

/*
 * t = __dusk_check(addr, size) (or _w) becomes shadow_fast.h's
 * dusk_shadow_fast() inline, the call left for what it cannot decide:
 *
 *   bb:    a = (unsigned long)addr; if (a >= DUSK_KERNEL_MIN) goto kern;
 *   user:  t = addr; if (a - mirror_lo < mirror_span) goto slow; goto join;
 *   kern:  off = a % page; if (size - 1 >= page - off) goto slow;
 *   memo:  kpn = a / page; ep = epoch;              (reads only)
 *          if (kpn == memo.kpn && ep == memo.epoch) {
 *            t = a + memo.delta; goto join;
 *          }
 *   look:  e = &ents[hash(kpn) & mask];
 *          if (e->kpn != kpn | e->gen != gen | lines(off, size) not valid)
 *            goto slow;       (a read of at most a line: the bits of its
 *                              first and last line only)
 *   hit:   write: e->dirty |= lines; t = e->user + off; goto join;
 *          read:  memo = { e->valid == all ? kpn : 0, ep,
 *                          e->user - (a - off) }; goto memo hit;
 *   slow:  t = __dusk_check(addr, size);   (cold)
 *   join:  ...
 *
 * The memo, in locals of the function, is the last page it found whole
 * in the table: while the table's epoch stays the same, that page is
 * still there and valid (shadow_fast.h), so a read of it needs no
 * lookup, as in a loop over a packet's bytes. Writes always look the
 * page up, to mark their lines dirty. No SSA yet, so t and the memo are
 * simply assigned on each path.
 */
struct dusk_memo {
	tree kpn, epoch, delta;		/* kpn 0: none (no kernel page's) */
};

static void dusk_inline_check(gcall *call, bool write, const dusk_memo *memo)
{
	tree t = gimple_call_lhs(call), addr = gimple_call_arg(call, 0);
	tree size = gimple_call_arg(call, 1);
	tree ul = long_unsigned_type_node, vp = ptr_type_node;
	tree shadow = build_fold_addr_expr(rt_shadow);
	tree a, d, off, sm1, kpn, ep = NULL_TREE, idx, ents, e, lines = NULL_TREE;
	tree bad, v, u;
	location_t loc = gimple_location(call);
	basic_block bb = gimple_bb(call), user, kern, memo_bb, memo_hit, look;
	basic_block hit, slow, join;
	gimple_stmt_iterator gsi = gsi_for_stmt(call);
	edge fall;

	/* bb | slow: the call alone | join: what followed it */
	gsi_prev(&gsi);
	fall = gsi_end_p(gsi) ? split_block_after_labels(bb)
			      : split_block(bb, gsi_stmt(gsi));
	slow = fall->dest;
	join = split_block(slow, call)->dest;
	remove_edge(fall);
	user = dusk_new_bb(bb);
	kern = dusk_new_bb(user);
	memo_bb = dusk_new_bb(kern);
	memo_hit = dusk_new_bb(memo_bb);
	look = dusk_new_bb(memo_hit);
	hit = dusk_new_bb(look);

	gsi = gsi_last_bb(bb);
	a = dusk_val_at(&gsi, fold_convert(ul, addr));
	/* neither is rare: a hook reads the packet, its own locals... */
	dusk_branch(bb, GE_EXPR, a, build_int_cst(ul, DUSK_KERNEL_MIN), kern,
		    user, loc, profile_probability::even());

	/* a user address, unless it is a mirror one (translated back) */
	gsi = gsi_last_bb(user);
	v = dusk_val_at(&gsi, fold_convert(vp, addr));
	gsi_insert_after(&gsi, gimple_build_assign(t, v), GSI_CONTINUE_LINKING);
	d = dusk_val_at(&gsi, fold_build2(MINUS_EXPR, ul, a,
		dusk_load_at(&gsi, shadow,
			     offsetof(struct dusk_shadow_table, mirror_lo), ul)));
	dusk_branch(user, LT_EXPR, d,
		    dusk_load_at(&gsi, shadow,
				 offsetof(struct dusk_shadow_table, mirror_span), ul),
		    slow, join, loc);

	/* empty, or crossing a page */
	gsi = gsi_last_bb(kern);
	off = dusk_val_at(&gsi, fold_build2(BIT_AND_EXPR, ul, a,
					    build_int_cst(ul, DUSK_PAGE_SIZE - 1)));
	sm1 = dusk_val_at(&gsi, fold_build2(MINUS_EXPR, ul, fold_convert(ul, size),
					    build_int_cst(ul, 1)));
	dusk_branch(kern, GE_EXPR, sm1,
		    dusk_val_at(&gsi, fold_build2(MINUS_EXPR, ul,
				build_int_cst(ul, DUSK_PAGE_SIZE), off)),
		    slow, write ? look : memo_bb, loc);

	/* the page the memo holds, in the same epoch */
	gsi = gsi_last_bb(write ? look : memo_bb);
	kpn = dusk_val_at(&gsi, fold_build2(RSHIFT_EXPR, ul, a,
					    build_int_cst(integer_type_node,
							  DUSK_PAGE_SHIFT)));
	if (write) {
		delete_basic_block(memo_bb);
		delete_basic_block(memo_hit);
	} else {
		ep = dusk_load_at(&gsi, shadow,
				  offsetof(struct dusk_shadow_table, epoch), ul);
		bad = fold_build2(BIT_IOR_EXPR, ul,
				  fold_build2(BIT_XOR_EXPR, ul, kpn, memo->kpn),
				  fold_build2(BIT_XOR_EXPR, ul, ep, memo->epoch));
		dusk_branch(memo_bb, NE_EXPR, dusk_val_at(&gsi, bad),
			    build_int_cst(ul, 0), look, memo_hit, loc,
			    profile_probability::even());
		gsi = gsi_last_bb(memo_hit);
		v = dusk_val_at(&gsi, fold_build_pointer_plus(
				fold_convert(vp, addr),
				fold_convert(sizetype, memo->delta)));
		gsi_insert_after(&gsi, gimple_build_assign(t, v),
				 GSI_CONTINUE_LINKING);
		dusk_edge(memo_hit, join, EDGE_FALLTHRU,
			  profile_probability::always());
	}

	/* the home slot: this page, this generation, every line valid */
	gsi = gsi_last_bb(look);
	idx = fold_build2(RSHIFT_EXPR, ul,
			  fold_build2(MULT_EXPR, ul, kpn,
				      build_int_cst(ul, DUSK_SHADOW_HASH_MUL)),
			  build_int_cst(integer_type_node, 32));
	idx = fold_build2(BIT_AND_EXPR, ul, idx,
			  dusk_load_at(&gsi, shadow,
				       offsetof(struct dusk_shadow_table, mask), ul));
	ents = dusk_load_at(&gsi, shadow, offsetof(struct dusk_shadow_table, ents),
			    vp);
	e = dusk_val_at(&gsi, fold_build_pointer_plus(ents,
		fold_build2(MULT_EXPR, sizetype, fold_convert(sizetype, idx),
			    size_int(sizeof(struct dusk_shadow_entry)))));
	/* one test for the three: the slot is always there to read */
	bad = fold_build2(BIT_IOR_EXPR, ul,
		fold_build2(BIT_XOR_EXPR, ul, kpn,
			dusk_load_at(&gsi, e,
				     offsetof(struct dusk_shadow_entry, kpn), ul)),
		fold_build2(BIT_XOR_EXPR, ul,
			dusk_load_at(&gsi, e,
				     offsetof(struct dusk_shadow_entry, gen), ul),
			dusk_load_at(&gsi, shadow,
				     offsetof(struct dusk_shadow_table, gen), ul)));
	v = dusk_load_at(&gsi, e, offsetof(struct dusk_shadow_entry, valid), ul);
	if (TREE_CODE(size) == INTEGER_CST && tree_fits_uhwi_p(size) &&
	    tree_to_uhwi(size) && tree_to_uhwi(size) <= (1 << DUSK_LINE_SHIFT) &&
	    !write) {
		/* At most two lines, the first and the last: their two bits
		 * (one when they are the same line, as for most accesses). */
		tree nv = fold_build1(BIT_NOT_EXPR, ul, v);
		tree l0 = fold_convert(integer_type_node,
			fold_build2(RSHIFT_EXPR, ul, off,
				    build_int_cst(integer_type_node, DUSK_LINE_SHIFT)));
		tree l1 = fold_convert(integer_type_node,
			fold_build2(RSHIFT_EXPR, ul,
				fold_build2(PLUS_EXPR, ul, off, sm1),
				build_int_cst(integer_type_node, DUSK_LINE_SHIFT)));

		if (integer_zerop(sm1))
			l1 = l0;
		bad = fold_build2(BIT_IOR_EXPR, ul, bad,
			fold_build2(BIT_AND_EXPR, ul,
				fold_build2(BIT_IOR_EXPR, ul,
					fold_build2(RSHIFT_EXPR, ul, nv, l0),
					fold_build2(RSHIFT_EXPR, ul, unshare_expr(nv),
						    l1)),
				build_int_cst(ul, 1)));
	} else {
		/* shadow_fast.h's dusk_shadow_lines(off, size) */
		tree ones = build_all_ones_cst(ul);
		tree shift = build_int_cst(integer_type_node, DUSK_LINE_SHIFT);

		lines = dusk_val_at(&gsi, fold_build2(BIT_AND_EXPR, ul,
			fold_build2(LSHIFT_EXPR, ul, ones,
				fold_convert(integer_type_node,
					fold_build2(RSHIFT_EXPR, ul, off, shift))),
			fold_build2(RSHIFT_EXPR, ul, ones,
				fold_convert(integer_type_node,
					fold_build2(MINUS_EXPR, ul,
						build_int_cst(ul, 63),
						fold_build2(RSHIFT_EXPR, ul,
							fold_build2(PLUS_EXPR, ul,
								    off, sm1),
							shift))))));
		bad = fold_build2(BIT_IOR_EXPR, ul, bad,
				  fold_build2(BIT_XOR_EXPR, ul,
					      fold_build2(BIT_AND_EXPR, ul, v, lines),
					      lines));
	}
	dusk_branch(look, NE_EXPR, dusk_val_at(&gsi, bad), build_int_cst(ul, 0),
		    slow, hit, loc);

	/* cached: a write marks its lines dirty and takes the mirror's
	 * address; a read remembers the page (if the table holds it whole)
	 * and takes the memo's way to the mirror */
	gsi = gsi_last_bb(hit);
	u = dusk_load_at(&gsi, e, offsetof(struct dusk_shadow_entry, user), vp);
	if (write) {
		tree dirty = build2(MEM_REF, ul, e, build_int_cst(ptr_type_node,
			offsetof(struct dusk_shadow_entry, dirty)));
		tree nd = dusk_val_at(&gsi, fold_build2(BIT_IOR_EXPR, ul,
					unshare_expr(dirty), lines));

		gsi_insert_after(&gsi, gimple_build_assign(dirty, nd),
				 GSI_CONTINUE_LINKING);
		v = dusk_val_at(&gsi, fold_build_pointer_plus(u,
				fold_convert(sizetype, off)));
		gsi_insert_after(&gsi, gimple_build_assign(t, v),
				 GSI_CONTINUE_LINKING);
		dusk_edge(hit, join, EDGE_FALLTHRU, profile_probability::always());
	} else {
		v = dusk_val_at(&gsi, fold_build2(BIT_AND_EXPR, ul, kpn,
			fold_build1(NEGATE_EXPR, ul, fold_convert(ul,
				fold_build2(EQ_EXPR, boolean_type_node, v,
					    build_all_ones_cst(ul))))));
		gsi_insert_after(&gsi, gimple_build_assign(memo->kpn, v),
				 GSI_CONTINUE_LINKING);
		gsi_insert_after(&gsi, gimple_build_assign(memo->epoch, ep),
				 GSI_CONTINUE_LINKING);
		v = dusk_val_at(&gsi, fold_build2(MINUS_EXPR, ul,
						  fold_convert(ul, u),
						  fold_build2(MINUS_EXPR, ul, a,
							      off)));
		gsi_insert_after(&gsi, gimple_build_assign(memo->delta, v),
				 GSI_CONTINUE_LINKING);
		dusk_edge(hit, memo_hit, EDGE_FALLTHRU,
			  profile_probability::always());
	}

	/* the miss: paths to it are cold */
	gsi = gsi_start_bb(slow);
	gsi_insert_before(&gsi, gimple_build_predict(PRED_COLD_LABEL, NOT_TAKEN),
			  GSI_SAME_STMT);
	for (gimple_stmt_iterator i = gsi_start_bb(user); !gsi_end_p(i);
	     gsi_next(&i))
		gimple_set_location(gsi_stmt(i), loc);
	for (basic_block b : { bb, kern, look, hit })
		for (gimple_stmt_iterator i = gsi_start_bb(b); !gsi_end_p(i);
		     gsi_next(&i))
			if (!gimple_has_location(gsi_stmt(i)))
				gimple_set_location(gsi_stmt(i), loc);
	if (write)
		return;
	for (basic_block b : { memo_bb, memo_hit })
		for (gimple_stmt_iterator i = gsi_start_bb(b); !gsi_end_p(i);
		     gsi_next(&i))
			if (!gimple_has_location(gsi_stmt(i)))
				gimple_set_location(gsi_stmt(i), loc);
}

/* Every __dusk_check and __dusk_check_w call of fun gets its fast path. */
static void dusk_inline_checks(function *fun)
{
	auto_vec<gcall *> calls;
	gimple_stmt_iterator gsi;
	dusk_memo memo;
	basic_block bb;
	gcall *call;
	unsigned int i;

	FOR_EACH_BB_FN(bb, fun)
		for (gimple_stmt_iterator gsi = gsi_start_bb(bb); !gsi_end_p(gsi);
		     gsi_next(&gsi)) {
			gimple *stmt = gsi_stmt(gsi);

			if (is_gimple_call(stmt) && gimple_call_lhs(stmt) &&
			    (gimple_call_fndecl(stmt) == rt_check ||
			     gimple_call_fndecl(stmt) == rt_check_w))
				calls.safe_push(as_a<gcall *>(stmt));
		}
	if (calls.is_empty())
		return;
	/* the memo starts empty, on the way in (not in the first block,
	 * which may be a loop's) */
	memo.kpn = create_tmp_reg(long_unsigned_type_node, "dusk_memo_kpn");
	memo.epoch = create_tmp_reg(long_unsigned_type_node, "dusk_memo_epoch");
	memo.delta = create_tmp_reg(long_unsigned_type_node, "dusk_memo_delta");
	bb = split_edge(single_succ_edge(ENTRY_BLOCK_PTR_FOR_FN(fun)));
	gsi = gsi_last_bb(bb);
	for (tree var : { memo.kpn, memo.epoch, memo.delta })
		gsi_insert_after(&gsi, gimple_build_assign(var,
				 build_int_cst(long_unsigned_type_node, 0)),
				 GSI_CONTINUE_LINKING);
	FOR_EACH_VEC_ELT(calls, i, call)
		dusk_inline_check(call, gimple_call_fndecl(call) == rt_check_w,
				  &memo);
	free_dominance_info(CDI_DOMINATORS);
	/* no new loop, but let the loop passes see the blocks anew */
	if (current_loops)
		loops_state_set(LOOPS_NEED_FIXUP);
}

/* ---- the pass ------------------------------------------------------------------- */

/*
 * A pointer loaded from memory a kernel copy may have written: through a
 * pointer (checked: loaded is its mirror address), or from the module's
 * own static data (refreshed from its kernel copy after kernel calls).
 */
static bool dusk_loads_pointer(gassign *as, tree loaded)
{
	tree lhs = gimple_assign_lhs(as), rhs = gimple_assign_rhs1(as), base;

	/* into a local: the store side then needs no check of its own */
	if (!POINTER_TYPE_P(TREE_TYPE(lhs)) || TREE_CODE(lhs) != VAR_DECL ||
	    TREE_STATIC(lhs) || DECL_EXTERNAL(lhs) || TREE_CODE(rhs) == ADDR_EXPR)
		return false;
	if (loaded)
		return true;
	if (!handled_component_p(rhs) && TREE_CODE(rhs) != MEM_REF &&
	    TREE_CODE(rhs) != VAR_DECL)
		return false;
	base = get_base_address(rhs);
	return base && TREE_CODE(base) == VAR_DECL &&
	       (TREE_STATIC(base) || DECL_EXTERNAL(base));
}

/* lhs = __dusk_uptr(lhs), after the load (as: "lhs = *p"). */
static void dusk_uptr_after(dusk_site *site, gassign *as)
{
	tree lhs = gimple_assign_lhs(as), t, v;
	gimple_stmt_iterator after = *site->gsi;
	gcall *call;
	gassign *back;

	t = create_tmp_reg(ptr_type_node, "dusk");
	v = create_tmp_reg(ptr_type_node, "dusk");
	gassign *conv = gimple_build_assign(v, fold_convert(ptr_type_node, lhs));
	call = gimple_build_call(rt_uptr, 1, v);
	gimple_call_set_lhs(call, t);
	back = gimple_build_assign(lhs, fold_convert(TREE_TYPE(lhs), t));
	gimple_set_location(conv, site->loc);
	gimple_set_location(call, site->loc);
	gimple_set_location(back, site->loc);
	gsi_insert_after(&after, conv, GSI_NEW_STMT);
	gsi_insert_after(&after, call, GSI_NEW_STMT);
	gsi_insert_after(&after, back, GSI_NEW_STMT);
	/* the walk goes on after what was inserted */
	*site->gsi = after;
}

static void dusk_assign(dusk_site *site, gassign *as)
{
	tree t;
	unsigned int i;

	if (gimple_assign_single_p(as)) {
		tree loaded = dusk_operand(site, gimple_assign_rhs1_ptr(as), false);

		if (dusk_loads_pointer(as, loaded))
			dusk_uptr_after(site, as);
	} else {
		for (i = 1; i < gimple_num_ops(as); i++)
			if (TREE_CODE(gimple_op(as, i)) == ADDR_EXPR)
				dusk_check_addr(site, gimple_op_ptr(as, i));
	}
	t = dusk_operand(site, gimple_assign_lhs_ptr(as), true);
	/* A pointer stored into (possibly) kernel memory. */
	if (t && gimple_assign_single_p(as) &&
	    POINTER_TYPE_P(TREE_TYPE(gimple_assign_lhs(as))) &&
	    !integer_zerop(gimple_assign_rhs1(as))) {
		tree v = gimple_assign_rhs1(as);
		tree k = dusk_call(site, rt_kptr, 2, t,
				   dusk_val(site, fold_convert(ptr_type_node, v)));

		gimple_assign_set_rhs1(as, dusk_val(site, fold_convert(TREE_TYPE(v), k)));
	}
}

static void dusk_stmt(dusk_site *site, gimple *stmt)
{
	unsigned int i;

	switch (gimple_code(stmt)) {
	case GIMPLE_ASSIGN:
		dusk_assign(site, as_a<gassign *>(stmt));
		break;
	case GIMPLE_CALL: {
		gcall *call = as_a<gcall *>(stmt);

		if (gimple_call_internal_p(call) ||
		    dusk_runtime_fn(gimple_call_fndecl(call)))
			break;
		dusk_call_stmt(site, call);
		dusk_operand(site, gimple_call_lhs_ptr(call), true);
		break;
	}
	case GIMPLE_RETURN:
		dusk_operand(site, gimple_return_retval_ptr(as_a<greturn *>(stmt)),
			     false);
		break;
	case GIMPLE_COND:
		for (i = 0; i < 2; i++)
			dusk_check_addr(site, gimple_op_ptr(stmt, i));
		break;
	case GIMPLE_ASM:
		dusk_asm_operands(site, as_a<gasm *>(stmt));
		break;
	default:
		break;
	}
}

static bool dusk_counts_depth(function *fun)
{
	tree decl = fun->decl;

	return !DECL_DECLARED_INLINE_P(decl) && !dusk_runtime_fn(decl);
}

static unsigned int dusk_execute(function *fun)
{
	basic_block bb;
	gimple_stmt_iterator gsi;

	if (dusk_runtime_fn(fun->decl))
		return 0;

	/* Asm first: what replaces it is then instrumented like the rest. */
	FOR_EACH_BB_FN(bb, fun) {
		for (gsi = gsi_start_bb(bb); !gsi_end_p(gsi);) {
			gimple *stmt = gsi_stmt(gsi);
			dusk_site site = { &gsi, gimple_location(stmt) };

			if (is_gimple_call(stmt) &&
			    dusk_uaccess_fn(gimple_call_fndecl(stmt)) &&
			    !dusk_uaccess_fn(fun->decl)) {
				location_t at = dusk_module_loc(&site);

				error_at(at, "dusk: %qs accesses user space in a "
					 "way dusk does not run at user level: use "
					 "%s instead",
					 dusk_decl_name(gimple_call_fndecl(stmt)),
					 dusk_uaccess_fn(gimple_call_fndecl(stmt)));
				dusk_refused_note(&site, at);
			}
			if (gimple_code(stmt) == GIMPLE_ASM &&
			    dusk_asm(&site, as_a<gasm *>(stmt))) {
				gsi_remove(&gsi, true);
				continue;
			}
			gsi_next(&gsi);
		}
	}

	FOR_EACH_BB_FN(bb, fun) {
		for (gsi = gsi_start_bb(bb); !gsi_end_p(gsi); gsi_next(&gsi)) {
			gimple *stmt = gsi_stmt(gsi);
			dusk_site site = { &gsi, gimple_location(stmt) };

			if (is_gimple_debug(stmt))
				continue;
			for (unsigned int i = 0; i < gimple_num_ops(stmt); i++)
				walk_tree(gimple_op_ptr(stmt, i), dusk_note_fn, NULL, NULL);
			dusk_note_vcall(stmt, fun->decl);
			dusk_stmt(&site, stmt);
			if (gimple_code(stmt) == GIMPLE_RETURN &&
			    dusk_counts_depth(fun))
				dusk_call(&site, rt_leave, 0);
		}
	}

	if (dusk_counts_depth(fun)) {
		basic_block first = single_succ(ENTRY_BLOCK_PTR_FOR_FN(fun));

		gsi = gsi_after_labels(first);
		dusk_site site = { &gsi, DECL_SOURCE_LOCATION(fun->decl) };
		dusk_call(&site, rt_enter, 0);
	}
	/* Not in code that runs once (__init, __exit: cold): its size and
	 * compile time would buy nothing. */
	if (!dusk_check_calls &&
	    !lookup_attribute("cold", DECL_ATTRIBUTES(fun->decl)))
		dusk_inline_checks(fun);
	if (dusk_verbose)
		inform(DECL_SOURCE_LOCATION(fun->decl), "dusk: instrumented %qD",
		       fun->decl);
	return 0;
}

static const pass_data dusk_pass_data = {
	GIMPLE_PASS,		/* type */
	"dusk",			/* name */
	OPTGROUP_NONE,		/* optinfo_flags */
	TV_NONE,		/* tv_id */
	PROP_cfg,		/* properties_required */
	0,			/* properties_provided */
	0,			/* properties_destroyed */
	0,			/* todo_flags_start */
	0,			/* todo_flags_finish */
};

class dusk_pass : public gimple_opt_pass {
public:
	dusk_pass(gcc::context *ctxt) : gimple_opt_pass(dusk_pass_data, ctxt) {}
	bool gate(function *) final override { return true; }
	unsigned int execute(function *fun) final override
	{
		return dusk_execute(fun);
	}
};

int plugin_init(struct plugin_name_args *info, struct plugin_gcc_version *version)
{
	struct register_pass_info pass;
	int i;

	if (!plugin_default_version_check(version, &gcc_version)) {
		error("dusk: plugin built for GCC %s, not this compiler",
		      gcc_version.basever);
		return 1;
	}
	for (i = 0; i < info->argc; i++) {
		if (!strcmp(info->argv[i].key, "verbose")) {
			dusk_verbose = true;
			continue;
		}
		if (!strcmp(info->argv[i].key, "check-calls")) {
			dusk_check_calls = true;
			continue;
		}
		error("dusk: unknown option %<-fplugin-arg-%s-%s%>",
		      info->base_name, info->argv[i].key);
		return 1;
	}
	register_callback(info->base_name, PLUGIN_INFO, NULL, &dusk_plugin_info);
	register_callback(info->base_name, PLUGIN_START_UNIT, dusk_runtime_decls,
			  NULL);
	/* Every function has been through the pass when IPA starts. */
	register_callback(info->base_name, PLUGIN_ALL_IPA_PASSES_START,
			  dusk_emit_records, NULL);

	/*
	 * Right after the CFG is built: statements are lowered and every
	 * access is explicit, but nothing is optimised yet, so every access
	 * the source makes is seen, and SSA is built over our rewrite.
	 */
	pass.pass = new dusk_pass(g);
	pass.reference_pass_name = "cfg";
	pass.ref_pass_instance_number = 1;
	pass.pos_op = PASS_POS_INSERT_AFTER;
	register_callback(info->base_name, PLUGIN_PASS_MANAGER_SETUP, NULL, &pass);
	return 0;
}
