/* conf_text.h - collectd.conf syntax from a string, into collectd's
 * oconfig tree: what the unit tests (through stand_in.h) and the config
 * fuzzer (fuzz/fuzz_config.c) read configurations with.
 *
 * Supports keys, "quoted strings" with \" and \\ escapes, numbers,
 * true/false (and yes/no/on/off), unquoted words as strings, <Block
 * args>...</Block> nesting (at most 16 deep) and # comments, like
 * collectd's own scanner. It needs collectd's headers, none of its code. */
#ifndef CONF_TEXT_H
#define CONF_TEXT_H

#include "collectd.h"

#include "liboconfig/oconfig.h"

#include <stddef.h>

/* A tree whose root has no key and holds the top-level items as children,
 * like oconfig_parse_file(). NULL on a syntax error, with the reason in
 * error (when error_size > 0) and its line in *line (when not NULL).
 * Aborts on ENOMEM. Free with conf_text_free(). */
oconfig_item_t *conf_text_parse(const char *text, char *error,
                                size_t error_size, int *line);

/* Frees a tree from conf_text_parse(); accepts NULL. */
void conf_text_free(oconfig_item_t *root);

#endif
