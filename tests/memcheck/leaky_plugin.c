/* leaky_plugin.c - a collectd plugin that leaks on purpose, for the
 * self-test of `make memcheck`.
 *
 * run-memcheck.sh builds it twice, as digiwatt.so and as notours.so, runs
 * collectd under valgrind with both and requires vg_ours.py to count
 * exactly one leak as the plugin's: the one allocated from digiwatt.so.
 * That proves the whole chain (collectd keeps the plugin's symbols until
 * valgrind's leak check, the XML names the object, the filter matches it
 * and ignores the other) before the real runs are trusted. */
#include "collectd.h"

#include "plugin.h"

#include <stdlib.h>
#include <string.h>

#ifndef LEAKY_NAME
#define LEAKY_NAME "leaky"
#endif
#define LEAK_BYTES 48

void module_register(void);

/* Where the block passes through, so no optimiser can drop the malloc. */
static char *volatile leaky_last;

/* The only pointer to the block is then dropped: a definite leak. */
static int leaky_init(void) {
  char *block = malloc(LEAK_BYTES);
  if (block == NULL)
    return -1;
  memset(block, 'x', LEAK_BYTES);
  leaky_last = block;
  leaky_last = NULL;
  INFO(LEAKY_NAME " plugin: leaked %d bytes on purpose", LEAK_BYTES);
  return 0;
}

void module_register(void) { plugin_register_init(LEAKY_NAME, leaky_init); }
