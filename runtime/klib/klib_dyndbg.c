// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * Static keys and dynamic debug at user level (klib_dyndbg.h): the
 * query language and the messages of Linux 6.1's lib/dynamic_debug.c.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kconst.h"
#include "console.h"
#include "klib.h"
#include "klib_ctx.h"
#include "klib_dyndbg.h"
#include "klib_fmt.h"
#include "klib_printk.h"
#include "util.h"
#include "plock.h"

/* struct _ddebug of the target kernel (CONFIG_JUMP_LABEL): kconst.h. */
struct dusk_ddebug {
	const char *modname;
	const char *function;
	const char *filename;
	const char *format;
	unsigned int lineno:18;
	unsigned int class_id:6;
	unsigned int flags:8;
	struct {
		int enabled;		/* struct static_key */
		unsigned long type;
	} key;
} __attribute__((aligned(8)));

#define DD_FIELD(f, F)							\
	(offsetof(struct dusk_ddebug, f) == DUSK_K_DDEBUG__##F &&	\
	 sizeof(((struct dusk_ddebug *)0)->f) == DUSK_K_SIZEOF_DDEBUG__##F)
_Static_assert(sizeof(struct dusk_ddebug) == DUSK_K_SIZEOF_DDEBUG &&
	       DD_FIELD(modname, MODNAME) && DD_FIELD(function, FUNCTION) &&
	       DD_FIELD(filename, FILENAME) && DD_FIELD(format, FORMAT) &&
	       DD_FIELD(key, KEY) && DUSK_K_DDEBUG__KEY == 40 &&
	       DUSK_K_SIZEOF_STATIC_KEY == 16 &&
	       DUSK_K_STATIC_KEY__ENABLED == 0,
	       "struct dusk_ddebug is not the target kernel's struct _ddebug (kconst.h)");

#define FL_PRINT	DUSK_K__DPRINTK_FLAGS_PRINT
#define FL_MODNAME	DUSK_K__DPRINTK_FLAGS_INCL_MODNAME
#define FL_FUNCNAME	DUSK_K__DPRINTK_FLAGS_INCL_FUNCNAME
#define FL_LINENO	DUSK_K__DPRINTK_FLAGS_INCL_LINENO
#define FL_TID		DUSK_K__DPRINTK_FLAGS_INCL_TID
#define FL_INCL_ANY	(FL_MODNAME | FL_FUNCNAME | FL_LINENO | FL_TID)
#define CLASS_DFLT	DUSK_K__DPRINTK_CLASS_DFLT
#define PREFIX_SIZE	64
#define MAXWORDS	9

/* ---- static keys ------------------------------------------------------------ */

DUSK_EXPORT bool __dusk_static_branch(const void *key, unsigned long branch)
{
	const int *enabled = __dusk_check(key, sizeof(int));

	return (__atomic_load_n(enabled, __ATOMIC_RELAXED) > 0) ^ (branch & 1);
}

/* ---- the descriptors ------------------------------------------------------------ */

static pthread_mutex_t dd_mu = PTHREAD_MUTEX_INITIALIZER;
static struct dusk_ddebug *dd_start, *dd_stop;

DUSK_EXPORT void __dusk_dyndbg_register(void *start, void *stop)
{
	dusk_plock_mutex_lock(&dd_mu);
	dd_start = start;
	dd_stop = stop;
	pthread_mutex_unlock(&dd_mu);
}

struct dd_query {
	const char *filename, *module, *function, *format, *class_string;
	unsigned int first_lineno, last_lineno;
};

struct dd_flags {
	unsigned int flags, mask;
};

/* The kernel reports query errors with pr_err() under "dyndbg: ". */
static void dd_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void dd_err(const char *fmt, ...)
{
	va_list ap;

	fputs("dyndbg: ", dusk_console_err());
	va_start(ap, fmt);
	vfprintf(dusk_console_err(), fmt, ap);
	va_end(ap);
}

/* lib/parser.c match_wildcard(): '*' and '?'. */
static bool match_wildcard(const char *pattern, const char *str)
{
	const char *s = str, *p = pattern;
	bool star = false;

	while (*s) {
		switch (*p) {
		case '?':
			s++;
			p++;
			break;
		case '*':
			star = true;
			str = s;
			if (!*++p)
				return true;
			pattern = p;
			break;
		default:
			if (*s == *p) {
				s++;
				p++;
			} else {
				if (!star)
					return false;
				str++;
				s = str;
				p = pattern;
			}
			break;
		}
	}
	if (*p == '*')
		++p;
	return !*p;
}

static const char *kbasename(const char *path)
{
	const char *tail = strrchr(path, '/');

	return tail ? tail + 1 : path;
}

static int dd_change(const struct dd_query *q, const struct dd_flags *mod)
{
	struct dusk_ddebug *dp;
	unsigned int newflags;
	int nfound = 0;

	dusk_plock_mutex_lock(&dd_mu);
	for (dp = dd_start; dp && dp < dd_stop; dp++) {
		/* class maps (DECLARE_DYNDBG_CLASSMAP) are not read: a class
		 * query matches nothing, and class'd sites are left alone */
		if (q->class_string || dp->class_id != CLASS_DFLT)
			continue;
		if (q->module && !match_wildcard(q->module, dp->modname))
			continue;
		if (q->filename && !match_wildcard(q->filename, dp->filename) &&
		    !match_wildcard(q->filename, kbasename(dp->filename)))
			continue;
		if (q->function && !match_wildcard(q->function, dp->function))
			continue;
		if (q->format) {
			if (*q->format == '^') {
				if (strstr(dp->format, q->format + 1) != dp->format)
					continue;
			} else if (!strstr(dp->format, q->format)) {
				continue;
			}
		}
		if (q->first_lineno && dp->lineno < q->first_lineno)
			continue;
		if (q->last_lineno && dp->lineno > q->last_lineno)
			continue;
		nfound++;
		newflags = (dp->flags & mod->mask) | mod->flags;
		if (newflags == dp->flags)
			continue;
		/* static_branch_enable/disable() of the descriptor's key */
		if ((dp->flags & FL_PRINT) && !(newflags & FL_PRINT))
			__atomic_store_n(&dp->key.enabled, 0, __ATOMIC_RELAXED);
		else if (!(dp->flags & FL_PRINT) && (newflags & FL_PRINT))
			__atomic_store_n(&dp->key.enabled, 1, __ATOMIC_RELAXED);
		dp->flags = newflags;
	}
	pthread_mutex_unlock(&dd_mu);
	return nfound;
}

/* ddebug_tokenize(): words separated by spaces, "..." or '...' quoted, '#'
 * starts a comment. */
static int dd_tokenize(char *buf, char *words[], int maxwords)
{
	int nwords = 0;

	while (*buf) {
		char *end;

		while (isspace((unsigned char)*buf))
			buf++;
		if (!*buf || *buf == '#')
			break;
		if (*buf == '"' || *buf == '\'') {
			int quote = *buf++;

			for (end = buf; *end && *end != quote; end++)
				;
			if (!*end) {
				dd_err("unclosed quote: %s\n", buf);
				return -EINVAL;
			}
		} else {
			for (end = buf; *end && !isspace((unsigned char)*end); end++)
				;
		}
		if (nwords == maxwords) {
			dd_err("too many words, legal max <=%d\n", maxwords);
			return -EINVAL;
		}
		if (*end)
			*end++ = '\0';
		words[nwords++] = buf;
		buf = end;
	}
	return nwords;
}

static int parse_lineno(const char *str, unsigned int *val)
{
	char *end;
	unsigned long v;

	if (!*str) {
		*val = 0;
		return 0;
	}
	errno = 0;
	v = strtoul(str, &end, 10);
	if (errno || *end || !isdigit((unsigned char)*str) || v > UINT_MAX) {
		dd_err("bad line-number: %s\n", str);
		return -EINVAL;
	}
	*val = (unsigned int)v;
	return 0;
}

static int parse_linerange(struct dd_query *q, char *first)
{
	char *last = strchr(first, '-');

	if (q->first_lineno || q->last_lineno) {
		dd_err("match-spec: line used 2x\n");
		return -EINVAL;
	}
	if (last)
		*last++ = '\0';
	if (parse_lineno(first, &q->first_lineno) < 0)
		return -EINVAL;
	if (last) {
		if (parse_lineno(last, &q->last_lineno) < 0)
			return -EINVAL;
		if (q->last_lineno == 0)
			q->last_lineno = UINT_MAX;
		if (q->last_lineno < q->first_lineno) {
			dd_err("last-line:%u < 1st-line:%u\n", q->last_lineno,
			       q->first_lineno);
			return -EINVAL;
		}
	} else {
		q->last_lineno = q->first_lineno;
	}
	return 0;
}

static int check_set(const char **dest, char *src, const char *name)
{
	int rc = 0;

	if (*dest) {
		rc = -EINVAL;
		dd_err("match-spec:%s val:%s overridden by %s\n", name, *dest, src);
	}
	*dest = src;
	return rc;
}

/* string_unescape_inplace(UNESCAPE_SPACE | UNESCAPE_OCTAL |
 * UNESCAPE_SPECIAL): \f \n \r \t \v, \NNN, \" \\ \a \e. */
static void unescape(char *s)
{
	char *out = s;

	while (*s) {
		char c = s[1];
		const char *sp = strchr("fnrtv", c ? c : '?');

		if (*s != '\\' || !c) {
			*out++ = *s++;
			continue;
		}
		if (sp) {
			*out++ = "\f\n\r\t\v"[sp - "fnrtv"];
			s += 2;
		} else if (c >= '0' && c <= '7') {
			int v = 0, n;

			for (n = 0, s++; n < 3 && *s >= '0' && *s <= '7'; n++, s++)
				v = v * 8 + (*s - '0');
			*out++ = (char)v;
		} else if (c == '"' || c == '\\' || c == 'a' || c == 'e') {
			*out++ = c == 'a' ? '\a' : c == 'e' ? '\033' : c;
			s += 2;
		} else {
			*out++ = *s++;
		}
	}
	*out = '\0';
}

static int dd_parse_query(char *words[], int nwords, struct dd_query *q,
			  const char *modname)
{
	int i, rc = 0;

	if (nwords % 2) {
		dd_err("expecting pairs of match-spec <value>\n");
		return -EINVAL;
	}
	for (i = 0; i < nwords; i += 2) {
		char *keyword = words[i], *arg = words[i + 1], *fline;

		if (!strcmp(keyword, "func")) {
			rc = check_set(&q->function, arg, "func");
		} else if (!strcmp(keyword, "file")) {
			if (check_set(&q->filename, arg, "file"))
				return -EINVAL;
			/* a tail :NAME is a function, :N[-M] lines */
			fline = strchr(arg, ':');
			if (!fline)
				continue;
			*fline++ = '\0';
			if (isalpha((unsigned char)*fline) || *fline == '*' ||
			    *fline == '?') {
				if (check_set(&q->function, fline, "func"))
					return -EINVAL;
			} else if (parse_linerange(q, fline)) {
				return -EINVAL;
			}
		} else if (!strcmp(keyword, "module")) {
			rc = check_set(&q->module, arg, "module");
		} else if (!strcmp(keyword, "format")) {
			unescape(arg);
			rc = check_set(&q->format, arg, "format");
		} else if (!strcmp(keyword, "line")) {
			if (parse_linerange(q, arg))
				return -EINVAL;
		} else if (!strcmp(keyword, "class")) {
			rc = check_set(&q->class_string, arg, "class");
		} else {
			dd_err("unknown keyword \"%s\"\n", keyword);
			return -EINVAL;
		}
		if (rc)
			return rc;
	}
	if (!q->module && modname)
		q->module = modname;
	return 0;
}

/* [-+=][pmflt_]* */
static int dd_parse_flags(const char *str, struct dd_flags *mod)
{
	static const struct { unsigned int flag; char c; } opts[] = {
		{ FL_PRINT, 'p' }, { FL_MODNAME, 'm' }, { FL_FUNCNAME, 'f' },
		{ FL_LINENO, 'l' }, { FL_TID, 't' }, { 0, '_' },
	};
	int op = *str, i;

	if (op != '+' && op != '-' && op != '=') {
		dd_err("bad flag-op %c, at start of %s\n", *str, str);
		return -EINVAL;
	}
	for (str++; *str; str++) {
		for (i = (int)DUSK_ARRAY_SIZE(opts) - 1; i >= 0; i--)
			if (*str == opts[i].c)
				break;
		if (i < 0) {
			dd_err("unknown flag '%c'\n", *str);
			return -EINVAL;
		}
		mod->flags |= opts[i].flag;
	}
	if (op == '=') {
		mod->mask = 0;
	} else if (op == '+') {
		mod->mask = ~0U;
	} else {
		mod->mask = ~mod->flags;
		mod->flags = 0;
	}
	return 0;
}

static int dd_exec_query(char *query, const char *modname)
{
	struct dd_flags mod = { 0 };
	struct dd_query q = { 0 };
	char *words[MAXWORDS];
	int nwords = dd_tokenize(query, words, MAXWORDS);

	if (nwords <= 0) {
		dd_err("tokenize failed\n");
		return -EINVAL;
	}
	if (dd_parse_flags(words[nwords - 1], &mod)) {
		dd_err("flags parse failed\n");
		return -EINVAL;
	}
	if (dd_parse_query(words, nwords - 1, &q, modname)) {
		dd_err("query parse failed\n");
		return -EINVAL;
	}
	return dd_change(&q, &mod);
}

int dusk_dyndbg_exec(const char *queries, const char *modname)
{
	char *copy = strdup(queries), *query, *split;
	int exitcode = 0, nfound = 0, rc;

	if (!copy)
		return -ENOMEM;
	for (query = copy; query; query = split) {
		split = strpbrk(query, ";\n");
		if (split)
			*split++ = '\0';
		while (isspace((unsigned char)*query))
			query++;
		if (!*query || *query == '#')
			continue;
		rc = dd_exec_query(query, modname);
		if (rc < 0)
			exitcode = rc;
		else
			nfound += rc;
	}
	free(copy);
	return exitcode ? exitcode : nfound;
}

DUSK_EXPORT int dusk_dyndbg_query(const char *queries)
{
	return dusk_dyndbg_exec(queries, NULL);
}

int dusk_dyndbg_param(const char *param, const char *val)
{
	const char *dot = strchr(param, '.');
	char modname[128];

	if (dot) {
		if (strcmp(dot + 1, "dyndbg"))
			return -ENOENT;
		snprintf(modname, sizeof(modname), "%.*s", (int)(dot - param),
			 param);
		dusk_dyndbg_exec(val ? val : "+p", modname);
		return 0;
	}
	if (strcmp(param, "dyndbg"))
		return -ENOENT;
	/* this module: its descriptors are all there is at user level */
	dusk_dyndbg_exec(val ? val : "+p", NULL);
	return 0;
}

/* ---- the messages --------------------------------------------------------------- */

static int remaining(int wrote)
{
	return PREFIX_SIZE - wrote > 0 ? PREFIX_SIZE - wrote : 0;
}

/* __dynamic_emit_prefix(): "[tid] module:function:line: " by the flags. */
static const char *dd_prefix(const struct dusk_ddebug *desc, char *buf)
{
	int pos = 0, pos_after_tid;

	buf[0] = '\0';
	if (!(desc->flags & FL_INCL_ANY))
		return buf;
	if (desc->flags & FL_TID) {
		if (dusk_ctx_preempt_count() & (DUSK_K_SOFTIRQ_MASK |
						 DUSK_K_HARDIRQ_MASK |
						 DUSK_K_NMI_MASK))
			pos += snprintf(buf + pos, remaining(pos), "<intr> ");
		else
			pos += snprintf(buf + pos, remaining(pos), "[%d] ",
					dusk_klib_tid());
	}
	pos_after_tid = pos;
	if (desc->flags & FL_MODNAME)
		pos += snprintf(buf + pos, remaining(pos), "%s:", desc->modname);
	if (desc->flags & FL_FUNCNAME)
		pos += snprintf(buf + pos, remaining(pos), "%s:", desc->function);
	if (desc->flags & FL_LINENO)
		pos += snprintf(buf + pos, remaining(pos), "%u:",
				(unsigned int)desc->lineno);
	if (pos - pos_after_tid)
		pos += snprintf(buf + pos, remaining(pos), " ");
	if (pos >= PREFIX_SIZE)
		buf[PREFIX_SIZE - 1] = '\0';
	return buf;
}

/* The descriptor is the module's own (never a kernel address). */
static const struct dusk_ddebug *dd_desc(void *descriptor)
{
	return __dusk_check(descriptor, sizeof(struct dusk_ddebug));
}

DUSK_EXPORT void __dusk_impl___dynamic_pr_debug(void *descriptor,
						const char *fmt, ...)
{
	char buf[PREFIX_SIZE];
	struct dusk_va_format vaf;
	va_list ap;

	va_start(ap, fmt);
	vaf.fmt = fmt;
	vaf.va = &ap;
	__dusk_impl__printk("\0017%s%pV", dd_prefix(dd_desc(descriptor), buf),
			    &vaf);
	va_end(ap);
}

DUSK_EXPORT void __dusk_impl___dynamic_dev_dbg(void *descriptor,
					       const void *dev,
					       const char *fmt, ...)
{
	char buf[PREFIX_SIZE];
	va_list ap;

	va_start(ap, fmt);
	dusk_klib_dev_vprintk("\0017", dev ? dd_prefix(dd_desc(descriptor), buf) :
			      "", dev, fmt, ap);
	va_end(ap);
}
