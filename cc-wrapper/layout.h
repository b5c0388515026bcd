/* SPDX-License-Identifier: GPL-2.0 */
/*
 * layout.h - the layouts of the structs and unions an object's DWARF
 * describes, and where two objects disagree.
 *
 * dusk-cc compiles every object twice, for the .ko and for user level,
 * with different flags; the user-level code reads and writes kernel
 * objects, so each struct and union both builds use must have the same
 * size, and each member the same offset (bit offset for bitfields) and
 * size. Types are matched by name: "struct NAME", "union NAME", a typedef's
 * name for an anonymous struct or union, "FUNC(): struct NAME" for one
 * declared in a function. Members of anonymous structs and unions are
 * listed as the enclosing type's, at their offset in it, by the name C
 * reaches them with.
 */
#ifndef DUSK_CC_LAYOUT_H
#define DUSK_CC_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#define LAYOUT_UNKNOWN UINT64_MAX

struct layout_member {
	char *name;
	uint64_t bit_offset;	/* from the start of the type */
	uint64_t size;		/* bytes of its type; LAYOUT_UNKNOWN */
	uint64_t bit_size;	/* 0: not a bitfield */
};

struct layout_type {
	char *key;		/* "struct fw_rule" */
	uint64_t size;
	char *decl_file;	/* as the compiler named it; NULL if unknown */
	uint64_t decl_line;
	struct layout_member *members;
	size_t n_members;
};

struct layout {
	struct layout_type *types;	/* sorted by key */
	size_t n, cap;
};

/* The types of the object file at path; -ENODATA if it has no DWARF. */
int layout_read(const char *path, struct layout *ret);
void layout_free(struct layout *l);

enum layout_diff_kind {
	LAYOUT_DIFF_SIZE,		/* the type's size */
	LAYOUT_DIFF_OFFSET,		/* a member's (bit) offset */
	LAYOUT_DIFF_MEMBER_SIZE,	/* a member's size or bit width */
	LAYOUT_DIFF_MEMBER_MISSING,	/* a member one side does not have */
};

struct layout_diff {
	enum layout_diff_kind kind;
	const struct layout_type *a, *b;
	const struct layout_member *ma, *mb;	/* NULL for SIZE; one for MISSING */
};

/*
 * Compare the types a and b both have. *ret (malloc'ed, n_ret entries)
 * lists the differences, those of types declared under one of the
 * directories in last (NULL-terminated: the kernel's trees) or in a file
 * named by a relative path after the others (the module's own types are
 * what its author knows); *n_types is how many types both have.
 * Returns 0 or -errno.
 */
int layout_compare(const struct layout *a, const struct layout *b,
		   const char *const *last, struct layout_diff **ret,
		   size_t *n_ret, size_t *n_types);

/* One difference in words, "struct fw_rule: member 'port' at offset 8 in
 * the A build, 6 in the B build", into buf. */
void layout_diff_describe(const struct layout_diff *d, const char *name_a,
			  const char *name_b, char *buf, size_t len);

#endif /* DUSK_CC_LAYOUT_H */
