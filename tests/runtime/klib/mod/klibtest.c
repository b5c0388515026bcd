// SPDX-License-Identifier: GPL-2.0
/*
 * klibtest: one module, built both ways (test_klib_module.py), whose
 * messages say what the kernel library computed: the .ko's (the kernel's
 * own functions) and the user-level program's (libdusk's klib) must be the
 * same lines. Only deterministic values are printed (no addresses, no
 * hashes, no raw EFLAGS).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bottom_half.h>
#include <linux/bsearch.h>
#include <linux/inet.h>
#include <linux/kernel.h>
#include <linux/kstrtox.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/preempt.h>
#include <linux/ratelimit.h>
#include <linux/rcupdate.h>
#include <linux/rwsem.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/spinlock.h>
#include <linux/string.h>

static char *word = "0x2a";
module_param(word, charp, 0444);
MODULE_PARM_DESC(word, "a number, as kstrtoint takes it");

static DEFINE_SPINLOCK(klibtest_lock);
static DEFINE_RWLOCK(klibtest_rwlock);
static DEFINE_MUTEX(klibtest_mutex);
static DECLARE_RWSEM(klibtest_rwsem);
static DEFINE_RATELIMIT_STATE(klibtest_rs, 1000 * HZ, 3);

struct klibtest_obj {
	int value;
	struct rcu_head rcu;
};

static int klibtest_cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return x < y ? -1 : x > y;
}

static void klibtest_numbers(void)
{
	static const char *const in[] = {
		"0", "-17", "0x1f", "010", "+5", "5\n", "12a", "2147483648",
		"-2147483648", "4294967295", "",
	};
	unsigned long long ull = 0;
	unsigned int u;
	int i;
	long long ll;
	bool b = false;
	int v;
	u8 u8v;

	for (i = 0; i < (int)ARRAY_SIZE(in); i++) {
		int r1, r2, r3, r4;

		v = -1;
		u = 1;
		ll = -1;
		u8v = 7;
		r1 = kstrtoint(in[i], 0, &v);
		r2 = kstrtouint(in[i], 0, &u);
		r3 = kstrtoll(in[i], 10, &ll);
		r4 = kstrtou8(in[i], 0, &u8v);
		pr_info("kstrto[%d] %d/%d %d/%u %d/%lld %d/%u\n", i, r1, v, r2,
			u, r3, ll, r4, u8v);
	}
	i = kstrtoull("18446744073709551615", 10, &ull);
	pr_info("kstrtoull %d %llu\n", i, ull);
	i = kstrtobool("on", &b);
	pr_info("kstrtobool %d %d\n", i, b);
	pr_info("simple_strtoul %lu %ld\n", simple_strtoul("0x1fz", NULL, 0),
		simple_strtol("-12abc", NULL, 10));
}

static void klibtest_strings(void)
{
	char buf[16] = "", small[8] = "", line[64], *p, *tok;
	int a = 0, c = 0, n = 0;
	char s[8] = "";
	u8 ip4[4], ip6[16], bin[4];

	ssize_t r1, r2;
	int r;

	r1 = strscpy(buf, "hello", sizeof(buf));
	r2 = strscpy(small, "hello world", sizeof(small));
	pr_info("strscpy %zd \"%s\" %zd \"%s\"\n", r1, buf, r2, small);
	pr_info("strlen %zu strnlen %zu strcmp %d %d strncmp %d\n",
		strlen(buf), strnlen(buf, 3), strcmp("a", "b"),
		strcmp("b", "a"), strncmp("abc", "abd", 2));
	pr_info("strcasecmp %d memcmp %d\n", strcasecmp("ABC", "abd"),
		memcmp("abc", "abe", 3));
	strscpy(line, "  a,b;;c  ", sizeof(line));
	p = strim(line);
	pr_info("strim \"%s\"\n", p);
	while ((tok = strsep(&p, ",;")))
		pr_info("strsep \"%s\"\n", tok);
	pr_info("strchr %td strrchr %td strstr %td strnchr %d\n",
		strchr("hello", 'l') - "hello", strrchr("hello", 'l') - "hello",
		strstr("hello", "lo") - "hello", strnchr("hello", 2, 'l') == NULL);
	r = sscanf("12 abc 34", "%d %7s %d%n", &a, s, &c, &n);
	pr_info("sscanf %d: %d %s %d %d\n", r, a, s, c, n);
	r = in4_pton("10.20.30.40", -1, ip4, -1, NULL);
	pr_info("in4_pton %d %pI4\n", r, ip4);
	r = in6_pton("2001:db8::ff", -1, ip6, -1, NULL);
	pr_info("in6_pton %d %pI6c\n", r, ip6);
	r = hex2bin(bin, "0aFf1234", 4);
	pr_info("hex2bin %d %*phN\n", r, 4, bin);
	r = scnprintf(small, 4, "%s", "abcdef");
	pr_info("scnprintf %d \"%s\"\n", r, small);
	r = snprintf(small, 4, "%s", "abcdef");
	pr_info("snprintf %d \"%s\"\n", r, small);
}

static void klibtest_formats(void)
{
	static const u8 mac[6] = { 0x00, 0x11, 0x22, 0xaa, 0xbb, 0xcc };
	static const u8 bytes[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	__be32 addr = htonl(0xc0a80102);
	char *k;

	pr_info("ints %d|%5d|%-5d|%05d|%x|%#x|%#o|%+d|%hhd|%lld\n", -3, 42, 42,
		-42, 255, 0, 8, 5, 300, -1LL);
	pr_info("strs [%s] [%8s] [%-8s] [%.3s] [%c] [%s]\n", "abc", "abc",
		"abc", "abcdef", 'z', (char *)NULL);
	pr_info("ptrs %pI4 %pi4 %pM %pMR %*ph %*phC %pe\n", &addr, &addr, mac,
		mac, 4, bytes, 3, bytes, ERR_PTR(-ENOENT));
	k = kasprintf(GFP_KERNEL, "kasprintf %s %d", "of", 2);
	pr_info("%s\n", k);
	kfree(k);
	pr_warn("a warning\n");
	pr_err("an error %d\n", -EINVAL);
	pr_info("cont: a");
	pr_cont("b");
	pr_cont("c\n");
}

static void klibtest_context(void)
{
	struct klibtest_obj *o;
	unsigned long flags;
	int v[6] = { 5, 3, 6, 1, 4, 2 }, key = 4, *hit, i, ok = 0;

	pr_info("task: preempt %x in_task %d in_softirq %d\n", preempt_count(),
		!!in_task(), !!in_softirq());
	spin_lock(&klibtest_lock);
	pr_info("spin_lock: preempt %x\n", preempt_count());
	spin_unlock(&klibtest_lock);
	spin_lock_bh(&klibtest_lock);
	pr_info("spin_lock_bh: preempt %x in_softirq %d in_interrupt %d\n",
		preempt_count(), !!in_softirq(), !!in_interrupt());
	spin_unlock_bh(&klibtest_lock);
	spin_lock_irqsave(&klibtest_lock, flags);
	pr_info("spin_lock_irqsave: saved IF %d\n",
		!arch_irqs_disabled_flags(flags));
	spin_unlock_irqrestore(&klibtest_lock, flags);
	read_lock_bh(&klibtest_rwlock);
	pr_info("read_lock_bh: preempt %x\n", preempt_count());
	read_unlock_bh(&klibtest_rwlock);
	write_lock(&klibtest_rwlock);
	write_unlock(&klibtest_rwlock);
	mutex_lock(&klibtest_mutex);
	pr_info("mutex_lock: preempt %x is_locked %d\n", preempt_count(),
		mutex_is_locked(&klibtest_mutex));
	mutex_unlock(&klibtest_mutex);
	down_read(&klibtest_rwsem);
	up_read(&klibtest_rwsem);
	local_bh_disable();
	pr_info("local_bh_disable: preempt %x\n", preempt_count());
	local_bh_enable();
	rcu_read_lock();
	rcu_read_unlock();
	synchronize_rcu();
	o = kzalloc(sizeof(*o), GFP_KERNEL);
	if (o)
		kfree_rcu(o, rcu);
	sort(v, ARRAY_SIZE(v), sizeof(v[0]), klibtest_cmp, NULL);
	hit = bsearch(&key, v, ARRAY_SIZE(v), sizeof(v[0]), klibtest_cmp);
	pr_info("sort %d%d%d%d%d%d bsearch %td\n", v[0], v[1], v[2], v[3], v[4],
		v[5], hit - v);
	for (i = 0; i < 5; i++)
		ok += __ratelimit(&klibtest_rs);
	pr_info("ratelimit %d of 5\n", ok);
	pr_info("end: preempt %x\n", preempt_count());
}

static int __init klibtest_init(void)
{
	int v;

	if (kstrtoint(word, 0, &v)) {
		pr_err("bad word \"%s\"\n", word);
		return -EINVAL;
	}
	pr_info("word \"%s\" is %d\n", word, v);
	klibtest_numbers();
	klibtest_strings();
	klibtest_formats();
	klibtest_context();
	return 0;
}

static void __exit klibtest_exit(void)
{
	rcu_barrier();
	pr_info("exit\n");
}

module_init(klibtest_init);
module_exit(klibtest_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("dusk's user-level kernel library, both ways");
