/* dw_shard.h - which host of a fleet fetches a smartmeter.
 * Owns: the shard function, identical on every host and across restarts.
 * May call: nothing.
 *
 * N hosts with the same list and Shard i N (i = 0..N-1) fetch every meter
 * exactly once; going to N + 1 hosts moves only the meters the new host
 * takes, about 1/(N + 1) of them, and no meter between the old hosts. */
#ifndef DW_SHARD_H
#define DW_SHARD_H

/* The shard (0..count-1) of a smartmeter ID; count >= 1. */
unsigned dw_shard_of(const char *id, unsigned count);

#endif
