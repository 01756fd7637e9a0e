/* dw_name.h - free text to identifier-safe names.
 *
 * collectd identifiers travel as file names (csv, rrdtool), dotted paths
 * (Graphite) and tags (InfluxDB), so a name keeps only [A-Za-z0-9_-]. Any
 * other byte becomes '_'. Because "Water heater" and "Water_heater" would
 * then meet, a name that had to change (or be shortened) gets "_h" and
 * eight hex digits of a hash of the original appended: two different
 * names never silently merge, and names that were already safe stay as
 * they are. */
#ifndef DW_NAME_H
#define DW_NAME_H

#include <stddef.h>

/* Writes the safe form of text into out (size at least 16) and returns its
 * length; the result always fits, hash included, and is never empty. */
size_t dw_name_safe(char *out, size_t out_size, const char *text);

/* 32-bit FNV-1a of text, the hash behind the suffix. */
unsigned dw_name_hash(const char *text);

#endif
