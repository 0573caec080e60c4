/* The fio engine's option handling, as pure C: no fio headers, no allocation, nothing from the
 * library called. fio's parser fills struct mpath_options (mpath_nvme.c holds the option table);
 * mpath_opts_build() checks it and turns it into the struct nvme_mpath_options that
 * nvme_mpath_open() takes. Kept apart from mpath_nvme.c so that it is unit-tested
 * (tests/unit/fio_options_test.cc) and fuzzed (tests/fuzz/fio_opts_fuzz.cc) without fio. */
#ifndef MPATH_FIO_OPTIONS_H_
#define MPATH_FIO_OPTIONS_H_

#include <stddef.h>

#include <nvme_mpath/nvme_mpath.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The engine's options as fio stores them (fio's option table uses offsetof on it). Strings are
 * NULL when not given; fio refuses an empty value itself, but "" is handled as not given. */
struct mpath_options {
  void* pad; /* fio: offset 0 means "no option" */
  char* paths;
  char* iopolicy;
  char* preferred_path;
  unsigned int rr_min_io;
  unsigned int no_path_timeout;
  unsigned int cmd_timeout;
  unsigned int io_timeout;
  unsigned int max_retries;
  int write_hold;
  unsigned int failback_delay;
  unsigned int ana_poll;
  unsigned int fixedbufs;
  unsigned int sqpoll;
  unsigned int sqpoll_idle;
  unsigned int hipri;        /* polled completions (the queue's iopoll), as fio's io_uring engines */
  unsigned int hipri_force;  /* poll even on the 6.1 series (known to crash there) */
  char* stats_json;
};

/* The library's path limit (kMaxEnginePaths). */
#define MPATH_OPTS_MAX_PATHS 16
/* Room for the split copy of paths=, its NUL included: 16 paths of 255 bytes fit. A longer
 * paths= is refused, never cut. */
#define MPATH_OPTS_PATHS_BYTES 4096

/* Storage the built options point into; it must outlive their use (nvme_mpath_open() copies
 * what it keeps, so a local next to the call is enough). */
struct mpath_opts_buf {
  char text[MPATH_OPTS_PATHS_BYTES]; /* paths= with each ':' replaced by a NUL */
  const char* list[MPATH_OPTS_MAX_PATHS];
};

/* The iopolicy= values, as error messages list them. */
#define MPATH_OPTS_POLICY_NAMES "numa, round-robin, queue-depth, active-passive, latency"

/* "numa", "round-robin", "queue-depth", "active-passive", "latency" (exact, case-sensitive) to
 * enum nvme_mpath_policy; NULL (not given) is numa. Anything else: -1. */
int mpath_opts_policy(const char* name);

/* Checks the options of one job and fills `out` for nvme_mpath_open().
 *
 * `out` must have been initialised with nvme_mpath_options_init() by the caller (this file calls
 * nothing from the library, so it links into the fuzzer alone); only the fields the options set
 * are written, and `out` is left untouched on failure. `file_name` is fio's filename= (the file
 * of the job), `job_name` fio's job name (shown by nvme-mpath-ctl; may be NULL).
 *
 * Without paths= the engine opens `file_name` and discovers the other paths. With paths= it opens
 * exactly those, with no discovery, and `file_name` is not used (fio still needs it to name the
 * file; it need not be one of the paths). `probe_only` (sizing the file in fio's main process)
 * opens one path alone, the first of paths= or else `file_name`: no discovery, no stats, no ANA
 * poller, default policy; every option is still checked, so a bad job fails there, before any
 * I/O.
 *
 * Checked here (what fio's option table cannot express, or should not be trusted with):
 *   iopolicy one of the four names; preferred_path only with iopolicy=active-passive (elsewhere
 *   it would be silently ignored, and a job that names a path expects its I/O there);
 *   rr_min_io >= 1; write_hold >= -1; paths=: 1..16 non-empty paths, none twice (same text), no
 *   whitespace or control character in a path or in preferred_path (device names have none: a
 *   space is a typo such as "paths=/dev/ng0n1 /dev/ng1n1", refused rather than trimmed so the
 *   job never runs on something other than what it says), at most MPATH_OPTS_PATHS_BYTES - 1
 *   bytes; a non-empty file_name where it is used.
 * Left to nvme_mpath_open() (the library's ValidateEngineOptions is the one place for them): the
 * ranges of the times, max_retries and ana_poll, and whether the paths exist.
 *
 * Returns 0, or -EINVAL with a one-line message in err naming the option. */
int mpath_opts_build(const struct mpath_options* o, const char* file_name, const char* job_name,
                     int probe_only, struct mpath_opts_buf* buf, struct nvme_mpath_options* out,
                     char* err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* MPATH_FIO_OPTIONS_H_ */
