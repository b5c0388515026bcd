/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EXEC_TALLY_H
#define EXEC_TALLY_H

/* Count one execution for tag: how many times tag was counted, this one
 * included. */
unsigned long exec_tally(unsigned long tag);

#endif /* EXEC_TALLY_H */
