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
  /* fio 3.33 io_uring_cmd's own options (engines/io_uring.c), so that its job files run here:
   * docs/fio-engine.md, "io_uring_cmd job files", has what each does. sqthread_poll is an alias
   * of sqpoll. Accepted with io_uring_cmd's meaning: */
  long long sqpoll_cpu;        /* sqthread_poll_cpu= (stored by a callback, as io_uring_cmd's) */
  unsigned int sqpoll_cpu_set; /* 1: sqthread_poll_cpu= was given */
  unsigned int readfua;        /* FUA on every read (fio after 3.33 has these two) */
  unsigned int writefua;       /* FUA on every write */
  /* End-to-end protection, io_uring_cmd's in fio releases after 3.33 (same names, types,
   * defaults): checked when the job starts (pi_chk's words, md_per_io_size) and when the file
   * opens (against the namespace's format: mpath_opts_check_format). */
  unsigned int pi_act;         /* PRACT: the controller generates (writes) and strips (reads) the PI; default 1 */
  char* pi_chk;                /* PRCHK: "GUARD", "REFTAG", "APPTAG", comma-separated; NULL: none */
  unsigned int apptag;         /* the application tag, default 0x1234 */
  unsigned int apptag_mask;    /* its mask, default 0xffff */
  unsigned int md_per_io_size; /* a metadata buffer per I/O: only 0 (none) here */
  /* Accepted, nothing to do: */
  unsigned int registerfiles;  /* the engine always registers its files with the ring */
  int nonvectored;             /* commands are always non-vectored (NVME_URING_CMD_IO) */
  unsigned int cmd_type;       /* MPATH_OPTS_CMD_TYPE_NVME, the only value (0: not set) */
  /* Refused unless at their defaults (mpath_opts_check_init): */
  unsigned int cmdprio_percentage[2]; /* [0] reads, [1] writes, as fio's off1/off2 */
  unsigned int cmdprio_class[2];
  unsigned int cmdprio[2];
  char* cmdprio_bssplit;
  unsigned int uncached;
  unsigned int nowait;
  unsigned int force_async;
};

/* cmd_type=nvme, as io_uring_cmd's FIO_URING_CMD_NVME. */
#define MPATH_OPTS_CMD_TYPE_NVME 1

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

/* The library's limits, declared in fio's option table too (src/options.cc): every time at
 * most 24 h, max_retries at most 255. */
#define MPATH_OPTS_MAX_MS 86400000
#define MPATH_OPTS_MAX_RETRIES 255

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

/* Checks, when the job starts (fio's .init), what does not depend on the device: the options
 * io_uring_cmd has and mpath_nvme takes only at their defaults (cmdprio_percentage,
 * cmdprio_class, cmdprio, cmdprio_bssplit, uncached, nowait, force_async, md_per_io_size: a
 * job that sets one needs what it asks for, so it fails here rather than run without it),
 * pi_chk's words, apptag and apptag_mask at most 0xffff, cmd_type (nvme only),
 * sqthread_poll_cpu (a CPU below `ncpu`, get_nprocs_conf(), and only with sqpoll /
 * sqthread_poll: io_uring_cmd ignores it without, mpath_nvme refuses rather than drop it).
 * Returns 0, or -EINVAL with a one-line message in err naming the option. */
int mpath_opts_check_init(const struct mpath_options* o, int ncpu, char* err, size_t errlen);

/* The CPU sqthread_poll_cpu= asks for, for nvme_mpath_queue_options.sqpoll_cpu: -1 when not
 * given (after mpath_opts_check_init accepted `o`). */
int mpath_opts_sqpoll_cpu(const struct mpath_options* o);

/* PRINFO (CDW12 bits 29:26), as NVMe and io_uring_cmd name them. */
#define MPATH_OPTS_PRACT (1u << 29)
#define MPATH_OPTS_PRCHK_GUARD (1u << 28)
#define MPATH_OPTS_PRCHK_APPTAG (1u << 27)
#define MPATH_OPTS_PRCHK_REFTAG (1u << 26)

/* pi_chk= to PRCHK bits: comma-separated words GUARD, REFTAG, APPTAG (each at most once, as
 * fio's documentation writes them); NULL or "" is none. Returns 0 and the bits in *bits, or
 * -EINVAL with a message naming the word. */
int mpath_opts_pi_chk(const char* s, unsigned int* bits, char* err, size_t errlen);

/* What every read and write of a job carries for end-to-end protection. */
struct mpath_pi {
  unsigned int cdw12;   /* PRACT | PRCHK bits, or 0 */
  unsigned int cdw15;   /* apptag_mask << 16 | apptag, or 0 */
  int reftag_is_lba;    /* 1: CDW14 (the initial reference tag) is the low 32 bits of the SLBA
                           (PI types 1 and 2; the library adds each fragment's offset) */
};

/* Checks, when the file opens, the job's protection options against the namespace's format
 * (nvme_mpath_ns_format: metadata bytes per LBA, extended or separate, PI type) and fills *pi.
 * mpath_nvme moves no metadata between fio and the device (md_per_io_size is 0), so:
 *   no metadata: accepted, *pi all 0 (io_uring_cmd ignores its PI options there too);
 *   extended metadata, or separate metadata without PI: refused (the buffers would need it);
 *   PI in 8 bytes of separate metadata (16-bit guard: the PI is all the metadata) with
 *   pi_act=1: accepted: PRACT, pi_chk's PRCHK, the tags; the controller makes and strips the PI;
 *   PI with pi_act=0 or with more metadata than the PI: refused (fio would have to supply the
 *   PI or the rest of the metadata).
 * `file` names the device in the message. Returns 0, or -EINVAL with one line in err. */
int mpath_opts_check_format(const struct mpath_options* o, unsigned int metadata_size, int extended,
                            int pi_type, const char* file, struct mpath_pi* pi, char* err,
                            size_t errlen);

/* The block sizes of one data direction (read, write, trim) as fio resolved them: min_bs,
 * max_bs (bs=, bsrange=, bssplit='s extremes), ba (blockalign=, fio's default: min_bs), and the
 * sizes of bssplit= (nsplit of them; split may be NULL when nsplit is 0). */
struct mpath_bs_dir {
  unsigned long long min_bs, max_bs, ba;
  const unsigned long long* split;
  unsigned int nsplit;
};

/* Checks, when the file opens (the LBA size is known then, no I/O was sent), that every I/O
 * the job can make is a whole number of LBAs, as io_uring_cmd checks bs in later fio releases
 * ("block size must be a multiple of LBA data size"): for each direction min_bs, max_bs and ba
 * multiples of `lba_size`; with bs_unaligned, fio uses any size of a bsrange (refused) and the
 * bssplit sizes as given (each checked); without it, every size is a multiple of min_bs or is
 * max_bs. `file` names the device in the message. Returns 0, or -EINVAL with one line in err:
 * "<file>: block size must be a multiple of the LBA data size (512 bytes): bs=1000 for reads". */
int mpath_opts_check_bs(const struct mpath_bs_dir dirs[3], int bs_unaligned, unsigned int lba_size,
                        const char* file, char* err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* MPATH_FIO_OPTIONS_H_ */
