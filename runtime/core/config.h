/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * config.h - dusk_config_init() (dusk.h) and the key file.
 */
#ifndef DUSK_CONFIG_H
#define DUSK_CONFIG_H

#include <stdint.h>

#include "dusk.h"
#include "dusk_proto.h"

/* 64 hex digits, surrounding white space allowed, to 32 bytes.
 * -EINVAL when it is anything else. */
int dusk_key_parse(const char *text, uint8_t key[DUSK_KEY_LEN]);
/* Read and parse a key file: -errno of open/read, or -EINVAL. */
int dusk_key_load(const char *path, uint8_t key[DUSK_KEY_LEN]);

/* Where embedded targets keep their state: $DUSK_STATE_DIR, else
 * ${XDG_STATE_HOME:-$HOME/.local/state}/dusk. -ENOENT: none of those. */
int dusk_config_state_root(char *buf, size_t cap);
/* The endpoint ("HOST:PORT") a target's state directory names. -ENOENT:
 * none (the target is not running). */
int dusk_config_endpoint(const char *dir, char *buf, size_t cap);

/* Longest hold a session may ask dusk.ko for (its limit: an hour). */
#define DUSK_HOLD_MS_MAX	(3600U * 1000)
/* Parse a hold time in milliseconds / a policy (accept, drop) into cfg:
 * -EINVAL when the text is no such thing. */
int dusk_config_hold_ms(struct dusk_config *cfg, const char *text);
int dusk_config_policy(struct dusk_config *cfg, const char *text);

#endif /* DUSK_CONFIG_H */
