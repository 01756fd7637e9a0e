/* dw_validate.c - what only the whole configuration shows (see
 * dw_validate.h). Every problem is logged, not only the first. */
#include "dw_validate.h"
#include "dw_clash.h"
#include "dw_log.h"
#include "dw_name.h"
#include "dw_option.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VALIDATE_CLASHES_SHOWN 50 /* instance clashes logged one by one */
#define VALIDATE_WHERE_SIZE (3 * DW_SHOWN_SIZE + 64)
#define VALIDATE_FILE_ERR_SIZE 512

/* One meter as the instance check sees it: a <Smartmeter> block, or a
 * line of a SmartmeterFile that no block of the same account overrides. */
typedef struct validate_ref {
  const char *instance;
  const char *id;
  size_t account;
  bool from_file;
  char safe[DW_NAME_MAX + 1]; /* a file meter's default instance */
} validate_ref_t;

static const char *validate_account_where(char out[VALIDATE_WHERE_SIZE],
                                          const dw_account_cfg_t *a) {
  char shown[DW_SHOWN_SIZE];
  snprintf(out, VALIDATE_WHERE_SIZE, "<Account \"%s\">",
           dw_name_shown(shown, a->name));
  return out;
}

static int validate_names(const dw_config_t *cfg) {
  int status = 0;
  for (size_t i = 0; i < cfg->accounts_len; i++) {
    for (size_t j = 0; j < i; j++) {
      if (strcmp(cfg->accounts[j].name, cfg->accounts[i].name) != 0)
        continue;
      char where[VALIDATE_WHERE_SIZE];
      dw_log_at(DW_LOG_ERR, validate_account_where(where, &cfg->accounts[i]),
                "duplicate account name: each <Account> needs a name of its "
                "own");
      status = -EINVAL;
      break;
    }
  }
  return status;
}

/* Reads one account's SmartmeterFile and checks that the account has a
 * meter at all. */
static int validate_account(const dw_account_cfg_t *a,
                            dw_validated_file_t *vf) {
  char where[VALIDATE_WHERE_SIZE], shown[DW_SHOWN_SIZE];
  validate_account_where(where, a);
  const char *path = a->smartmeter_file;
  if (path != NULL) {
    char err[VALIDATE_FILE_ERR_SIZE];
    int status =
        dw_meterfile_load(path, &vf->file, &vf->stamp, err, sizeof(err));
    if (status != 0) {
      dw_log_at(DW_LOG_ERR, where, "SmartmeterFile \"%s\": %s",
                dw_name_shown(shown, path), err);
      return status == -ENOMEM ? -ENOMEM : -EINVAL;
    }
  }
  if (a->meters_len > 0 || vf->file.len > 0)
    return 0;
  /* without a file, dw_config already said so */
  if (path != NULL)
    dw_log_at(DW_LOG_ERR, where,
              "no smartmeter configured: SmartmeterFile \"%s\" lists none "
              "and there is no <Smartmeter> block",
              dw_name_shown(shown, path));
  return -EINVAL;
}

static int validate_compare_ids(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Appends account ai's meters to refs: its blocks, then the lines of its
 * file whose ID no block has (the block wins). ids has room for the block
 * IDs, sorted here to look them up. */
static void validate_add_refs(const dw_account_cfg_t *a, size_t ai,
                              const dw_meterfile_t *file, const char **ids,
                              validate_ref_t *refs, size_t *len) {
  for (size_t m = 0; m < a->meters_len; m++) {
    ids[m] = a->meters[m].id;
    refs[(*len)++] = (validate_ref_t){.instance = a->meters[m].instance,
                                      .id = a->meters[m].id,
                                      .account = ai};
  }
  qsort(ids, a->meters_len, sizeof(*ids), validate_compare_ids);
  for (size_t e = 0; e < file->len; e++) {
    const dw_meterfile_entry_t *entry = &file->entries[e];
    if (bsearch(&entry->id, ids, a->meters_len, sizeof(*ids),
                validate_compare_ids) != NULL)
      continue;
    validate_ref_t *ref = &refs[(*len)++];
    *ref = (validate_ref_t){.instance = entry->instance,
                            .id = entry->id,
                            .account = ai,
                            .from_file = true};
    if (ref->instance == NULL) {
      dw_name_safe(ref->safe, sizeof(ref->safe), entry->id);
      ref->instance = ref->safe;
    }
  }
}

/* "<Account "a"> <Smartmeter "ID">" or "<Account "a"> SmartmeterFile
 * "/path" meter "ID"", for a log line. */
static const char *validate_ref_where(char out[VALIDATE_WHERE_SIZE],
                                      const dw_config_t *cfg,
                                      const validate_ref_t *ref) {
  const dw_account_cfg_t *a = &cfg->accounts[ref->account];
  char name[DW_SHOWN_SIZE], id[DW_SHOWN_SIZE], path[DW_SHOWN_SIZE];
  dw_name_shown(name, a->name);
  dw_name_shown(id, ref->id);
  if (ref->from_file)
    snprintf(out, VALIDATE_WHERE_SIZE,
             "<Account \"%s\"> SmartmeterFile \"%s\" meter \"%s\"", name,
             dw_name_shown(path, a->smartmeter_file), id);
  else
    snprintf(out, VALIDATE_WHERE_SIZE, "<Account \"%s\"> <Smartmeter \"%s\">",
             name, id);
  return out;
}

/* Logs each meter whose plugin instance an earlier meter already has, in
 * configuration order, and at most VALIDATE_CLASHES_SHOWN of them. */
static int validate_report_clashes(const dw_config_t *cfg,
                                   const validate_ref_t *refs, size_t len) {
  const char **names = calloc(len ? len : 1, sizeof(*names));
  size_t *first = malloc((len ? len : 1) * sizeof(*first));
  size_t clashes = 0;
  int status = names && first ? 0 : -ENOMEM;
  for (size_t i = 0; status == 0 && i < len; i++)
    names[i] = refs[i].instance;
  if (status == 0)
    status = dw_clash_find(names, len, first, &clashes);
  for (size_t i = 0, shown = 0; status == 0 && i < len; i++) {
    if (first[i] == DW_CLASH_NONE || ++shown > VALIDATE_CLASHES_SHOWN)
      continue;
    char where[VALIDATE_WHERE_SIZE], other[VALIDATE_WHERE_SIZE];
    dw_log_at(DW_LOG_ERR, validate_ref_where(where, cfg, &refs[i]),
              "plugin instance \"%s\" is already used by %s; give one of "
              "them another Instance",
              refs[i].instance,
              validate_ref_where(other, cfg, &refs[first[i]]));
  }
  if (status == 0 && clashes > VALIDATE_CLASHES_SHOWN)
    dw_log_at(DW_LOG_ERR, "<Plugin digiwatt>",
              "%zu more plugin instance clashes",
              clashes - VALIDATE_CLASHES_SHOWN);
  free(names);
  free(first);
  if (status != 0)
    return dw_option_oom("<Plugin digiwatt>");
  return clashes > 0 ? -EINVAL : 0;
}

/* Plugin instances are unique across every account, counting the meters
 * of the SmartmeterFiles. */
static int validate_instances(const dw_config_t *cfg, const dw_validated_t *v) {
  size_t total = 0, most_blocks = 0, len = 0;
  for (size_t i = 0; i < cfg->accounts_len; i++) {
    total += cfg->accounts[i].meters_len + v->files[i].file.len;
    if (cfg->accounts[i].meters_len > most_blocks)
      most_blocks = cfg->accounts[i].meters_len;
  }
  validate_ref_t *refs = malloc((total ? total : 1) * sizeof(*refs));
  const char **ids = malloc((most_blocks ? most_blocks : 1) * sizeof(*ids));
  int status;
  if (refs == NULL || ids == NULL) {
    status = dw_option_oom("<Plugin digiwatt>");
  } else {
    for (size_t i = 0; i < cfg->accounts_len; i++)
      validate_add_refs(&cfg->accounts[i], i, &v->files[i].file, ids, refs,
                        &len);
    status = validate_report_clashes(cfg, refs, len);
  }
  free(refs);
  free(ids);
  return status;
}

int dw_validate(const dw_config_t *cfg, dw_validated_t *out) {
  *out = (dw_validated_t){0};
  if (cfg->accounts_len == 0)
    return 0;
  out->files = calloc(cfg->accounts_len, sizeof(*out->files));
  if (out->files == NULL)
    return dw_option_oom("<Plugin digiwatt>");
  out->len = cfg->accounts_len;
  int status = validate_names(cfg);
  for (size_t i = 0; i < cfg->accounts_len; i++)
    status = dw_option_worse(
        status, validate_account(&cfg->accounts[i], &out->files[i]));
  if (status != -ENOMEM)
    status = dw_option_worse(status, validate_instances(cfg, out));
  if (status != 0)
    dw_validated_free(out);
  return status;
}

void dw_validated_free(dw_validated_t *v) {
  if (v == NULL)
    return;
  for (size_t i = 0; i < v->len; i++)
    dw_meterfile_free(&v->files[i].file);
  free(v->files);
  *v = (dw_validated_t){0};
}
