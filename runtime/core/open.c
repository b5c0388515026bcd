// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * A session as libdusk's API gives it (dusk.h): the connection with
 * dusk.ko (session.c), the shadow cache on top of it, filled by READs
 * (kernel.c's dusk_kread), and the watchdog process. Closing undoes it in
 * reverse: the cache's changes committed, the watchdog stopped (it must
 * not ping a session that ended), the cache gone, BYE.
 */
#include <errno.h>
#include <string.h>

#include "config.h"
#include "dusk.h"
#include "faults.h"
#include "log.h"
#include "session.h"
#include "shadow.h"
#include "transport.h"
#include "util.h"
#include "watchdog.h"

static int dusk_session_read(void *ctx, uint64_t kaddr, void *buf, size_t len)
{
	return dusk_kread(ctx, kaddr, buf, len);
}

static int dusk_session_open_common(const struct dusk_config *cfg,
				    const uint8_t master[DUSK_KEY_LEN],
				    struct dusk_transport *t,
				    const struct sockaddr *addr,
				    socklen_t addr_len,
				    struct dusk_session **ret)
{
	struct dusk_shadow_region regions[DUSK_SHADOW_MAX_REGIONS];
	struct dusk_shadow_backing backing = { .read = dusk_session_read };
	struct dusk_session *s;
	unsigned int nr = 0;
	int err;

	err = dusk_session_connect(cfg, master, t, addr, addr_len, regions,
				   &nr, &s);
	if (err)
		return err;
	backing.ctx = s;
	err = dusk_shadow_create(&backing, regions, nr, !dusk_session_cur,
				 &s->shadow);
	if (err)
		goto out_session;
	if (s->cfg.watchdog) {
		err = dusk_watchdog_start(s);
		if (err)
			goto out_shadow;
	}
	if (!dusk_session_cur)
		dusk_session_cur = s;
	dusk_info("session %08x with %s (Linux %s)", s->id, s->cfg.target,
		  s->release);
	*ret = s;
	return 0;

out_shadow:
	dusk_shadow_destroy(s->shadow);
	s->shadow = NULL;
out_session:
	dusk_session_disconnect(s);
	return err;
}

int dusk_session_open_transport(const struct dusk_config *cfg,
				const uint8_t master[DUSK_KEY_LEN],
				struct dusk_transport *t,
				struct dusk_session **ret)
{
	if (cfg->watchdog) {
		dusk_transport_destroy(t);
		return -EINVAL;	/* it needs an address to send to */
	}
	return dusk_session_open_common(cfg, master, t, NULL, 0, ret);
}

DUSK_EXPORT int dusk_session_open(const struct dusk_config *cfg,
				  struct dusk_session **ret)
{
	struct sockaddr_storage addr;
	uint8_t master[DUSK_KEY_LEN];
	struct dusk_transport *t;
	socklen_t addr_len;
	int err;

	if (!cfg || !ret)
		return -EINVAL;
	if (!cfg->target[0]) {
		dusk_err("no target: start one with dusk-target up, or give --target");
		return -ENOENT;
	}
	err = dusk_key_load(cfg->key_file, master);
	if (err)
		return err;
	err = dusk_addr_parse(cfg->target, &addr, &addr_len);
	if (err) {
		dusk_err("bad target \"%s\": HOST:PORT expected", cfg->target);
		goto out_key;
	}
	err = dusk_transport_udp_create((struct sockaddr *)&addr, addr_len, &t);
	if (err) {
		dusk_err("socket to %s: %s", cfg->target, strerror(-err));
		goto out_key;
	}
	err = dusk_transport_faults_setup(&t, cfg->faults);
	if (err) {
		dusk_err("DUSK_FAULTS=%s: %s", cfg->faults, strerror(-err));
		dusk_transport_destroy(t);
		goto out_key;
	}
	err = dusk_session_open_common(cfg, master, t, (struct sockaddr *)&addr,
				       addr_len, ret);
out_key:
	dusk_memzero_explicit(master, sizeof(master));
	return err;
}

/* What DUSK_FAULTS did to the session's datagrams, when it did anything. */
static void dusk_faults_report(struct dusk_session *s)
{
	struct dusk_faults_stats st;

	if (dusk_transport_faults_stats(s->t, &st))
		return;
	dusk_warn("faults injected: sent %llu lost, %llu duplicated, %llu reordered; received %llu lost, %llu duplicated, %llu reordered",
		  (unsigned long long)st.lost[DUSK_FAULT_TX],
		  (unsigned long long)st.duplicated[DUSK_FAULT_TX],
		  (unsigned long long)st.reordered[DUSK_FAULT_TX],
		  (unsigned long long)st.lost[DUSK_FAULT_RX],
		  (unsigned long long)st.duplicated[DUSK_FAULT_RX],
		  (unsigned long long)st.reordered[DUSK_FAULT_RX]);
}

DUSK_EXPORT void dusk_session_close(struct dusk_session *s)
{
	int err;

	if (!s)
		return;
	dusk_faults_report(s);
	err = dusk_commit(s);
	if (err)
		dusk_warn("commit at close: %s", strerror(-err));
	dusk_watchdog_stop(s);
	dusk_shadow_destroy(s->shadow);
	s->shadow = NULL;
	dusk_session_disconnect(s);
}
