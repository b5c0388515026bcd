/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * dusk_faults.h - deterministic fault injection on dusk's datagrams.
 *
 * Used verbatim by dusk.ko (kmod/faults.c: the "faults" module parameter,
 * /sys/module/dusk/parameters/faults) and by libdusk (runtime/core/faults.c:
 * the DUSK_FAULTS environment variable), so that both sides read the
 * setting alike and draw from the same generator.
 *
 * The setting: "seed=S,loss=P,dup=P,reorder=P" in any order, each part
 * optional (missing ones are 0), P in percent; "" or "off" for none. The
 * three percentages add up to at most 100.
 *
 * Each datagram, in each direction separately (what is sent, what is
 * received), takes one draw of a seeded splitmix64 generator: below loss
 * it is lost, then below loss + dup it is delivered twice (the same bytes:
 * what a network duplicates), then below loss + dup + reorder it is held
 * back and delivered right after the next datagram of that direction.
 * The same seed gives the same decisions for the same sequence of
 * datagrams, on either side. Nothing here is random in any other way:
 * a failure seen once is seen again with the same seed.
 */
#ifndef DUSK_FAULTS_H
#define DUSK_FAULTS_H

#include <linux/types.h>
#include <linux/errno.h>

enum dusk_fault {
	DUSK_FAULT_PASS = 0,
	DUSK_FAULT_LOSS,
	DUSK_FAULT_DUP,
	DUSK_FAULT_REORDER,
	__DUSK_FAULT_MAX
};

enum dusk_fault_dir {
	DUSK_FAULT_TX = 0,
	DUSK_FAULT_RX,
	__DUSK_FAULT_DIR_MAX
};

struct dusk_faults_cfg {
	__u64 seed;
	__u32 loss;		/* percent */
	__u32 dup;
	__u32 reorder;
};

/* A generator per direction, seeded from the setting. */
struct dusk_faults_rng {
	__u64 state[__DUSK_FAULT_DIR_MAX];
};

static inline int dusk_faults_on(const struct dusk_faults_cfg *cfg)
{
	return cfg->loss || cfg->dup || cfg->reorder;
}

/* splitmix64 (Steele, Lea, Flood: "Fast splittable pseudorandom number
 * generators", 2014): one 64-bit add per draw, every seed is good. */
static inline __u64 dusk_faults_next(__u64 *state)
{
	__u64 z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline void dusk_faults_seed(struct dusk_faults_rng *rng,
				    const struct dusk_faults_cfg *cfg)
{
	unsigned int d;

	/* Distinct streams per direction from one seed. */
	for (d = 0; d < __DUSK_FAULT_DIR_MAX; d++)
		rng->state[d] = cfg->seed ^ (0x6475736b00000000ULL + d);
}

/* The fate of the next datagram of direction dir. */
static inline enum dusk_fault dusk_faults_decide(const struct dusk_faults_cfg *cfg,
						 struct dusk_faults_rng *rng,
						 enum dusk_fault_dir dir)
{
	__u32 r;

	if (!dusk_faults_on(cfg))
		return DUSK_FAULT_PASS;
	r = (__u32)(dusk_faults_next(&rng->state[dir]) % 100);
	if (r < cfg->loss)
		return DUSK_FAULT_LOSS;
	r -= cfg->loss;
	if (r < cfg->dup)
		return DUSK_FAULT_DUP;
	r -= cfg->dup;
	if (r < cfg->reorder)
		return DUSK_FAULT_REORDER;
	return DUSK_FAULT_PASS;
}

/* A decimal number of up to 19 digits at *p, which is moved past it. */
static inline int dusk_faults_number(const char **p, __u64 *ret)
{
	const char *s = *p;
	__u64 v = 0;
	int n = 0;

	while (*s >= '0' && *s <= '9' && n < 19) {
		v = v * 10 + (__u64)(*s++ - '0');
		n++;
	}
	if (!n || (*s >= '0' && *s <= '9'))
		return -EINVAL;
	*p = s;
	*ret = v;
	return 0;
}

static inline int dusk_faults_key(const char **p, const char *key)
{
	const char *s = *p;

	while (*key && *s == *key) {
		s++;
		key++;
	}
	if (*key || *s != '=')
		return 0;
	*p = s + 1;
	return 1;
}

/*
 * Parse a setting (above) into *ret: 0, or -EINVAL (an unknown key, a
 * bad number, a percentage over 100 or a total over 100), *ret unchanged.
 * A trailing newline is allowed (sysfs writes have one).
 */
static inline int dusk_faults_parse(const char *text, struct dusk_faults_cfg *ret)
{
	struct dusk_faults_cfg cfg = { 0, 0, 0, 0 };
	const char *p = text;
	__u64 v;

	if ((p[0] == 'o' && p[1] == 'f' && p[2] == 'f') &&
	    (!p[3] || (p[3] == '\n' && !p[4]))) {
		*ret = cfg;
		return 0;
	}
	while (*p && *p != '\n') {
		if (dusk_faults_key(&p, "seed")) {
			if (dusk_faults_number(&p, &cfg.seed))
				return -EINVAL;
		} else if (dusk_faults_key(&p, "loss")) {
			if (dusk_faults_number(&p, &v) || v > 100)
				return -EINVAL;
			cfg.loss = (__u32)v;
		} else if (dusk_faults_key(&p, "dup")) {
			if (dusk_faults_number(&p, &v) || v > 100)
				return -EINVAL;
			cfg.dup = (__u32)v;
		} else if (dusk_faults_key(&p, "reorder")) {
			if (dusk_faults_number(&p, &v) || v > 100)
				return -EINVAL;
			cfg.reorder = (__u32)v;
		} else {
			return -EINVAL;
		}
		if (*p == ',')
			p++;
		else if (*p && *p != '\n')
			return -EINVAL;
	}
	if (*p == '\n' && p[1])
		return -EINVAL;
	if (cfg.loss + cfg.dup + cfg.reorder > 100)
		return -EINVAL;
	*ret = cfg;
	return 0;
}

#endif /* DUSK_FAULTS_H */
