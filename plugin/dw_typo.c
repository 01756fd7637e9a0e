/* dw_typo.c - how far apart two option names are (see dw_typo.h). */
#include "dw_typo.h"

#include <ctype.h>
#include <limits.h>
#include <string.h>

static unsigned typo_min3(unsigned a, unsigned b, unsigned c) {
  unsigned m = a < b ? a : b;
  return m < c ? m : c;
}

/* The optimal string alignment distance of a and b, case-insensitive:
 * insertions, deletions, substitutions and swaps of neighbours. Both are
 * at most DW_TYPO_NAME_MAX bytes. */
static unsigned typo_osa(const char *a, size_t la, const char *b, size_t lb) {
  unsigned d[DW_TYPO_NAME_MAX + 1][DW_TYPO_NAME_MAX + 1];
  for (size_t i = 0; i <= la; i++)
    d[i][0] = (unsigned)i;
  for (size_t j = 0; j <= lb; j++)
    d[0][j] = (unsigned)j;
  for (size_t i = 1; i <= la; i++) {
    for (size_t j = 1; j <= lb; j++) {
      int ca = tolower((unsigned char)a[i - 1]);
      int cb = tolower((unsigned char)b[j - 1]);
      d[i][j] = typo_min3(d[i - 1][j] + 1, d[i][j - 1] + 1,
                          d[i - 1][j - 1] + (ca != cb));
      if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
          cb == tolower((unsigned char)a[i - 2]) &&
          d[i - 2][j - 2] + 1 < d[i][j])
        d[i][j] = d[i - 2][j - 2] + 1;
    }
  }
  return d[la][lb];
}

unsigned dw_typo_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la == 0 || lb == 0 || la > DW_TYPO_NAME_MAX || lb > DW_TYPO_NAME_MAX)
    return UINT_MAX;
  return typo_osa(a, la, b, lb);
}

unsigned dw_typo_limit(const char *name) { return strlen(name) >= 8 ? 2 : 1; }
