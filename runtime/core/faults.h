/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * faults.h - deterministic fault injection at the transport seam: a
 * backend that wraps another and loses, duplicates and reorders the
 * datagrams going both ways, as DUSK_FAULTS says (proto/dusk_faults.h:
 * the syntax and the generator, shared with dusk.ko's "faults"
 * parameter). The session above sees only what a bad network would do.
 */
#ifndef DUSK_CORE_FAULTS_H
#define DUSK_CORE_FAULTS_H

#include <stdint.h>

#include "dusk_faults.h"

struct dusk_transport;

/* What the wrapper did, per direction (enum dusk_fault_dir). */
struct dusk_faults_stats {
	uint64_t lost[__DUSK_FAULT_DIR_MAX];
	uint64_t duplicated[__DUSK_FAULT_DIR_MAX];
	uint64_t reordered[__DUSK_FAULT_DIR_MAX];
};

/*
 * Wrap *t in a fault injector following cfg; *t becomes the wrapper,
 * which owns the inner transport. Nothing is done when cfg injects
 * nothing. On failure (-ENOMEM) *t is left as it was.
 */
int dusk_transport_faults_wrap(struct dusk_transport **t,
			       const struct dusk_faults_cfg *cfg);
/* The same from a setting's text (DUSK_FAULTS): -EINVAL if malformed. */
int dusk_transport_faults_setup(struct dusk_transport **t, const char *setting);
/* The wrapper's counts; -EINVAL if t is not a fault injector. */
int dusk_transport_faults_stats(struct dusk_transport *t,
				struct dusk_faults_stats *ret);

#endif /* DUSK_CORE_FAULTS_H */
