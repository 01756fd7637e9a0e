/* dw_name.h - free text to identifier-safe names, and text for log lines.
 * Owns: the name rules (what is safe, the hashed form), how configured or
 * received text may be quoted in a log line.
 * May call: nothing.
 *
 * collectd identifiers travel as file names (csv, rrdtool), dotted paths
 * (Graphite) and tags (InfluxDB), so a name keeps only [A-Za-z0-9_-]. Any
 * other byte becomes '_'. Because "Water heater" and "Water_heater" would
 * then meet, a name that had to change (or be shortened) gets "_h" and
 * eight hex digits of a hash of the original appended. A safe name is
 * hashed too when kept as it is it could be another name: when it ends
 * like a hashed form ("_h" and eight lower-case hex digits) or in the
 * "-latest" the dispatcher appends to a month series' twin. So two
 * different names never merge (short of a 32-bit hash collision), and
 * every other safe name stays as it is. */
#ifndef DW_NAME_H
#define DW_NAME_H

#include <stdbool.h>
#include <stddef.h>

/* Writes the safe form of text into out (size at least 16) and returns its
 * length; the result always fits, hash included, and is never empty. */
size_t dw_name_safe(char *out, size_t out_size, const char *text);

/* dw_name_safe() of text[0..len), which may hold NUL bytes (each becomes
 * '_', and the hash covers all len bytes). */
size_t dw_name_safe_n(char *out, size_t out_size, const char *text, size_t len);

/* A name on its way from a decoder to the dispatcher travels in a C string
 * (a sample's appliance, the slot's cache): as itself when it is one (no
 * NUL byte, not cut by the decoder's string limit), else as its digest:
 * the byte 0xff, eight hex digits of the hash of the whole name, and the
 * name's first bytes in their safe form. 0xff never occurs in UTF-8, which
 * every JSON string is, so no name a decoder passes on as itself is ever
 * read as a digest. */
#define DW_NAME_DIGEST_SIZE 64

/* The digest of a name whose first len bytes are text (NUL bytes allowed)
 * and whose whole has hash (dw_name_hash_n of all of it); returns out. */
const char *dw_name_digest(char out[DW_NAME_DIGEST_SIZE], const char *text,
                           size_t len, unsigned hash);

/* dw_name_safe() of a name as it travels: of the name itself, or for a
 * digest the hashed form the whole name has. A name that holds a NUL byte
 * needs the hash anyway; one that was cut is hashed whatever its bytes. */
size_t dw_name_safe_carried(char *out, size_t out_size, const char *carried);

#define DW_NAME_MAX 63 /* a safe name: Instance, account names */

/* True when text[0..len) is 1..DW_NAME_MAX bytes of [A-Za-z0-9_-], the
 * bytes that survive every writer's file name, metric path and tag rules
 * unchanged (the rule of Instance and of account names). */
bool dw_name_is_safe(const char *text, size_t len);

/* text[0..len) as it may appear in a log line: printable ASCII as is,
 * '"', '\\' and every other byte escaped, and cut with "..." after
 * (out_size - 4) / 4 bytes, so the result always fits out_size (>= 8).
 * Returns out. */
const char *dw_name_printable(char *out, size_t out_size, const char *text,
                              size_t len);

/* Bytes of configured text quoted in a log line, and the buffer it needs
 * (each byte may take 4, plus "..." and the NUL). */
#define DW_SHOWN_MAX 80
#define DW_SHOWN_SIZE (4 * DW_SHOWN_MAX + 4)

/* dw_name_printable() of a C string into a DW_SHOWN_SIZE buffer. */
const char *dw_name_shown(char out[DW_SHOWN_SIZE], const char *text);

/* 32-bit FNV-1a of text, the hash behind the suffix. */
unsigned dw_name_hash(const char *text);

/* The same of text[0..len), NUL bytes included. */
unsigned dw_name_hash_n(const char *text, size_t len);

#endif
