// SPDX-License-Identifier: GPL-2.0
/*
 * devclient - a scripted character-device client for the differential
 * tests (test_chardev.py). Run in the target: linked statically.
 *
 * It reads a script on stdin, one operation a line, makes the system call
 * and prints one line of transcript per operation: the operation as
 * written, " = ", the return value, the errno's name when it failed, and
 * the data the call produced. Nothing in the transcript depends on
 * addresses, so the .ko's transcript and the user-level program's can be
 * compared line for line.
 *
 *   # comment, and blank lines: ignored
 *   define NAME VALUE          NAME stands for VALUE in later lines
 *   open F PATH FLAGS          FLAGS: rdonly|wronly|rdwr[,trunc,append,
 *                              nonblock,creat]; F names the descriptor
 *   close F
 *   read F COUNT [BUF]         prints the bytes read
 *   pread F COUNT OFF [BUF]
 *   write F "DATA" [BUF]       DATA in C escapes (\n \t \\ \" \xHH \0)
 *   pwrite F "DATA" OFF [BUF]
 *   lseek F OFF set|cur|end|N
 *   ioctl F CMD [ARG]          CMD: a number, or IO(T,NR), IOR(T,NR,SIZE),
 *                              IOW(T,NR,SIZE), IOWR(T,NR,SIZE), T a
 *                              character or a number
 *   setuid UID                 drop root (capable() in the driver)
 *   getpid                     this process's pid (the driver's current)
 *
 * BUF, where the call's buffer is:
 *   (none)        a good buffer
 *   @null         NULL
 *   @one          (void *)1: passes access_ok, faults
 *   @kernel       a kernel address: access_ok refuses it
 *   @unmapped     a page of this process that is not mapped
 *   @straddle:K   K good bytes at the end of a page, the next page not
 *                 mapped: a copy faults after K bytes. A read prints the
 *                 K bytes after the call ("buf ..."); a write has its
 *                 data's first K bytes there.
 *
 * ARG of ioctl:
 *   (none)        0
 *   val:N         N itself
 *   in:TYPE:N     a pointer to N of TYPE (u8 u16 int s64)
 *   out:TYPE      a pointer to a TYPE set to 0x5a... first; printed after
 *   inout:TYPE:N  both
 *   str:"TEXT"    a pointer to a string
 *   outbuf:SIZE   a pointer to SIZE bytes (0x5a); printed in hex after
 *   inbuf:"DATA"  a pointer to DATA
 *   a BUF above (@one, @kernel, @unmapped, @null, @straddle:K for outbuf
 *   after it: @straddle:K:outbuf:SIZE or :inbuf:"DATA")
 *
 * Exit status 2 on a script error (an unknown operation, a bad number),
 * which the tests see as a failed scenario; 0 otherwise, whatever the
 * calls returned.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAX_TOKENS	16
#define MAX_DATA	65536
#define MAX_FILES	16
#define MAX_DEFINES	64
#define KERNEL_ADDR	0xffffffff81000000UL

static long page;
static unsigned char *straddle_page;	/* a page, the next one PROT_NONE */
static unsigned char *unmapped;		/* a page-sized hole */
static unsigned char *mem;		/* the good buffer */
static int lineno;

static struct { char name[32]; int fd; } files[MAX_FILES];
static struct { char name[64]; char value[128]; } defines[MAX_DEFINES];
static int nr_defines;

static void die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "devclient: line %d: ", lineno);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

/* ---- script parsing ------------------------------------------------------- */

/* A token's value with C escapes undone (quoted tokens): its length. */
static size_t unescape(const char *s, unsigned char *out, size_t max)
{
	size_t n = 0;

	while (*s) {
		unsigned char c = (unsigned char)*s++;

		if (c == '\\' && *s) {
			c = (unsigned char)*s++;
			switch (c) {
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case 'r': c = '\r'; break;
			case '0': c = 0; break;
			case 'x': {
				char hex[3] = { 0 };

				if (!isxdigit((unsigned char)s[0]) ||
				    !isxdigit((unsigned char)s[1]))
					die("bad \\x escape");
				hex[0] = s[0];
				hex[1] = s[1];
				s += 2;
				c = (unsigned char)strtoul(hex, NULL, 16);
				break;
			}
			default: break;	/* \\ \" and the rest: themselves */
			}
		}
		if (n == max)
			die("data too long");
		out[n++] = c;
	}
	return n;
}

/*
 * Split a line into tokens: words, and "quoted strings" kept with their
 * escapes (undone by unescape). A quoted string may follow a prefix in
 * the same token (str:"a b"). Returns the number of tokens.
 */
static int tokenize(char *line, char **tok)
{
	int n = 0;
	char *p = line;

	for (;;) {
		char *out;

		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '\n' || *p == '#')
			break;
		if (n == MAX_TOKENS)
			die("too many tokens");
		tok[n++] = out = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n') {
			if (*p == '"') {
				p++;
				while (*p && *p != '"') {
					if (*p == '\\' && p[1])
						*out++ = *p++;
					*out++ = *p++;
				}
				if (*p != '"')
					die("unterminated string");
				p++;
				continue;
			}
			*out++ = *p++;
		}
		if (*p)
			p++;
		*out = '\0';
	}
	return n;
}

static const char *lookup(const char *s)
{
	int i;

	for (i = 0; i < nr_defines; i++)
		if (!strcmp(defines[i].name, s))
			return defines[i].value;
	return s;
}

static long long number(const char *s)
{
	char *end;
	long long v;

	s = lookup(s);
	if (s[0] == '\'' && s[1] && s[2] == '\'' && !s[3])
		return (unsigned char)s[1];
	errno = 0;
	v = strtoll(s, &end, 0);
	if (errno || end == s || *end)
		die("bad number '%s'", s);
	return v;
}

/* IO(T,NR) and friends, T a character or a number. */
static unsigned long ioctl_cmd(const char *s)
{
	char kind[8], t[16];
	int nr, size = 0, n;
	unsigned long type;

	s = lookup(s);
	if (isdigit((unsigned char)s[0]))
		return (unsigned long)number(s);
	if (sscanf(s, "%7[A-Z](%15[^,],%d%n", kind, t, &nr, &n) != 3)
		die("bad ioctl command '%s'", s);
	s += n;
	if (*s == ',' && sscanf(s, ",%d%n", &size, &n) == 1)
		s += n;
	if (strcmp(s, ")"))
		die("bad ioctl command");
	type = strlen(t) == 1 ? (unsigned char)t[0] : (unsigned long)number(t);
	if (!strcmp(kind, "IO"))
		return _IOC(_IOC_NONE, type, nr, 0);
	if (!strcmp(kind, "IOR"))
		return _IOC(_IOC_READ, type, nr, size);
	if (!strcmp(kind, "IOW"))
		return _IOC(_IOC_WRITE, type, nr, size);
	if (!strcmp(kind, "IOWR"))
		return _IOC(_IOC_READ | _IOC_WRITE, type, nr, size);
	die("bad ioctl kind '%s'", kind);
	return 0;
}

static int *fd_slot(const char *name, int create)
{
	int i, free_slot = -1;

	for (i = 0; i < MAX_FILES; i++) {
		if (files[i].name[0] && !strcmp(files[i].name, name))
			return &files[i].fd;
		if (!files[i].name[0] && free_slot < 0)
			free_slot = i;
	}
	if (!create)
		die("no open file '%s'", name);
	if (free_slot < 0 || strlen(name) >= sizeof(files[0].name))
		die("too many files");
	snprintf(files[free_slot].name, sizeof(files[0].name), "%s", name);
	files[free_slot].fd = -1;
	return &files[free_slot].fd;
}

static void forget_fd(const char *name)
{
	int i;

	for (i = 0; i < MAX_FILES; i++)
		if (!strcmp(files[i].name, name))
			files[i].name[0] = '\0';
}

/* ---- buffers ---------------------------------------------------------------------- */

/*
 * Where a call's buffer is (BUF above). For a good buffer or @straddle,
 * data (if any) is put there first. *good is how many bytes are
 * addressable from the pointer (the bytes printed after a read).
 */
static unsigned char *buffer(const char *spec, const unsigned char *data,
			     size_t len, size_t room, size_t *good)
{
	unsigned char *p;

	*good = 0;
	if (!spec) {
		if (room > MAX_DATA)
			die("count too large");
		memset(mem, 0x5a, room);
		if (data)
			memcpy(mem, data, len);
		*good = room;
		return mem;
	}
	if (!strcmp(spec, "@null"))
		return NULL;
	if (!strcmp(spec, "@one"))
		return (unsigned char *)1;
	if (!strcmp(spec, "@kernel"))
		return (unsigned char *)KERNEL_ADDR;
	if (!strcmp(spec, "@unmapped"))
		return unmapped;
	if (!strncmp(spec, "@straddle:", 10)) {
		long k = strtol(spec + 10, NULL, 10);

		if (k < 0 || k > page)
			die("bad straddle");
		p = straddle_page + page - k;
		memset(p, 0x5a, k);
		if (data)
			memcpy(p, data, len < (size_t)k ? len : (size_t)k);
		*good = k;
		return p;
	}
	die("bad buffer '%s'", spec);
	return NULL;
}

/* ---- the transcript ------------------------------------------------------------ */

static void put_escaped(const unsigned char *p, size_t n)
{
	size_t i;

	putchar('"');
	for (i = 0; i < n; i++) {
		unsigned char c = p[i];

		if (c == '\n')
			fputs("\\n", stdout);
		else if (c == '\t')
			fputs("\\t", stdout);
		else if (c == '\\' || c == '"')
			printf("\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			printf("\\x%02x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void put_hex(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		printf("%02x", p[i]);
}

/* " = RET" or " = -1 ENAME" */
static void put_result(long long ret, int err)
{
	if (ret < 0) {
		const char *name = strerrorname_np(err);

		if (name)
			printf(" = %lld %s", ret, name);
		else
			printf(" = %lld errno %d", ret, err);
	} else {
		printf(" = %lld", ret);
	}
}

/* ---- operations --------------------------------------------------------------- */

static int open_flags(const char *s)
{
	char copy[128], *save, *w;
	int flags = -1, extra = 0;

	snprintf(copy, sizeof(copy), "%s", s);
	for (w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		if (!strcmp(w, "rdonly")) flags = O_RDONLY;
		else if (!strcmp(w, "wronly")) flags = O_WRONLY;
		else if (!strcmp(w, "rdwr")) flags = O_RDWR;
		else if (!strcmp(w, "trunc")) extra |= O_TRUNC;
		else if (!strcmp(w, "append")) extra |= O_APPEND;
		else if (!strcmp(w, "nonblock")) extra |= O_NONBLOCK;
		else if (!strcmp(w, "creat")) extra |= O_CREAT;
		else die("bad open flag '%s'", w);
	}
	if (flags < 0)
		die("open needs rdonly, wronly or rdwr");
	return flags | extra;
}

static void op_read(int argc, char **argv, int positional)
{
	int fd = *fd_slot(argv[1], 0);
	long long count = number(argv[2]);
	long long off = positional ? number(argv[3]) : 0;
	const char *spec = argc > 3 + positional ? argv[3 + positional] : NULL;
	size_t good;
	unsigned char *p;
	ssize_t n;
	int err;

	if (count < 0 || count > MAX_DATA)
		die("bad count");
	p = buffer(spec, NULL, 0, (size_t)count, &good);
	errno = 0;
	n = positional ? pread(fd, p, (size_t)count, (off_t)off)
		       : read(fd, p, (size_t)count);
	err = errno;
	put_result(n, err);
	if (!spec && n > 0) {
		putchar(' ');
		put_escaped(p, (size_t)n);
	} else if (spec && good) {
		/* What a faulting copy left in the good part. */
		fputs(" buf ", stdout);
		put_escaped(p, good);
	}
	putchar('\n');
}

static void op_write(int argc, char **argv, int positional)
{
	static unsigned char data[MAX_DATA];
	int fd = *fd_slot(argv[1], 0);
	size_t len = unescape(argv[2], data, sizeof(data));
	long long off = positional ? number(argv[3]) : 0;
	const char *spec = argc > 3 + positional ? argv[3 + positional] : NULL;
	size_t good;
	unsigned char *p;
	ssize_t n;
	int err;

	p = buffer(spec, data, len, len, &good);
	errno = 0;
	n = positional ? pwrite(fd, p, len, (off_t)off) : write(fd, p, len);
	err = errno;
	put_result(n, err);
	putchar('\n');
}

/* An ioctl argument's type: its size, or 0 for an unknown one. */
static size_t type_size(const char *t)
{
	if (!strcmp(t, "u8")) return 1;
	if (!strcmp(t, "u16")) return 2;
	if (!strcmp(t, "int")) return 4;
	if (!strcmp(t, "s64")) return 8;
	die("bad type '%s'", t);
	return 0;
}

static long long get_typed(const unsigned char *p, size_t size)
{
	uint8_t u8;
	uint16_t u16;
	int32_t s32;
	int64_t s64;

	switch (size) {
	case 1: memcpy(&u8, p, 1); return u8;
	case 2: memcpy(&u16, p, 2); return u16;
	case 4: memcpy(&s32, p, 4); return s32;
	default: memcpy(&s64, p, 8); return s64;
	}
}

static void put_typed(unsigned char *p, size_t size, long long v)
{
	uint8_t u8 = (uint8_t)v;
	uint16_t u16 = (uint16_t)v;
	int32_t s32 = (int32_t)v;
	int64_t s64 = v;

	switch (size) {
	case 1: memcpy(p, &u8, 1); break;
	case 2: memcpy(p, &u16, 2); break;
	case 4: memcpy(p, &s32, 4); break;
	default: memcpy(p, &s64, 8); break;
	}
}

static void op_ioctl(int argc, char **argv)
{
	static unsigned char data[MAX_DATA];
	int fd = *fd_slot(argv[1], 0);
	unsigned long cmd = ioctl_cmd(argv[2]);
	char argcopy[512], *a = argcopy, *type, *rest;
	unsigned char *p = NULL;
	unsigned long arg = 0;
	size_t size = 0, good = 0;
	const char *spec = NULL;
	enum { NONE, IN, OUT, INOUT, STR, OUTBUF, INBUF } kind = NONE;
	long long ret;
	int err;

	snprintf(argcopy, sizeof(argcopy), "%s", argc > 3 ? argv[3] : "");
	if (a[0] == '@') {
		/* @straddle:K, maybe followed by :outbuf:SIZE / :inbuf:DATA */
		spec = a;
		rest = NULL;
		if (!strncmp(a, "@straddle:", 10)) {
			rest = strchr(a + 10, ':');
			if (rest)
				*rest++ = '\0';
		}
		a = rest ? rest : (char *)"";
	}
	if (!*a) {
		kind = NONE;
	} else if (!strncmp(a, "val:", 4)) {
		arg = (unsigned long)number(a + 4);
	} else if (!strncmp(a, "in:", 3) || !strncmp(a, "out:", 4) ||
		   !strncmp(a, "inout:", 6)) {
		kind = a[1] == 'n' ? (a[2] == 'o' ? INOUT : IN) : OUT;
		type = strchr(a, ':') + 1;
		rest = strchr(type, ':');
		if (rest)
			*rest++ = '\0';
		size = type_size(type);
		memset(data, 0x5a, size);
		if (kind != OUT) {
			if (!rest)
				die("%s needs a value", a);
			put_typed(data, size, number(rest));
		}
	} else if (!strncmp(a, "str:", 4)) {
		kind = STR;
		size = unescape(a + 4, data, sizeof(data) - 1);
		data[size++] = '\0';
	} else if (!strncmp(a, "outbuf:", 7)) {
		kind = OUTBUF;
		size = (size_t)number(a + 7);
		if (size > sizeof(data))
			die("outbuf too large");
		memset(data, 0x5a, size);
	} else if (!strncmp(a, "inbuf:", 6)) {
		kind = INBUF;
		size = unescape(a + 6, data, sizeof(data));
	} else {
		die("bad ioctl argument '%s'", a);
	}
	if (spec) {
		p = buffer(spec, data, size, size, &good);
		arg = (unsigned long)p;
	} else if (kind != NONE) {
		p = buffer(NULL, data, size, size, &good);
		arg = (unsigned long)p;
	}
	errno = 0;
	ret = ioctl(fd, cmd, arg);
	err = errno;
	put_result(ret, err);
	if (!spec && (kind == OUT || kind == INOUT))
		printf(" value %lld", get_typed(p, size));
	else if (!spec && kind == OUTBUF) {
		fputs(" buf ", stdout);
		put_hex(p, size);
	} else if (spec && good) {
		fputs(" buf ", stdout);
		put_hex(p, good);
	}
	putchar('\n');
}

static void op_lseek(char **argv)
{
	int fd = *fd_slot(argv[1], 0);
	long long off = number(argv[2]);
	int whence;
	off_t r;

	if (!strcmp(argv[3], "set")) whence = SEEK_SET;
	else if (!strcmp(argv[3], "cur")) whence = SEEK_CUR;
	else if (!strcmp(argv[3], "end")) whence = SEEK_END;
	else whence = (int)number(argv[3]);
	errno = 0;
	r = lseek(fd, (off_t)off, whence);
	put_result(r, errno);
	putchar('\n');
}

static void run(const char *text, int argc, char **argv)
{
	static const struct { const char *op; int min, max; } ops[] = {
		{ "define", 3, 3 }, { "open", 4, 4 }, { "close", 2, 2 },
		{ "read", 3, 4 }, { "pread", 4, 5 }, { "write", 3, 4 },
		{ "pwrite", 4, 5 }, { "lseek", 4, 4 }, { "ioctl", 3, 4 },
		{ "setuid", 2, 2 }, { "getpid", 1, 1 },
	};
	size_t i;
	int *fd, r;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (!strcmp(argv[0], ops[i].op))
			break;
	if (i == sizeof(ops) / sizeof(ops[0]))
		die("unknown operation '%s'", argv[0]);
	if (argc < ops[i].min || argc > ops[i].max)
		die("%s takes %d to %d words", argv[0], ops[i].min - 1,
		    ops[i].max - 1);

	if (!strcmp(argv[0], "define")) {
		if (nr_defines == MAX_DEFINES ||
		    strlen(argv[1]) >= sizeof(defines[0].name) ||
		    strlen(argv[2]) >= sizeof(defines[0].value))
			die("define too large");
		snprintf(defines[nr_defines].name, sizeof(defines[0].name),
			 "%s", argv[1]);
		snprintf(defines[nr_defines].value, sizeof(defines[0].value),
			 "%s", argv[2]);
		nr_defines++;
		return;
	}

	/* The operation as written, then its result. */
	fputs(text, stdout);

	if (!strcmp(argv[0], "open")) {
		fd = fd_slot(argv[1], 1);
		errno = 0;
		*fd = open(argv[2], open_flags(argv[3]));
		put_result(*fd, errno);
		putchar('\n');
		if (*fd < 0)
			forget_fd(argv[1]);
	} else if (!strcmp(argv[0], "close")) {
		fd = fd_slot(argv[1], 0);
		errno = 0;
		r = close(*fd);
		put_result(r, errno);
		putchar('\n');
		forget_fd(argv[1]);
	} else if (!strcmp(argv[0], "read")) {
		op_read(argc, argv, 0);
	} else if (!strcmp(argv[0], "pread")) {
		op_read(argc, argv, 1);
	} else if (!strcmp(argv[0], "write")) {
		op_write(argc, argv, 0);
	} else if (!strcmp(argv[0], "pwrite")) {
		op_write(argc, argv, 1);
	} else if (!strcmp(argv[0], "lseek")) {
		op_lseek(argv);
	} else if (!strcmp(argv[0], "ioctl")) {
		op_ioctl(argc, argv);
	} else if (!strcmp(argv[0], "getpid")) {
		put_result(getpid(), 0);
		putchar('\n');
	} else if (!strcmp(argv[0], "setuid")) {
		errno = 0;
		r = setuid((uid_t)number(argv[1]));
		put_result(r, errno);
		putchar('\n');
	}
}

int main(void)
{
	char line[4096], text[4096], *tok[MAX_TOKENS];
	unsigned char *m;
	size_t len;
	int n;

	setvbuf(stdout, NULL, _IOLBF, 0);
	page = sysconf(_SC_PAGESIZE);
	/* Before the hole is made: nothing is mapped into it later. */
	mem = malloc(MAX_DATA);
	if (!mem) {
		perror("devclient: malloc");
		return 1;
	}
	/* [straddle page][PROT_NONE][hole] */
	m = mmap(NULL, 3 * page, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED || mprotect(m + page, page, PROT_NONE) ||
	    munmap(m + 2 * page, page)) {
		perror("devclient: mmap");
		return 1;
	}
	straddle_page = m;
	unmapped = m + 2 * page;

	while (fgets(line, sizeof(line), stdin)) {
		lineno++;
		len = strspn(line, " \t");
		snprintf(text, sizeof(text), "%s", line + len);
		len = strlen(text);
		while (len && strchr(" \t\n", text[len - 1]))
			text[--len] = '\0';
		n = tokenize(line, tok);
		if (n)
			run(text, n, tok);
	}
	return 0;
}
