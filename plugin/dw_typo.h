/* dw_typo.h - how far apart two option names are.
 * Owns: the edit distance of names and how close makes a likely typo.
 * May call: nothing.
 *
 * The distance is the optimal string alignment one, case-insensitive (as
 * collectd compares option names): an insertion, a deletion, a changed
 * byte or two neighbours swapped count one each. */
#ifndef DW_TYPO_H
#define DW_TYPO_H

#define DW_TYPO_NAME_MAX 64 /* longer names are never anyone's typo */

/* The distance of a and b; UINT_MAX when either is longer than
 * DW_TYPO_NAME_MAX or empty. */
unsigned dw_typo_distance(const char *a, const char *b);

/* The largest distance at which a name is still a likely typo of name: 1,
 * or 2 for names of 8 bytes or more. */
unsigned dw_typo_limit(const char *name);

#endif
