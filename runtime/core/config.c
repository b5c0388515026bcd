// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * Defaults and where the default target's endpoint and key are found:
 * $DUSK_STATE_DIR/$DUSK_TARGET_NAME/{endpoint,key}, the state directory
 * defaulting to ${XDG_STATE_HOME:-$HOME/.local/state}/dusk, the name to
 * "default" (bin/dusk-target writes them). DUSK_TARGET and DUSK_KEY win.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "dusk_faults.h"
#include "hmac_sha256.h"
#include "log.h"

#define DUSK_DEF_HEARTBEAT_MS	5000
#define DUSK_DEF_HOLD_MS	1000
#define DUSK_DEF_HOLD_MAX	256
#define DUSK_DEF_PREFETCH	512
#define DUSK_DEF_WINDOW		256
#define DUSK_DEF_RTO_MS		20
#define DUSK_DEF_TIMEOUT_MS	5000

static int dusk_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int dusk_key_parse(const char *text, uint8_t key[DUSK_KEY_LEN])
{
	const char *p = text;
	int i, hi, lo;

	while (isspace((unsigned char)*p))
		p++;
	for (i = 0; i < DUSK_KEY_LEN; i++) {
		hi = dusk_hexval((unsigned char)p[2 * i]);
		lo = hi < 0 ? -1 : dusk_hexval((unsigned char)p[2 * i + 1]);
		if (lo < 0)
			return -EINVAL;
		key[i] = (uint8_t)(hi << 4 | lo);
	}
	for (p += 2 * DUSK_KEY_LEN; *p; p++)
		if (!isspace((unsigned char)*p))
			return -EINVAL;
	return 0;
}

/* The whole of a small file, NUL-terminated, at most cap - 1 bytes. */
static int dusk_file_read(const char *path, char *buf, size_t cap)
{
	size_t len = 0;
	ssize_t n;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (len < cap - 1) {
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	return err;
}

int dusk_key_load(const char *path, uint8_t key[DUSK_KEY_LEN])
{
	char text[256];
	int err;

	err = dusk_file_read(path, text, sizeof(text));
	if (err) {
		dusk_err("key file %s: %s", path, strerror(-err));
		return err;
	}
	err = dusk_key_parse(text, key);
	dusk_memzero_explicit(text, sizeof(text));
	if (err)
		dusk_err("key file %s: not 64 hex digits", path);
	return err;
}

static int dusk_copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	if (n >= cap)
		return -ENAMETOOLONG;
	memcpy(dst, src, n + 1);
	return 0;
}

int dusk_config_state_root(char *buf, size_t cap)
{
	const char *dir = getenv("DUSK_STATE_DIR");
	const char *xdg = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	int n;

	if (dir && *dir)
		n = snprintf(buf, cap, "%s", dir);
	else if (xdg && *xdg)
		n = snprintf(buf, cap, "%s/dusk", xdg);
	else if (home && *home)
		n = snprintf(buf, cap, "%s/.local/state/dusk", home);
	else
		return -ENOENT;
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

static int dusk_state_dir(char *buf, size_t cap)
{
	const char *name = getenv("DUSK_TARGET_NAME");
	size_t len;
	int err;

	if (!name || !*name)
		name = "default";
	err = dusk_config_state_root(buf, cap);
	if (err)
		return err;
	len = strlen(buf);
	if (len + 1 + strlen(name) >= cap)
		return -ENAMETOOLONG;
	buf[len] = '/';
	strcpy(buf + len + 1, name);
	return 0;
}

int dusk_config_endpoint(const char *dir, char *buf, size_t cap)
{
	char path[4096 + 16], endpoint[256];
	char *p, *start;
	int err;

	snprintf(path, sizeof(path), "%s/endpoint", dir);
	err = dusk_file_read(path, endpoint, sizeof(endpoint));
	if (err)
		return err;
	/* One line, "HOST:PORT", white space around it. */
	start = endpoint + strspn(endpoint, " \t\r\n");
	p = start + strcspn(start, " \t\r\n");
	*p = '\0';
	if (!*start)
		return -ENOENT;
	return dusk_copy_str(buf, cap, start);
}

/* hold_ms and policy from DUSK_HOLD_MS and DUSK_POLICY: -EINVAL if bad. */
static int dusk_config_env_hold(struct dusk_config *cfg)
{
	const char *hold = getenv("DUSK_HOLD_MS");
	const char *policy = getenv("DUSK_POLICY");
	int err;

	if (hold && *hold) {
		err = dusk_config_hold_ms(cfg, hold);
		if (err) {
			dusk_err("DUSK_HOLD_MS=%s: not a number of milliseconds (1 to %u)",
				 hold, DUSK_HOLD_MS_MAX);
			return err;
		}
	}
	if (policy && *policy) {
		err = dusk_config_policy(cfg, policy);
		if (err) {
			dusk_err("DUSK_POLICY=%s: not accept or drop", policy);
			return err;
		}
	}
	return 0;
}

/* DUSK_FAULTS, checked here so that a typo fails at start. */
static int dusk_config_env_faults(struct dusk_config *cfg)
{
	const char *text = getenv("DUSK_FAULTS");
	struct dusk_faults_cfg faults;

	if (!text || !*text)
		return 0;
	if (dusk_faults_parse(text, &faults) ||
	    strlen(text) >= sizeof(cfg->faults)) {
		dusk_err("DUSK_FAULTS=%s: not seed=S,loss=P,dup=P,reorder=P (percent, 100 at most in all)",
			 text);
		return -EINVAL;
	}
	strcpy(cfg->faults, text);
	if (dusk_faults_on(&faults))
		dusk_warn("DUSK_FAULTS=%s: losing, duplicating and reordering datagrams on purpose",
			  text);
	return 0;
}

int dusk_config_hold_ms(struct dusk_config *cfg, const char *text)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno || end == text || *end || !v || v > DUSK_HOLD_MS_MAX)
		return -EINVAL;
	cfg->hold_ms = (unsigned int)v;
	return 0;
}

int dusk_config_policy(struct dusk_config *cfg, const char *text)
{
	if (!strcmp(text, "accept"))
		cfg->policy = DUSK_POLICY_ACCEPT;
	else if (!strcmp(text, "drop"))
		cfg->policy = DUSK_POLICY_DROP;
	else
		return -EINVAL;
	return 0;
}


DUSK_EXPORT int dusk_config_init(struct dusk_config *cfg)
{
	const char *env_target = getenv("DUSK_TARGET");
	const char *env_key = getenv("DUSK_KEY");
	char dir[4096 - 16];
	int err, have_dir;

	memset(cfg, 0, sizeof(*cfg));
	cfg->heartbeat_ms = DUSK_DEF_HEARTBEAT_MS;
	cfg->hold_ms = DUSK_DEF_HOLD_MS;
	cfg->hold_max = DUSK_DEF_HOLD_MAX;
	cfg->policy = DUSK_POLICY_ACCEPT;
	cfg->prefetch = DUSK_DEF_PREFETCH;
	cfg->window = DUSK_DEF_WINDOW;
	cfg->rto_ms = DUSK_DEF_RTO_MS;
	cfg->timeout_ms = DUSK_DEF_TIMEOUT_MS;
	cfg->watchdog = 1;
	err = dusk_config_env_hold(cfg);
	if (err)
		return err;
	err = dusk_config_env_faults(cfg);
	if (err)
		return err;

	have_dir = dusk_state_dir(dir, sizeof(dir)) == 0;
	if (env_key && *env_key) {
		err = dusk_copy_str(cfg->key_file, sizeof(cfg->key_file), env_key);
		if (err)
			return err;
	} else if (have_dir) {
		snprintf(cfg->key_file, sizeof(cfg->key_file), "%s/key", dir);
	}

	if (env_target && *env_target)
		return dusk_copy_str(cfg->target, sizeof(cfg->target), env_target);
	if (!have_dir)
		return -ENOENT;
	return dusk_config_endpoint(dir, cfg->target, sizeof(cfg->target));
}
