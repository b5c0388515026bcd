// SPDX-License-Identifier: GPL-2.0
/*
 * HELLO cookies: what makes a HELLO cost its sender a round trip and
 * dusk.ko no state (dusk_proto.h, "Handshake"; as WireGuard's cookie
 * reply, or a SYN cookie). A HELLO opens a pending session only if it
 * echoes the cookie dusk.ko gives its source address and port for its
 * client nonce:
 *
 *	cookie = HMAC-SHA256(secret, label | address | port | client nonce)
 *
 * (address and port in network order, as on the wire). The secret is
 * random, made at load and renewed every DUSK_COOKIE_SECS; the previous
 * one is still accepted, so a cookie is good for DUSK_COOKIE_SECS to twice
 * that. No timer: the secret's age is looked at whenever a cookie is made
 * or checked, by the thread, which alone calls this file.
 *
 * A good cookie stays good for the rest of its life, so the HELLO that
 * carried it, captured and replayed from its own address (a stranger on
 * the path can send from it) could open a pending session again and again,
 * each displacing a new program's. So the nonces that opened a session
 * are remembered ("spent") as long as a cookie naming them can be good:
 * each with the secret's generation when it was spent, which the cookies
 * it could carry were made with or before. A HELLO naming a spent nonce
 * opens nothing. The memory is DUSK_SPENT_MAX nonces, in a ring: when the
 * oldest one is still live, key holders opened that many sessions in one
 * cookie lifetime, and rather than forget a live nonce both secrets are
 * renewed, which voids every cookie given so far (a client in the middle
 * of its handshake just gets a new one). So only a new nonce - a new
 * HELLO, which only a key holder can make - ever opens a session.
 */
#include <linux/kernel.h>
#include <linux/jiffies.h>
#include <linux/random.h>
#include <linux/string.h>
#include <crypto/algapi.h>

#include "dusk_kmod.h"

#define DUSK_COOKIE_SECS	10
#define DUSK_COOKIE_LABEL	"dusk-cookie-v1"
#define DUSK_SPENT_MAX		32

struct dusk_spent {
	u8 nonce[DUSK_NONCE_LEN];
	u64 gen;		/* the secret's when spent; 0: never used */
};

static struct {
	struct dusk_mac_key key[2];	/* [gen & 1]: current, previous */
	u64 gen;			/* the current secret's generation */
	unsigned long born;		/* jiffies: the current secret made */
	struct dusk_spent spent[DUSK_SPENT_MAX];
	unsigned int spent_next;	/* the oldest */
} dusk_cookies;

static void dusk_cookie_renew(unsigned int n)
{
	u8 secret[DUSK_KEY_LEN];

	while (n--) {
		dusk_cookies.gen++;
		get_random_bytes(secret, sizeof(secret));
		dusk_mac_key_init(&dusk_cookies.key[dusk_cookies.gen & 1],
				  secret, sizeof(secret));
	}
	memzero_explicit(secret, sizeof(secret));
}

/*
 * Renew the secret when it is DUSK_COOKIE_SECS old, as if on time (a
 * cookie made in one period is good to the end of the next), and both
 * when even the previous one is that old.
 */
static void dusk_cookie_age(void)
{
	unsigned long life = DUSK_COOKIE_SECS * HZ;

	if (time_before(jiffies, dusk_cookies.born + life))
		return;
	if (time_before(jiffies, dusk_cookies.born + 2 * life)) {
		dusk_cookie_renew(1);
		dusk_cookies.born += life;
	} else {
		dusk_cookie_renew(2);
		dusk_cookies.born = jiffies;
	}
}

void dusk_cookie_init(void)
{
	memset(&dusk_cookies, 0, sizeof(dusk_cookies));
	/* Generations 1 and 2: spent records of generation 0 are unused. */
	dusk_cookie_renew(2);
	dusk_cookies.born = jiffies;
}

void dusk_cookie_exit(void)
{
	memzero_explicit(&dusk_cookies, sizeof(dusk_cookies));
}

static void dusk_cookie_of(const struct dusk_mac_key *mk,
			   const struct sockaddr_in *from, const u8 *nonce,
			   u8 out[DUSK_COOKIE_LEN])
{
	static const char label[] = DUSK_COOKIE_LABEL;
	u8 msg[sizeof(label) - 1 + sizeof(from->sin_addr) +
	       sizeof(from->sin_port) + DUSK_NONCE_LEN];
	u8 *p = msg;

	BUILD_BUG_ON(DUSK_COOKIE_LEN != DUSK_MAC_LEN);
	memcpy(p, label, sizeof(label) - 1);
	p += sizeof(label) - 1;
	memcpy(p, &from->sin_addr, sizeof(from->sin_addr));
	p += sizeof(from->sin_addr);
	memcpy(p, &from->sin_port, sizeof(from->sin_port));
	p += sizeof(from->sin_port);
	memcpy(p, nonce, DUSK_NONCE_LEN);
	dusk_mac(mk, msg, sizeof(msg), out);
}

bool dusk_cookie_check(const struct sockaddr_in *from, const u8 *nonce,
		       const u8 *cookie, u8 fresh[DUSK_COOKIE_LEN])
{
	u8 prev[DUSK_COOKIE_LEN];
	bool ok;

	dusk_cookie_age();
	dusk_cookie_of(&dusk_cookies.key[dusk_cookies.gen & 1], from, nonce,
		       fresh);
	if (!crypto_memneq(fresh, cookie, DUSK_COOKIE_LEN))
		return true;
	dusk_cookie_of(&dusk_cookies.key[(dusk_cookies.gen - 1) & 1], from,
		       nonce, prev);
	ok = !crypto_memneq(prev, cookie, DUSK_COOKIE_LEN);
	memzero_explicit(prev, sizeof(prev));
	return ok;
}

/* A record is live while a cookie naming its nonce can still be good. */
static bool dusk_spent_live(const struct dusk_spent *e)
{
	return e->gen && e->gen + 1 >= dusk_cookies.gen;
}

bool dusk_nonce_spent(const u8 *nonce)
{
	unsigned int i;

	for (i = 0; i < DUSK_SPENT_MAX; i++)
		if (dusk_spent_live(&dusk_cookies.spent[i]) &&
		    !memcmp(dusk_cookies.spent[i].nonce, nonce, DUSK_NONCE_LEN))
			return true;
	return false;
}

void dusk_nonce_spend(const u8 *nonce)
{
	struct dusk_spent *e = &dusk_cookies.spent[dusk_cookies.spent_next];

	/* Full of live nonces: void every cookie rather than forget one. */
	if (dusk_spent_live(e)) {
		dusk_cookie_renew(2);
		dusk_cookies.born = jiffies;
	}
	memcpy(e->nonce, nonce, DUSK_NONCE_LEN);
	e->gen = dusk_cookies.gen;
	dusk_cookies.spent_next = (dusk_cookies.spent_next + 1) % DUSK_SPENT_MAX;
}
