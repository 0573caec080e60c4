/* The fio engine's per-job JSON document (docs/fio-engine.md, "JSON"), as pure C: no fio
 * headers. Kept apart from mpath_nvme.c for two reasons: fio's json.h and json-c both define
 * struct json_object, so no file can include both; and so that tests/unit/fio_stats_json_test.cc
 * checks the document without fio. */
#ifndef MPATH_FIO_STATS_JSON_H_
#define MPATH_FIO_STATS_JSON_H_

#include <nvme_mpath/nvme_mpath.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Distinct errors a job saw: each kind is printed once, all are counted. */
#define MPATH_ERR_KINDS 16
struct mpath_err_kind {
  int res;
  uint16_t code; /* SCT<<8 | SC, without CRD/More/DNR */
  unsigned long long count;
};

/* What the document says about one job. Strings may be NULL ("" then). */
struct mpath_stats_doc {
  const char* library_version;
  const char* fio_version;
  const char* job;
  unsigned int subjob;
  int pid;
  const char* policy;
  const char* subsysnqn;
  unsigned int nsid, lba_size;
  unsigned long long nsze;
  unsigned long long io_errors; /* I/Os that completed to fio with an error */
  const struct mpath_err_kind* errs;
  unsigned int nerrs;
  const struct nvme_mpath_path_stats* paths;
  int npaths;
};

/* Returns the document, one line ending in "\n", in malloc'd memory the caller frees; NULL
 * when out of memory. Every string is made valid UTF-8 (tools/json/mpath_json.h). */
char* mpath_stats_json(const struct mpath_stats_doc* d);

#ifdef __cplusplus
}
#endif

#endif /* MPATH_FIO_STATS_JSON_H_ */
