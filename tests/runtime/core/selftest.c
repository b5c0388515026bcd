// SPDX-License-Identifier: GPL-2.0
/*
 * libdusk-selftest: libdusk's C API against a live target kernel, one
 * subcommand per property; test_libdusk.py runs it and checks the output
 * against what the target itself says.
 *
 *	banner	print linux_banner, read uncached and through the cache
 *	call	kmalloc/ksize/kfree and strlen called in the kernel
 *	alloc	session memory: write, read back, commit only changed bytes
 *	badaddr	every access path refuses a bad address with an error
 *	hooks	two LOCAL_OUT hooks: drop ICMP echo to 127.0.0.9; mark echo to
 *		127.0.0.10 in the first hook, drop it in the second on the mark
 *	watchdog HEARTBEAT_MS [nowatchdog]
 *		a session with that heartbeat (and no watchdog process, when
 *		asked), one IPv6 LOCAL_OUT hook dropping ICMPv6 echo requests
 *		to ::1 ("hook drop ::1"; IPv6, so that the target's own IPv4
 *		traffic does not wait on a stopped program); serves it until
 *		SIGTERM; on SIGUSR1 reads linux_banner ("request ok" and its
 *		first words) and goes on serving. test_libdusk.py stops and
 *		kills it.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <netinet/ip6.h>
#include <netinet/icmp6.h>

#include "dusk.h"
#include "kernel_offsets.h"

static struct dusk_session *sess;

static int fail(const char *what, int err)
{
	fprintf(stderr, "selftest: %s: %s\n", what, strerror(-err));
	return 1;
}

static int sym(const char *name, uint64_t *addr)
{
	int ret = dusk_ksym(sess, name, addr, NULL);

	if (ret)
		fprintf(stderr, "selftest: symbol %s: %s\n", name, strerror(-ret));
	return ret;
}

static int cmd_banner(void)
{
	char uncached[512] = "";
	const char *cached;
	uint64_t addr;
	int ret;

	if (sym("linux_banner", &addr))
		return 1;
	ret = dusk_kread(sess, addr, uncached, sizeof(uncached) - 1);
	if (ret)
		return fail("kread linux_banner", ret);
	cached = __dusk_check((const void *)addr, strlen(uncached) + 1);
	if (cached == (const char *)addr || strcmp(cached, uncached)) {
		fprintf(stderr, "selftest: cached banner differs\n");
		return 1;
	}
	printf("banner %s", uncached);
	printf("mirror %p kernel 0x%llx back 0x%llx\n", (void *)cached,
	       (unsigned long long)addr,
	       (unsigned long long)dusk_kaddr(cached));
	return 0;
}

static int cmd_call(void)
{
	uint64_t kmalloc_fn, ksize_fn, kfree_fn, strlen_fn, banner;
	uint64_t obj, size, len, args[2];
	int ret;

	if (sym("__kmalloc", &kmalloc_fn) || sym("ksize", &ksize_fn) ||
	    sym("kfree", &kfree_fn) || sym("strlen", &strlen_fn) ||
	    sym("linux_banner", &banner))
		return 1;
	args[0] = 100;
	args[1] = KGFP_KERNEL;
	ret = dusk_kcall(sess, kmalloc_fn, args, 2, &obj);
	if (ret)
		return fail("call __kmalloc", ret);
	ret = dusk_kcall(sess, ksize_fn, &obj, 1, &size);
	if (ret)
		return fail("call ksize", ret);
	ret = dusk_kcall(sess, kfree_fn, &obj, 1, NULL);
	if (ret)
		return fail("call kfree", ret);
	ret = dusk_kcall(sess, strlen_fn, &banner, 1, &len);
	if (ret)
		return fail("call strlen", ret);
	printf("kmalloc 0x%llx ksize %llu\n", (unsigned long long)obj,
	       (unsigned long long)size);
	printf("strlen %llu\n", (unsigned long long)len);
	return 0;
}

static int cmd_alloc(void)
{
	static const char pattern[] = "written by libdusk";
	unsigned char back[128], *mirror;
	uint64_t obj;
	int ret;

	ret = dusk_kalloc(sess, sizeof(back), 1, &obj);
	if (ret)
		return fail("kalloc", ret);
	ret = dusk_kwrite(sess, obj + 8, pattern, sizeof(pattern));
	if (ret)
		return fail("kwrite", ret);
	ret = dusk_kread(sess, obj, back, sizeof(back));
	if (ret)
		return fail("kread", ret);
	printf("readback %s zero-before %d\n", back + 8, back[0] | back[7]);

	/*
	 * Through the cache: change byte 100 at user level while the kernel
	 * changes byte 101 behind the cache's back; the commit must send
	 * only byte 100 and leave the kernel's byte 101 alone.
	 */
	mirror = __dusk_check_w((void *)obj, sizeof(back));
	mirror[100] = 0xaa;
	ret = dusk_kwrite(sess, obj + 101, "\x55", 1);
	if (ret)
		return fail("kwrite 101", ret);
	ret = dusk_commit(sess);
	if (ret)
		return fail("commit", ret);
	ret = dusk_kread(sess, obj + 100, back, 2);
	if (ret)
		return fail("kread after commit", ret);
	printf("commit 100=%02x 101=%02x\n", back[0], back[1]);

	ret = dusk_kfree(sess, obj);
	if (ret)
		return fail("kfree", ret);
	printf("free again %d\n", dusk_kfree(sess, obj));
	return 0;
}

static int cmd_badaddr(void)
{
	const uint64_t bad = 0xffffdead00000000ULL;
	uint64_t banner, args[1] = { 0 };
	char buf[8];
	void *p;

	if (sym("linux_banner", &banner))
		return 1;
	printf("kread %d\n", dusk_kread(sess, bad, buf, sizeof(buf)));
	printf("kwrite %d\n", dusk_kwrite(sess, bad, "x", 1));
	errno = 0;
	p = dusk_shadow(sess, bad, 8, 0);
	printf("shadow %s %d\n", p ? "ptr" : "null", errno);
	printf("kcall-data %d\n", dusk_kcall(sess, banner, args, 1, NULL));
	printf("kcall-bad %d\n", dusk_kcall(sess, bad, args, 1, NULL));
	printf("ksym %d\n", dusk_ksym(sess, "no_such_symbol_dusk", &banner, NULL));
	/* The session and the kernel are still fine. */
	printf("after %d\n", dusk_kread(sess, banner, buf, sizeof(buf)));
	return 0;
}

/* ---- hooks ---- */

static uint64_t skb_field(void *skb, unsigned int off, size_t size)
{
	const unsigned char *p = __dusk_check((char *)skb + off, size);
	uint64_t v = 0;

	memcpy(&v, p, size);
	return v;
}

/* The IPv4 header of an ICMP echo request, or NULL. */
static const struct iphdr *icmp_echo(void *skb)
{
	const char *data = (const char *)skb_field(skb, SKB_DATA, 8);
	const struct iphdr *iph = __dusk_check(data, sizeof(*iph));
	const struct icmphdr *icmp;

	if (iph->version != 4 || iph->protocol != IPPROTO_ICMP)
		return NULL;
	icmp = __dusk_check(data + iph->ihl * 4, sizeof(*icmp));
	return icmp->type == ICMP_ECHO ? iph : NULL;
}

static unsigned int hook_first(void *priv, void *skb, const void *state)
{
	const struct iphdr *iph = icmp_echo(skb);
	uint32_t *mark;

	if (!iph)
		return KNF_ACCEPT;
	if (iph->daddr == htonl(0x7f000009)) {
		printf("first drop 127.0.0.9\n");
		return KNF_DROP;
	}
	if (iph->daddr == htonl(0x7f00000a)) {
		mark = __dusk_check_w((char *)skb + SKB_MARK, sizeof(*mark));
		*mark = 0xd05c;
		printf("first mark 127.0.0.10\n");
	}
	return KNF_ACCEPT;
}

static unsigned int hook_second(void *priv, void *skb, const void *state)
{
	const struct iphdr *iph = icmp_echo(skb);
	uint64_t mark = skb_field(skb, SKB_MARK, 4);

	if (iph && mark == 0xd05c) {
		printf("second saw mark 0x%llx drop\n", (unsigned long long)mark);
		return KNF_DROP;
	}
	return KNF_ACCEPT;
}

static volatile sig_atomic_t got_usr1;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		got_usr1 = 1;
	dusk_stop(sess);
}

static int cmd_hooks(void)
{
	struct dusk_nf_hook first = {
		.pf = KNFPROTO_IPV4, .hooknum = KNF_INET_LOCAL_OUT,
		.priority = -100, .fn = hook_first,
	};
	struct dusk_nf_hook second = first;
	uint32_t h1, h2;
	int ret;

	second.priority = 100;
	second.fn = hook_second;
	ret = dusk_nf_hook_register(sess, &first, &h1);
	if (ret)
		return fail("register first", ret);
	ret = dusk_nf_hook_register(sess, &second, &h2);
	if (ret)
		return fail("register second", ret);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("ready\n");
	ret = dusk_run(sess);
	if (ret)
		return fail("run", ret);
	printf("stopped\n");
	return 0;
}

/* ---- watchdog ---- */

/* uapi/linux/netfilter.h: the ABI's value. */
#define KNFPROTO_IPV6	10

static unsigned int hook_drop_lo6(void *priv, void *skb, const void *state)
{
	const char *data = (const char *)skb_field(skb, SKB_DATA, 8);
	const struct ip6_hdr *ip6 = __dusk_check(data, sizeof(*ip6));
	const struct icmp6_hdr *icmp;

	if ((ip6->ip6_vfc >> 4) != 6 || ip6->ip6_nxt != IPPROTO_ICMPV6 ||
	    !IN6_IS_ADDR_LOOPBACK(&ip6->ip6_dst))
		return KNF_ACCEPT;
	icmp = __dusk_check(data + sizeof(*ip6), sizeof(*icmp));
	if (icmp->icmp6_type != ICMP6_ECHO_REQUEST)
		return KNF_ACCEPT;
	printf("hook drop ::1\n");
	return KNF_DROP;
}

static int cmd_watchdog(void)
{
	struct dusk_nf_hook hook = {
		.pf = KNFPROTO_IPV6, .hooknum = KNF_INET_LOCAL_OUT,
		.priority = 0, .fn = hook_drop_lo6,
	};
	char banner[64];
	uint64_t addr;
	uint32_t h;
	int ret;

	ret = dusk_nf_hook_register(sess, &hook, &h);
	if (ret)
		return fail("register", ret);
	if (sym("linux_banner", &addr))
		return 1;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGUSR1, on_signal);
	printf("ready\n");
	for (;;) {
		ret = dusk_run(sess);
		if (ret)
			return fail("run", ret);
		if (!got_usr1)
			break;
		got_usr1 = 0;
		memset(banner, 0, sizeof(banner));
		ret = dusk_kread(sess, addr, banner, 13);
		if (ret)
			return fail("kread linux_banner", ret);
		printf("request ok %s\n", banner);
	}
	printf("stopped\n");
	return 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(void);
	} cmds[] = {
		{ "banner", cmd_banner }, { "call", cmd_call },
		{ "alloc", cmd_alloc }, { "badaddr", cmd_badaddr },
		{ "hooks", cmd_hooks }, { "watchdog", cmd_watchdog },
	};
	struct dusk_config cfg;
	unsigned int i;
	int ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	dusk_set_log(dusk_log_stderr);
	if (argc < 2 || (argc > 2 && strcmp(argv[1], "watchdog")) ||
	    (!strcmp(argv[1], "watchdog") && (argc < 3 || argc > 4 ||
	     (argc == 4 && strcmp(argv[3], "nowatchdog"))))) {
		fprintf(stderr, "usage: libdusk-selftest banner|call|alloc|badaddr|hooks|watchdog HEARTBEAT_MS [nowatchdog]\n");
		return 2;
	}
	ret = dusk_config_init(&cfg);
	if (ret)
		return fail("config", ret);
	if (!strcmp(argv[1], "watchdog")) {
		cfg.heartbeat_ms = (unsigned int)strtoul(argv[2], NULL, 10);
		cfg.watchdog = argc < 4;
	}
	ret = dusk_session_open(&cfg, &sess);
	if (ret)
		return fail("session", ret);
	printf("release %s\n", dusk_kernel_release(sess));
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (!strcmp(argv[1], cmds[i].name)) {
			ret = cmds[i].fn();
			dusk_session_close(sess);
			return ret;
		}
	}
	fprintf(stderr, "selftest: unknown command %s\n", argv[1]);
	dusk_session_close(sess);
	return 2;
}
