/* dw_clash.c - plugin instances that more than one meter claims (see
 * dw_clash.h). */
#include "dw_clash.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct clash_ref {
  const char *name;
  size_t index;
} clash_ref_t;

/* By name, then by position: the first of a run is the earliest. */
static int clash_compare(const void *x, const void *y) {
  const clash_ref_t *a = x, *b = y;
  int order = strcmp(a->name, b->name);
  return order != 0 ? order : (a->index > b->index) - (a->index < b->index);
}

int dw_clash_find(const char *const *names, size_t n, size_t *first,
                  size_t *clashes) {
  clash_ref_t *refs = malloc((n ? n : 1) * sizeof(*refs));
  if (refs == NULL)
    return -ENOMEM;
  for (size_t i = 0; i < n; i++)
    refs[i] = (clash_ref_t){.name = names[i], .index = i};
  if (n > 1)
    qsort(refs, n, sizeof(*refs), clash_compare);
  size_t count = 0;
  for (size_t i = 0; i < n; i++)
    first[i] = DW_CLASH_NONE;
  for (size_t i = 1, run = 0; i < n; i++) {
    if (strcmp(refs[i].name, refs[run].name) != 0) {
      run = i;
      continue;
    }
    first[refs[i].index] = refs[run].index;
    count++;
  }
  free(refs);
  *clashes = count;
  return 0;
}
