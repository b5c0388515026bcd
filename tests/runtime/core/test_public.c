// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * libdusk.a as a module program links it: through dusk.h only. This file
 * also defines, as globals, names the runtime uses internally: if any of
 * them were global in libdusk.a, this program would not link (module code
 * is arbitrary C and may well define them).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "check.h"
#include "dusk.h"

/* Internal names of libdusk, defined again here on purpose. */
int dusk_msg_parse(void) { return 1; }
int dusk_seq_window_accept(void) { return 2; }
int dusk_log(void) { return 3; }
int dusk_session_cur = 4;
int dusk_hmac_sha256(void) { return 5; }
int dusk_shadow_get(void) { return 6; }
int dusk_transport_send(void) { return 7; }
int dusk_watchdog_start(void) { return 8; }
int dusk_req_create(void) { return 9; }

static unsigned int logged;

static void sink(enum dusk_log_level level, const char *fmt, va_list ap)
{
	logged++;
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	fputs(text, f);
	fclose(f);
}

static void test_config(const char *dir)
{
	struct dusk_config cfg;
	char path[512], want[512];

	unsetenv("DUSK_TARGET");
	unsetenv("DUSK_KEY");
	unsetenv("DUSK_TARGET_NAME");
	unsetenv("XDG_STATE_HOME");
	setenv("DUSK_STATE_DIR", dir, 1);

	/* Nothing running: -ENOENT, defaults filled all the same. */
	CHECK_EQ(dusk_config_init(&cfg), -ENOENT);
	CHECK(cfg.heartbeat_ms > 0 && cfg.timeout_ms > cfg.rto_ms);
	CHECK(cfg.window > 0 && cfg.hold_ms > 0 && cfg.hold_max > 0);
	CHECK_EQ(cfg.watchdog, 1);

	/* The default target's files. */
	snprintf(path, sizeof(path), "%s/default", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/default/endpoint", dir);
	put(path, "  127.0.0.1:7123\n");
	CHECK_EQ(dusk_config_init(&cfg), 0);
	CHECK(!strcmp(cfg.target, "127.0.0.1:7123"));
	snprintf(want, sizeof(want), "%s/default/key", dir);
	CHECK(!strcmp(cfg.key_file, want));

	/* Another target by name. */
	setenv("DUSK_TARGET_NAME", "router", 1);
	CHECK_EQ(dusk_config_init(&cfg), -ENOENT);
	snprintf(path, sizeof(path), "%s/router", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/router/endpoint", dir);
	put(path, "10.1.2.3:9000");
	CHECK_EQ(dusk_config_init(&cfg), 0);
	CHECK(!strcmp(cfg.target, "10.1.2.3:9000"));
	unsetenv("DUSK_TARGET_NAME");

	/* The environment wins. */
	setenv("DUSK_TARGET", "192.0.2.1:7000", 1);
	setenv("DUSK_KEY", "/nonexistent/key", 1);
	CHECK_EQ(dusk_config_init(&cfg), 0);
	CHECK(!strcmp(cfg.target, "192.0.2.1:7000"));
	CHECK(!strcmp(cfg.key_file, "/nonexistent/key"));
	unsetenv("DUSK_TARGET");
	unsetenv("DUSK_KEY");

	/* XDG_STATE_HOME, then HOME, when DUSK_STATE_DIR is unset. */
	unsetenv("DUSK_STATE_DIR");
	setenv("XDG_STATE_HOME", "/xdg", 1);
	dusk_config_init(&cfg);
	CHECK(!strcmp(cfg.key_file, "/xdg/dusk/default/key"));
	unsetenv("XDG_STATE_HOME");
	setenv("HOME", "/home/u", 1);
	dusk_config_init(&cfg);
	CHECK(!strcmp(cfg.key_file, "/home/u/.local/state/dusk/default/key"));
}

static void test_open_errors(const char *dir)
{
	struct dusk_session *s = NULL;
	struct dusk_config cfg;
	char key[512];

	dusk_config_init(&cfg);
	snprintf(cfg.target, sizeof(cfg.target), "127.0.0.1:9");
	snprintf(key, sizeof(key), "%s/key", dir);
	snprintf(cfg.key_file, sizeof(cfg.key_file), "%s", key);
	CHECK_EQ(dusk_session_open(&cfg, &s), -ENOENT);	/* no key file */
	put(key, "not hex\n");
	CHECK_EQ(dusk_session_open(&cfg, &s), -EINVAL);
	put(key, "00112233445566778899aabbccddeeff"
		 "00112233445566778899aabbccddeeff\n");
	snprintf(cfg.target, sizeof(cfg.target), "no-port");
	CHECK_EQ(dusk_session_open(&cfg, &s), -EINVAL);
	/* Nobody there: the HELLO times out. */
	snprintf(cfg.target, sizeof(cfg.target), "127.0.0.1:9");
	cfg.timeout_ms = 200;
	CHECK_EQ(dusk_session_open(&cfg, &s), -ETIMEDOUT);
	CHECK(s == NULL);
	CHECK(dusk_session_current() == NULL);
}

int main(void)
{
	char dir[] = "/tmp/dusk-test-state-XXXXXX";
	int x;

	if (!mkdtemp(dir))
		return 99;
	dusk_set_log(sink);
	test_config(dir);
	test_open_errors(dir);
	CHECK(logged > 0);	/* the errors went to our sink */

	/* No session: nothing is translated, nothing is fetched. */
	CHECK(__dusk_check(&x, sizeof(x)) == &x);
	CHECK(__dusk_check((void *)0xffff888000001000UL, 8) ==
	      (void *)0xffff888000001000UL);
	CHECK_EQ(dusk_kaddr(&x), 0);
	CHECK(dusk_shadow(NULL, 0xffff888000001000UL, 8, 0) == NULL);
	CHECK_EQ(dusk_commit(NULL), -ENOTCONN);
	CHECK_EQ(dusk_run(NULL), -ENOTCONN);

	/* Our own definitions are the ones this program sees. */
	CHECK(dusk_msg_parse() + dusk_seq_window_accept() + dusk_log() +
	      dusk_session_cur + dusk_hmac_sha256() + dusk_shadow_get() +
	      dusk_transport_send() + dusk_watchdog_start() +
	      dusk_req_create() == 45);
	{
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		CHECK(system(cmd) == 0);
	}
	return check_done("test_public");
}
