/* fuzz_fleet.c - libFuzzer harness for dw_meterfile_parse().
 *
 * The input is the text of a SmartmeterFile, passed without a terminating
 * NUL (libFuzzer's buffer has exactly size bytes, so ASan catches a read
 * past it). Accepted: every entry must obey the rules of a <Smartmeter>
 * block (an ID of 1..256 bytes without whitespace or control characters,
 * an Instance that is a safe name of at most 63 bytes), no ID twice, and
 * every shard in range. Refused: nothing is handed out and err says why. */
#include "dw_config.h"
#include "dw_meterfile.h"
#include "dw_shard.h"
#include "fuzz_util.h"

#include <errno.h>

#define INSTANCE_MAX_LEN 63 /* dw_config.c's CFG_NAME_MAX */

static const unsigned shard_counts[] = {1, 2, 3, 16, 1000};

static int compare_ids(const void *pa, const void *pb) {
  const dw_meterfile_entry_t *a = pa;
  const dw_meterfile_entry_t *b = pb;
  return strcmp(a->id, b->id);
}

static void check_entry(const dw_meterfile_entry_t *e) {
  FUZZ_ASSERT(e->id != NULL);
  size_t len = strnlen(e->id, DW_MAX_ID_LEN + 1);
  FUZZ_ASSERT(len >= 1 && len <= DW_MAX_ID_LEN);
  for (size_t i = 0; i < len; i++) /* nothing that ends or splits a line */
    FUZZ_ASSERT((unsigned char)e->id[i] > ' ' && e->id[i] != 0x7f);
  FUZZ_ASSERT(e->instance == NULL ||
              fuzz_safe_name(e->instance, INSTANCE_MAX_LEN));
  for (size_t i = 0; i < sizeof(shard_counts) / sizeof(*shard_counts); i++) {
    unsigned shard = dw_shard_of(e->id, shard_counts[i]);
    FUZZ_ASSERT(shard < shard_counts[i]);
    FUZZ_ASSERT(shard == dw_shard_of(e->id, shard_counts[i]));
  }
}

/* No ID twice: sorted copies side by side differ. */
static void check_unique(const dw_meterfile_t *f) {
  if (f->len < 2)
    return;
  dw_meterfile_entry_t *sorted = malloc(f->len * sizeof(*sorted));
  FUZZ_ASSERT(sorted != NULL);
  memcpy(sorted, f->entries, f->len * sizeof(*sorted));
  qsort(sorted, f->len, sizeof(*sorted), compare_ids);
  for (size_t i = 1; i < f->len; i++)
    FUZZ_ASSERT(strcmp(sorted[i - 1].id, sorted[i].id) != 0);
  free(sorted);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  size_t err_size = 1 + fuzz_hash(data, size) % 160;
  char *err = malloc(err_size); /* exact size: ASan sees any overrun */
  FUZZ_ASSERT(err != NULL);
  memset(err, 'X', err_size);
  dw_meterfile_t f = {0};
  int rc = dw_meterfile_parse((const char *)data, size, &f, err, err_size);
  if (rc == 0) {
    FUZZ_ASSERT(f.len == 0 || f.entries != NULL);
    for (size_t i = 0; i < f.len; i++)
      check_entry(&f.entries[i]);
    check_unique(&f);
  } else {
    /* nothing to free on error: LeakSanitizer reports anything kept */
    FUZZ_ASSERT(rc == -EINVAL || rc == -ENOMEM);
    FUZZ_ASSERT(f.len == 0);
    FUZZ_ASSERT(strnlen(err, err_size) < err_size);
    FUZZ_ASSERT(rc != -EINVAL || err_size == 1 || err[0] != '\0');
    free(err);
    return 0;
  }
  dw_meterfile_free(&f);
  FUZZ_ASSERT(f.len == 0 && f.entries == NULL);
  free(err);
  return 0;
}
