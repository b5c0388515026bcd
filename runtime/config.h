/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * config.h - dusk_config_init() (dusk.h) and the key file.
 */
#ifndef DUSK_CONFIG_H
#define DUSK_CONFIG_H

#include <stdint.h>

#include "dusk_proto.h"

/* 64 hex digits, surrounding white space allowed, to 32 bytes.
 * -EINVAL when it is anything else. */
int dusk_key_parse(const char *text, uint8_t key[DUSK_KEY_LEN]);
/* Read and parse a key file: -errno of open/read, or -EINVAL. */
int dusk_key_load(const char *path, uint8_t key[DUSK_KEY_LEN]);

#endif /* DUSK_CONFIG_H */
