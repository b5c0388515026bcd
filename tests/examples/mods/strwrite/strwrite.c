// SPDX-License-Identifier: GPL-2.0
/*
 * strwrite - the kernel's string and memory functions that write, on each
 * kind of memory a netfilter module writes to.
 *
 * A UDP datagram to the port names a function in its first 32 bytes. The
 * LOCAL_OUT hook applies that function to four 32-byte destinations, each
 * first set to "ab", a NUL and dots:
 *   data    the datagram's own payload, in the skb's linear data
 *   kmem    a buffer kmalloc'ed at init
 *   global  the start of the kernel's hostname (init_utsname()->nodename:
 *           a kernel global; restored at exit)
 *   own     a static buffer of the module
 * It then reads each one back and logs its bytes and where its first NUL
 * is (memchr), and has the kernel copy
 * kmem, global and own into the rest of the payload (skb_store_bits), so
 * that the receiving socket sees all four. A PRE_ROUTING hook logs what it
 * sees of all four when the datagram comes back in on lo.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ip.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/string_helpers.h>
#include <linux/udp.h>
#include <linux/utsname.h>
#include <net/checksum.h>
#include <net/net_namespace.h>

#define SLOT 32

static ushort port = 9700;
module_param(port, ushort, 0444);
MODULE_PARM_DESC(port, "UDP destination port of the test datagrams");

/* The payload. */
struct strwrite_msg {
	char fn[SLOT];		/* the function to apply */
	char data[SLOT];	/* written in place */
	char kmem[SLOT];	/* copies made by the kernel, after the writes */
	char global[SLOT];
	char own[SLOT];
};

static char *kmem;
static char own[SLOT] __aligned(8);
static char saved_hostname[__NEW_UTS_LEN + 1];
static unsigned long applied, unknown;

#define hostname (init_utsname()->nodename)

static void strwrite_reset(char *d)
{
	int i;

	for (i = 0; i < SLOT; i++)
		d[i] = '.';
	d[0] = 'a';
	d[1] = 'b';
	d[2] = '\0';
}

/* A kernel string copied with plain loads and stores. */
static void strwrite_take(char *d, char *p, size_t n)
{
	size_t i;

	if (!p) {
		d[0] = '!';
		return;
	}
	for (i = 0; i < n; i++)
		d[i] = p[i];
	kfree(p);
}

static int strwrite_vsnprintf(char *d, size_t n, const char *fmt, ...)
{
	va_list args;
	int ret;

	va_start(args, fmt);
	ret = vsnprintf(d, n, fmt, args);
	va_end(args);
	return ret;
}

static int strwrite_vscnprintf(char *d, size_t n, const char *fmt, ...)
{
	va_list args;
	int ret;

	va_start(args, fmt);
	ret = vscnprintf(d, n, fmt, args);
	va_end(args);
	return ret;
}

static int strwrite_vsprintf(char *d, const char *fmt, ...)
{
	va_list args;
	int ret;

	va_start(args, fmt);
	ret = vsprintf(d, fmt, args);
	va_end(args);
	return ret;
}

/* Apply fn to d; what it returned, as a number. -1000: no such test. */
static long strwrite_apply(const char *fn, char *d, struct sk_buff *skb)
{
	u64 digits = 0x3837363534333231ULL;	/* "12345678" */

	if (!strcmp(fn, "strcpy"))
		return strcpy(d, "strcpy") == d;
	if (!strcmp(fn, "strncpy"))
		return strncpy(d, "ncpy", 8) == d;
	if (!strcmp(fn, "strlcpy"))
		return strlcpy(d, "lcpy-truncated", 8);
	if (!strcmp(fn, "strscpy"))
		return strscpy(d, "scpy", SLOT);
	if (!strcmp(fn, "strscpy-E2BIG"))
		return strscpy(d, "scpy-truncated", 6);
	if (!strcmp(fn, "strscpy_pad"))
		return strscpy_pad(d, "spad", 10);
	if (!strcmp(fn, "strcat"))
		return strcat(d, "+cat") == d;
	if (!strcmp(fn, "strncat"))
		return strncat(d, "+ncat-cut", 5) == d;
	if (!strcmp(fn, "strlcat"))
		return strlcat(d, "+lcat-cut", 8);
	if (!strcmp(fn, "memcpy"))
		return memcpy(d + 2, "MEMCPY", 6) == d + 2;
	if (!strcmp(fn, "memmove"))
		return memmove(d + 1, d, 4) == d + 1;
	if (!strcmp(fn, "memset"))
		return memset(d + 1, 'S', 5) == d + 1;
	if (!strcmp(fn, "memset32"))
		return memset32((u32 *)(d + 4), 0x34333231, 2) == d + 4;
	if (!strcmp(fn, "memset64"))
		return memset64((u64 *)(d + 8), digits, 1) == d + 8;
	if (!strcmp(fn, "memcpy_and_pad")) {
		memcpy_and_pad(d, 12, "pad", 3, '#');
		return 0;
	}
	if (!strcmp(fn, "sprintf"))
		return sprintf(d, "sprintf %d", 42);
	if (!strcmp(fn, "sprintf-literal"))
		return sprintf(d, "literal");
	if (!strcmp(fn, "sprintf-%s"))
		return sprintf(d, "%s", "percent-s");
	if (!strcmp(fn, "snprintf"))
		return snprintf(d, 8, "snprintf %s", "cut");
	if (!strcmp(fn, "scnprintf"))
		return scnprintf(d, 8, "scn %u", 1234567);
	if (!strcmp(fn, "vsnprintf"))
		return strwrite_vsnprintf(d, 10, "vsn %x", 0xbeef);
	if (!strcmp(fn, "vscnprintf"))
		return strwrite_vscnprintf(d, 6, "vscn %s", "cut");
	if (!strcmp(fn, "vsprintf"))
		return strwrite_vsprintf(d, "vsp %c%c", 'o', 'k');
	if (!strcmp(fn, "strreplace"))
		return strreplace(d, 'b', 'B') - d;
	if (!strcmp(fn, "bin2hex"))
		return bin2hex(d, "\x01\xab\xff", 3) - d;
	if (!strcmp(fn, "hex_dump_to_buffer"))
		return hex_dump_to_buffer("\x01\x02\x03", 3, 16, 1, d, SLOT,
					  false);
	if (!strcmp(fn, "string_escape_mem"))
		return string_escape_mem("a\tb\n", 4, d, SLOT, ESCAPE_SPACE,
					 NULL);
	if (!strcmp(fn, "csum_partial_copy_nocheck"))
		return (__force u32)csum_partial_copy_nocheck("csumcopy", d, 8);
	if (!strcmp(fn, "skb_copy_bits"))	/* the start of the name */
		return skb_copy_bits(skb, skb_transport_offset(skb) +
				     sizeof(struct udphdr), d, 8);
	if (!strcmp(fn, "kstrdup")) {
		strwrite_take(d, kstrdup("kstrdup", GFP_ATOMIC), 8);
		return 0;
	}
	if (!strcmp(fn, "kstrndup")) {
		strwrite_take(d, kstrndup("kstrndup", 4, GFP_ATOMIC), 5);
		return 0;
	}
	if (!strcmp(fn, "kmemdup")) {
		strwrite_take(d, kmemdup("kmemdup", 4, GFP_ATOMIC), 4);
		return 0;
	}
	if (!strcmp(fn, "kmemdup_nul")) {
		strwrite_take(d, kmemdup_nul("kmemdup_nul", 6, GFP_ATOMIC), 7);
		return 0;
	}
	if (!strcmp(fn, "kasprintf")) {
		strwrite_take(d, kasprintf(GFP_ATOMIC, "kas %d", 7), 6);
		return 0;
	}
	return -1000;
}

/* The test datagram in skb, made writable; NULL for any other packet. */
static struct strwrite_msg *strwrite_msg(struct sk_buff *skb)
{
	struct iphdr *iph = ip_hdr(skb);
	struct udphdr *uh;

	if (iph->protocol != IPPROTO_UDP)
		return NULL;
	uh = (struct udphdr *)((u8 *)iph + iph->ihl * 4);
	if (ntohs(uh->dest) != port ||
	    ntohs(uh->len) < sizeof(*uh) + sizeof(struct strwrite_msg))
		return NULL;
	if (skb_ensure_writable(skb, skb->len))
		return NULL;
	iph = ip_hdr(skb);
	return (struct strwrite_msg *)((u8 *)iph + iph->ihl * 4 + sizeof(*uh));
}

static unsigned int strwrite_out(void *priv, struct sk_buff *skb,
				 const struct nf_hook_state *state)
{
	struct strwrite_msg *msg = strwrite_msg(skb);
	char *dest[] = { NULL, kmem, hostname, own };
	static const char *const names[] = { "data", "kmem", "global", "own" };
	int off, i;
	char fn[SLOT], *nul;
	long ret;

	if (!msg)
		return NF_ACCEPT;
	dest[0] = msg->data;
	strscpy(fn, msg->fn, sizeof(fn));
	for (i = 0; i < ARRAY_SIZE(dest); i++) {
		strwrite_reset(dest[i]);
		ret = strwrite_apply(fn, dest[i], skb);
		if (ret == -1000) {
			unknown++;
			pr_info("%s: no such test\n", fn);
			return NF_ACCEPT;
		}
		nul = memchr(dest[i], '\0', SLOT);
		pr_info("%s %s: returned %ld, reads %*ph, NUL at %d\n", fn,
			names[i], ret, SLOT, dest[i],
			nul ? (int)(nul - dest[i]) : -1);
	}
	applied++;

	/* The kernel reads what the module wrote. */
	off = (u8 *)msg->kmem - skb->data;
	if (skb_store_bits(skb, off, kmem, SLOT) ||
	    skb_store_bits(skb, off + SLOT, hostname, SLOT) ||
	    skb_store_bits(skb, off + 2 * SLOT, own, SLOT))
		pr_err("%s: skb_store_bits failed\n", fn);
	return NF_ACCEPT;
}

/* Another hook reads them when the datagram comes back in. */
static unsigned int strwrite_in(void *priv, struct sk_buff *skb,
				const struct nf_hook_state *state)
{
	struct strwrite_msg *msg = strwrite_msg(skb);

	if (!msg)
		return NF_ACCEPT;
	pr_info("%.*s seen: data %*ph kmem %*ph global %*ph own %*ph\n",
		SLOT, msg->fn, SLOT, msg->data, SLOT, kmem, SLOT, hostname,
		SLOT, own);
	return NF_ACCEPT;
}

static struct nf_hook_ops strwrite_ops[] = {
	{
		.hook		= strwrite_out,
		.pf		= NFPROTO_IPV4,
		.hooknum	= NF_INET_LOCAL_OUT,
		.priority	= NF_IP_PRI_FIRST,
	},
	{
		.hook		= strwrite_in,
		.pf		= NFPROTO_IPV4,
		.hooknum	= NF_INET_PRE_ROUTING,
		.priority	= NF_IP_PRI_FIRST,
	},
};

static int __init strwrite_init(void)
{
	int err;

	kmem = kmalloc(SLOT, GFP_KERNEL);
	if (!kmem)
		return -ENOMEM;
	memcpy(saved_hostname, hostname, sizeof(saved_hostname));
	err = nf_register_net_hooks(&init_net, strwrite_ops,
				    ARRAY_SIZE(strwrite_ops));
	if (err) {
		kfree(kmem);
		return err;
	}
	pr_info("writing on UDP port %u\n", port);
	return 0;
}

static void __exit strwrite_exit(void)
{
	nf_unregister_net_hooks(&init_net, strwrite_ops,
				ARRAY_SIZE(strwrite_ops));
	memcpy(hostname, saved_hostname, sizeof(saved_hostname));
	kfree(kmem);
	pr_info("%lu applied, %lu unknown\n", applied, unknown);
}

module_init(strwrite_init);
module_exit(strwrite_exit);

MODULE_DESCRIPTION("Test module: string and memory functions that write");
MODULE_LICENSE("GPL");
