/* dw_clash.h - plugin instances that more than one meter claims.
 * Owns: nothing beyond one call. May call: nothing.
 *
 * The one clash finder of the plugin: the configuration check
 * (dw_validate) reports clashes, the roster (dw_roster) drops the meters
 * that lose one. Two meters under one plugin_instance would silently
 * write into each other's series. */
#ifndef DW_CLASH_H
#define DW_CLASH_H

#include <stddef.h>
#include <stdint.h>

#define DW_CLASH_NONE SIZE_MAX

/* For names[0..n), sets first[i] to the index of the earliest j < i whose
 * name is equal, or DW_CLASH_NONE, and *clashes to the number of i that
 * have one. O(n log n), so a file of 100,000 meters is checked at once.
 * 0, or -ENOMEM with first and *clashes untouched. */
__attribute__((warn_unused_result)) int dw_clash_find(const char *const *names,
                                                      size_t n, size_t *first,
                                                      size_t *clashes);

#endif
