/* dw_fetch.c - one wave of data requests (see dw_fetch.h). */
#include "dw_fetch.h"
#include "dw_decode.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#define FETCH_WHY_SIZE (DW_HEALTH_API_MESSAGE_SIZE + 256)

/* A request of the wave; its decoder exists only while its response
 * arrives. */
typedef struct fetch_job {
  const dw_fetch_item_t *item;
  size_t index;
  int max_month;
  dw_dec_t *dec;
  dw_http_req_t req;
  dw_fetch_done_cb done;
  void *ud;
} fetch_job_t;

/* The job's decoder, created with its body's first bytes; NULL on ENOMEM. */
static dw_dec_t *fetch_decoder(fetch_job_t *job) {
  if (job->dec == NULL &&
      (job->dec = dw_dec_create(job->item->resource, NULL)) != NULL)
    dw_dec_set_max_month(job->dec, job->max_month);
  return job->dec;
}

static int fetch_on_body(void *ud, const char *buf, size_t len) {
  fetch_job_t *job = ud;
  if (fetch_decoder(job) == NULL)
    return -1;
  return dw_dec_feed(job->dec, buf, len) == 0 ? 0 : -1;
}

/* Decodes a finished 2xx response into a fresh cache. */
static void fetch_store(fetch_job_t *job) {
  dw_cache_t fresh = {0};
  /* an empty body: the decoder says what is wrong */
  int status = fetch_decoder(job) == NULL
                   ? -ENOMEM
                   : dw_dec_finish(job->dec, dw_cache_add, &fresh);
  if (status == 0)
    status = dw_cache_seal(&fresh);
  if (status == 0) {
    dw_fetch_result_t r = {.outcome = DW_FETCH_OK,
                           .cache = &fresh,
                           .note = dw_dec_warning(job->dec),
                           .req = &job->req};
    job->done(job->ud, job->index, &r);
    dw_cache_clear(&fresh);
    return;
  }
  char why[FETCH_WHY_SIZE];
  snprintf(why, sizeof(why), "cannot decode the response: %s",
           job->dec && dw_dec_error(job->dec) ? dw_dec_error(job->dec)
                                              : "out of memory");
  dw_cache_clear(&fresh);
  dw_fetch_result_t r = {.outcome = DW_FETCH_FAILED,
                         .class = DW_ERR_DECODE,
                         .why = why,
                         .req = &job->req};
  job->done(job->ud, job->index, &r);
}

/* A 404 or 410 in words: the API's own message, and the fix. */
static void fetch_describe_permanent(const dw_http_req_t *req, char *why,
                                     size_t size) {
  char status[128], message[DW_HEALTH_API_MESSAGE_SIZE];
  dw_health_describe(req, status, sizeof(status));
  dw_health_api_message(req, message, sizeof(message));
  snprintf(why, size,
           "%s%s%s%s: the API does not know this smartmeter or path; check "
           "its ID and Path (asked again after BackoffMax)",
           status, message[0] ? " (\"" : "", message, message[0] ? "\")" : "");
}

/* A request that ended without a usable response. */
static void fetch_report(fetch_job_t *job) {
  const dw_http_req_t *req = &job->req;
  char why[FETCH_WHY_SIZE];
  bool decode_failed = req->error == DW_HTTP_ERR_ABORTED && job->dec != NULL &&
                       dw_dec_error(job->dec) != NULL;
  bool permanent = !decode_failed && dw_health_is_permanent(req);
  if (decode_failed)
    snprintf(why, sizeof(why), "cannot decode the response: %s",
             dw_dec_error(job->dec));
  else if (permanent)
    fetch_describe_permanent(req, why, sizeof(why));
  else
    dw_health_describe(req, why, sizeof(why));
  bool refused = req->error == DW_HTTP_OK && req->status == 401;
  bool deferred = req->error == DW_HTTP_ERR_DEADLINE;
  dw_fetch_result_t r = {.outcome = refused    ? DW_FETCH_REFUSED
                                    : deferred ? DW_FETCH_DEFERRED
                                               : DW_FETCH_FAILED,
                         .class = dw_health_classify(req, decode_failed),
                         .permanent = permanent,
                         .why = why,
                         .req = req};
  job->done(job->ud, job->index, &r);
}

/* Settles a job as soon as it ends, so its decoder is freed early. */
static void fetch_on_done(void *ud, dw_http_req_t *req) {
  fetch_job_t *job = ud;
  if (req->error == DW_HTTP_OK && req->status >= 200 && req->status <= 299)
    fetch_store(job);
  else
    fetch_report(job);
  dw_dec_destroy(job->dec);
  job->dec = NULL;
}

int dw_fetch_run(dw_http_t *http, const char *auth_header,
                 const dw_fetch_item_t *items, size_t n,
                 dw_http_deadline_t deadline, int max_month,
                 dw_fetch_done_cb done, void *ud) {
  if (n == 0)
    return 0;
  fetch_job_t *jobs = calloc(n, sizeof(*jobs));
  dw_http_req_t **reqs = calloc(n, sizeof(*reqs));
  int status = -ENOMEM;
  if (jobs == NULL || reqs == NULL)
    goto out;
  for (size_t i = 0; i < n; i++) {
    jobs[i] = (fetch_job_t){.item = &items[i],
                            .index = i,
                            .max_month = max_month,
                            .done = done,
                            .ud = ud};
    jobs[i].req = (dw_http_req_t){.url = items[i].url,
                                  .auth_header = auth_header,
                                  .on_body = fetch_on_body,
                                  .on_done = fetch_on_done,
                                  .ud = &jobs[i]};
    reqs[i] = &jobs[i].req;
  }
  status = dw_http_run(http, reqs, n, deadline);
  for (size_t i = 0; i < n; i++)
    dw_dec_destroy(jobs[i].dec);
out:
  free(reqs);
  free(jobs);
  return status;
}
