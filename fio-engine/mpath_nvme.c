/* mpath_nvme: fio external ioengine for nvme-mpath, the userspace NVMe multipath engine.
 *
 *   fio --ioengine=mpath_nvme --filename=/dev/ngXnY ...      (file "mpath_nvme" on the loader path)
 *   fio --ioengine=external:/path/to/mpath_nvme ...
 *
 * --filename names any one path (/dev/ngXnY) of a namespace; the engine finds the others, reads
 * ANA, and sends every I/O as a raw NVMe command down the path its policy picks, failing over
 * and requeueing on path errors. One engine and one queue (io_uring) per fio job. The file size
 * comes from Identify Namespace. At the end of each job it prints per-path counters (text), or
 * writes them as JSON (docs/fio-engine.md) with --output-format=json or stats_json=FILE.
 *
 * Glue only: everything else is the library's C API (nvme_mpath/nvme_mpath.h). Compiled against
 * the source of the fio release that loads it; a different fio is refused at load time. */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "fio.h"
#include "optgroup.h"

#include <nvme_mpath/nvme_mpath.h>

#include "options.h"    /* struct mpath_options, and what is done with it */
#include "stats_json.h" /* the per-job JSON document (json-c, apart from fio's json.h) */

#ifndef MPATH_FIO_VERSION
#error "MPATH_FIO_VERSION (the fio release this engine is built for) must be defined"
#endif

struct mpath_io {
  struct nvme_mpath_io io;
  struct nvme_mpath_dsm_range range;
  struct io_u* io_u;
  struct mpath_data* md;
  int inflight; /* submitted, callback not run yet: a second callback is a library bug */
};


struct mpath_data {
  nvme_mpath_engine* engine;
  nvme_mpath_queue* queue;
  struct nvme_mpath_ns_info ns;
  struct mpath_pi pi; /* what each read and write carries for end-to-end protection */
  struct io_u** ring; /* completed io_us: [head, head + count) */
  unsigned int ring_size, head, count, reaped;
  struct io_u** pending; /* queued since the last commit (issue time, slat) */
  unsigned int npending, pending_size;
  unsigned int lba_shift;
  int closing;      /* the queue is being torn down: io_us may be gone */
  int warned_align; /* the unaligned-I/O message was printed */
  char label[128];  /* job name, with the subjob number when numjobs > 1 */
  struct mpath_err_kind errs[MPATH_ERR_KINDS];
  unsigned int nerrs;
  unsigned long long errors_total, errors_unlisted;
  unsigned long long duplicate_completions;
};

/* iopolicy=: fio keeps the string (the summary and the JSON show it); this refuses an unknown
 * one as fio parses it, so that fio's "failed parsing iopolicy=..." follows the reason. The
 * posval list is what fio --enghelp=mpath_nvme,iopolicy shows. */
static int iopolicy_cb(void* data, const char* value) {
  (void)data;
  if (mpath_opts_policy(value) >= 0) return 0;
  log_err("mpath_nvme: iopolicy=%s: not one of " MPATH_OPTS_POLICY_NAMES "\n", value);
  return 1;
}

/* sqthread_poll_cpu=: as io_uring_cmd's fio_ioring_sqpoll_cb, the value and that it was given.
 * fio 3.33 splits an integer option's value at '-' and calls this again with the rest, ignoring
 * the first call's result: "-1" arrives as -1, then 1. A negative value therefore sticks, and
 * mpath_opts_check_init refuses it (io_uring_cmd would pin the thread to CPU 1). */
static int sqpoll_cpu_cb(void* data, long long* value) {
  struct mpath_options* o = data;
  if (o->sqpoll_cpu_set && o->sqpoll_cpu < 0) return 0;
  o->sqpoll_cpu = *value;
  o->sqpoll_cpu_set = 1;
  return 0;
}

static struct fio_option options[] = {
    {.name = "paths", .lname = "Explicit paths", .type = FIO_OPT_STR_STORE,
     .off1 = offsetof(struct mpath_options, paths),
     .help = "Colon-separated /dev/ngXnY paths to use (no discovery)",
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
    {.name = "iopolicy", .lname = "I/O policy", .type = FIO_OPT_STR_STORE,
     .off1 = offsetof(struct mpath_options, iopolicy), .def = "numa", .cb = iopolicy_cb,
     .help = "Path selection: " MPATH_OPTS_POLICY_NAMES,
     .posval = {
         {.ival = "numa", .help = "Optimized paths on the submitting CPU's NUMA node first"},
         {.ival = "round-robin", .help = "Rotate over the optimized paths (rr_min_io each)"},
         {.ival = "queue-depth", .help = "The optimized path with the fewest commands in flight"},
         {.ival = "active-passive", .help = "One path (preferred_path) while it is usable"},
         {.ival = "latency", .help = "Lowest (in flight + 1) x latency estimate"},
     },
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
    {.name = "preferred_path", .lname = "Preferred path", .type = FIO_OPT_STR_STORE,
     .off1 = offsetof(struct mpath_options, preferred_path),
     .help = "active-passive: the path to prefer (/dev/ngXnY or nvmeX)",
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
    {.name = "rr_min_io", .lname = "Round-robin min I/O", .type = FIO_OPT_INT,
     .off1 = offsetof(struct mpath_options, rr_min_io), .def = "1", .minval = 1,
     .help = "round-robin: I/Os on a path before moving on",
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
    {.name = "no_path_timeout", .lname = "No-path timeout (ms)", .type = FIO_OPT_INT,
     .off1 = offsetof(struct mpath_options, no_path_timeout), .def = "30000",
     .maxval = MPATH_OPTS_MAX_MS,
     .help = "How long I/O waits for a usable path before failing (0: fail at once)",
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
    {.name = "cmd_timeout", .lname = "Command timeout (ms)", .type = FIO_OPT_INT,
     .off1 = offsetof(struct mpath_options, cmd_timeout), .def = "0", .maxval = MPATH_OPTS_MAX_MS,
     .help = "Per-command timeout (nvme_uring_cmd.timeout_ms); 0: the kernel's",
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
    {.name = "io_timeout", .lname = "I/O deadline (ms)", .type = FIO_OPT_INT,
     .off1 = offsetof(struct mpath_options, io_timeout), .def = "120000",
     .maxval = MPATH_OPTS_MAX_MS,
     .help = "Deadline of one I/O across all retries; 0: none",
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
    {.name = "max_retries", .lname = "Max same-path retries", .type = FIO_OPT_INT,
     .off1 = offsetof(struct mpath_options, max_retries), .def = "5",
     .maxval = MPATH_OPTS_MAX_RETRIES,
     .help = "Same-path retries per command (CRD, namespace not ready)",
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
    {.name = "write_hold", .lname = "Write hold (ms)", .type = FIO_OPT_INT,
     .off1 = offsetof(struct mpath_options, write_hold), .def = "-1", .minval = -1,
     .maxval = MPATH_OPTS_MAX_MS,
     .help = "Hold before resending a write that may still execute; -1: (TBKAS ? 3 : 2) x KATO + CQT",
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
    {.name = "failback_delay", .lname = "Failback delay (ms)", .type = FIO_OPT_INT,
     .off1 = offsetof(struct mpath_options, failback_delay), .def = "0",
     .maxval = MPATH_OPTS_MAX_MS,
     .help = "Use a returning optimized path only after it has been usable this long",
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
    /* 0 (never) or at least 10: fio's range cannot say "or", the library refuses 1..9. */
    {.name = "ana_poll", .lname = "ANA poll interval (ms)", .type = FIO_OPT_INT,
     .off1 = offsetof(struct mpath_options, ana_poll), .def = "1000", .maxval = MPATH_OPTS_MAX_MS,
     .help = "ANA log and controller state poll interval (0: never, else at least 10)",
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
    {.name = "fixedbufs", .lname = "Fixed (pre-mapped) buffers", .type = FIO_OPT_STR_SET,
     .off1 = offsetof(struct mpath_options, fixedbufs),
     .help = "Register the I/O buffers with the ring (IORING_URING_CMD_FIXED)",
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
    {.name = "sqpoll", .alias = "sqthread_poll", .lname = "Kernel SQ thread polling",
     .type = FIO_OPT_STR_SET, .off1 = offsetof(struct mpath_options, sqpoll),
     .help = "Offload submission to a kernel thread (IORING_SETUP_SQPOLL); alias sqthread_poll",
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
    {.name = "hipri", .lname = "Polled completions", .type = FIO_OPT_STR_SET,
     .off1 = offsetof(struct mpath_options, hipri),
     .help = "Use polled I/O completions (IORING_SETUP_IOPOLL; every path needs poll queues: "
             "nvme connect --nr-poll-queues=N)",
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
    {.name = "hipri_force", .lname = "Poll where it is known to crash", .type = FIO_OPT_STR_SET,
     .off1 = offsetof(struct mpath_options, hipri_force),
     .help = "With hipri: poll even on the 6.1 kernel series and on NVMe/TCP paths, where polled "
             "passthrough is known to crash the kernel",
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
    {.name = "sqpoll_idle", .lname = "SQ thread idle (ms)", .type = FIO_OPT_INT,
     .off1 = offsetof(struct mpath_options, sqpoll_idle), .def = "1000",
     .maxval = MPATH_OPTS_MAX_MS,
     .help = "SQPOLL thread idle time before it sleeps",
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
    {.name = "stats_json", .lname = "Per-path stats JSON file", .type = FIO_OPT_STR_STORE,
     .off1 = offsetof(struct mpath_options, stats_json),
     .help = "Write the per-path summary as JSON to this file",
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},

    /* fio 3.33 io_uring_cmd's options (engines/io_uring.c: names, types, defaults and ranges
     * as there), so that its job files run with --ioengine=mpath_nvme; docs/fio-engine.md,
     * "io_uring_cmd job files". hipri, the last of them, is above (polled completions, with
     * this engine's hipri_force). */
    {.name = "sqthread_poll_cpu", .lname = "SQ Thread Poll CPU", .type = FIO_OPT_INT,
     .cb = sqpoll_cpu_cb,
     .help = "CPU to pin the SQPOLL thread to (IORING_SETUP_SQ_AFF); only with sqthread_poll",
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
    /* readfua/writefua: io_uring_cmd's in fio releases after 3.33 (same names, type, default). */
    {.name = "readfua", .lname = "Read fua flag support", .type = FIO_OPT_BOOL,
     .off1 = offsetof(struct mpath_options, readfua), .def = "0",
     .help = "Set FUA flag (force unit access) for all Read operations",
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
    {.name = "writefua", .lname = "Write fua flag support", .type = FIO_OPT_BOOL,
     .off1 = offsetof(struct mpath_options, writefua), .def = "0",
     .help = "Set FUA flag (force unit access) for all Write operations",
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
    /* End-to-end protection: io_uring_cmd's in fio releases after 3.33 (same names, types,
     * defaults, ranges), without a metadata buffer (md_per_io_size only 0): docs/fio-engine.md. */
    {.name = "md_per_io_size", .lname = "Separate Metadata Buffer Size per I/O", .type = FIO_OPT_INT,
     .off1 = offsetof(struct mpath_options, md_per_io_size), .def = "0",
     .help = "Size of separate metadata buffer per I/O: only 0 (none) with mpath_nvme",
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
    {.name = "pi_act", .lname = "Protection Information Action", .type = FIO_OPT_BOOL,
     .off1 = offsetof(struct mpath_options, pi_act), .def = "1",
     .help = "Protection Information Action bit (pi_act=1 or pi_act=0); on a namespace with PI, "
             "only 1 (the controller generates and strips the PI)",
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
    {.name = "pi_chk", .lname = "Protection Information Check", .type = FIO_OPT_STR_STORE,
     .off1 = offsetof(struct mpath_options, pi_chk),
     .help = "Control of Protection Information Checking (pi_chk=GUARD,REFTAG,APPTAG)",
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
    {.name = "apptag", .lname = "Application Tag used in Protection Information", .type = FIO_OPT_INT,
     .off1 = offsetof(struct mpath_options, apptag), .def = "0x1234", .maxval = 0xffff,
     .help = "Application Tag used in Protection Information field (Default: 0x1234)",
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
    {.name = "apptag_mask", .lname = "Application Tag Mask", .type = FIO_OPT_INT,
     .off1 = offsetof(struct mpath_options, apptag_mask), .def = "0xffff", .maxval = 0xffff,
     .help = "Application Tag Mask used with Application Tag (Default: 0xffff)",
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
    {.name = "registerfiles", .lname = "Register file set", .type = FIO_OPT_STR_SET,
     .off1 = offsetof(struct mpath_options, registerfiles),
     .help = "Accepted for io_uring_cmd job files: mpath_nvme always registers its files",
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
    {.name = "nonvectored", .lname = "Non-vectored", .type = FIO_OPT_INT,
     .off1 = offsetof(struct mpath_options, nonvectored), .def = "-1",
     .help = "Accepted for io_uring_cmd job files: commands are always non-vectored "
             "(NVME_URING_CMD_IO), whatever the value",
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
    {.name = "cmd_type", .lname = "Uring cmd type", .type = FIO_OPT_STR,
     .off1 = offsetof(struct mpath_options, cmd_type), .def = "nvme",
     .help = "Specify uring-cmd type: only nvme (always NVMe passthrough)",
     .posval = {{.ival = "nvme", .oval = MPATH_OPTS_CMD_TYPE_NVME, .help = "Issue nvme-uring-cmd"}},
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
#ifdef FIO_HAVE_IOPRIO_CLASS
    /* Per-I/O priorities: not supported yet; only their defaults (unset, 0) are accepted. */
    {.name = "cmdprio_percentage", .lname = "high priority percentage", .type = FIO_OPT_INT,
     .off1 = offsetof(struct mpath_options, cmdprio_percentage[0]),
     .off2 = offsetof(struct mpath_options, cmdprio_percentage[1]), .minval = 0, .maxval = 100,
     .help = "Not supported yet by mpath_nvme: only 0 is accepted",
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
    {.name = "cmdprio_class", .lname = "Asynchronous I/O priority class", .type = FIO_OPT_INT,
     .off1 = offsetof(struct mpath_options, cmdprio_class[0]),
     .off2 = offsetof(struct mpath_options, cmdprio_class[1]),
     .minval = IOPRIO_MIN_PRIO_CLASS + 1, .maxval = IOPRIO_MAX_PRIO_CLASS, .interval = 1,
     .help = "Not supported yet by mpath_nvme: must not be set",
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
    {.name = "cmdprio", .lname = "Asynchronous I/O priority level", .type = FIO_OPT_INT,
     .off1 = offsetof(struct mpath_options, cmdprio[0]),
     .off2 = offsetof(struct mpath_options, cmdprio[1]),
     .minval = IOPRIO_MIN_PRIO, .maxval = IOPRIO_MAX_PRIO, .interval = 1,
     .help = "Not supported yet by mpath_nvme: only 0 is accepted",
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
    {.name = "cmdprio_bssplit", .lname = "Priority percentage block size split",
     .type = FIO_OPT_STR_STORE, .off1 = offsetof(struct mpath_options, cmdprio_bssplit),
     .help = "Not supported yet by mpath_nvme: must not be set",
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
#else
    {.name = "cmdprio_percentage", .lname = "high priority percentage", .type = FIO_OPT_UNSUPPORTED,
     .help = "Your platform does not support I/O priority classes"},
    {.name = "cmdprio_class", .lname = "Asynchronous I/O priority class", .type = FIO_OPT_UNSUPPORTED,
     .help = "Your platform does not support I/O priority classes"},
    {.name = "cmdprio", .lname = "Asynchronous I/O priority level", .type = FIO_OPT_UNSUPPORTED,
     .help = "Your platform does not support I/O priority classes"},
    {.name = "cmdprio_bssplit", .lname = "Priority percentage block size split",
     .type = FIO_OPT_UNSUPPORTED, .help = "Your platform does not support I/O priority classes"},
#endif
    /* File I/O flags: nothing to do on NVMe passthrough; only 0 is accepted. */
    {.name = "uncached", .lname = "Uncached", .type = FIO_OPT_INT,
     .off1 = offsetof(struct mpath_options, uncached),
     .help = "Not applicable (RWF_UNCACHED, buffered file I/O): only 0 is accepted",
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
    {.name = "nowait", .lname = "RWF_NOWAIT", .type = FIO_OPT_BOOL,
     .off1 = offsetof(struct mpath_options, nowait),
     .help = "Not applicable (RWF_NOWAIT, file reads and writes): only 0 is accepted",
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
    {.name = "force_async", .lname = "Force async", .type = FIO_OPT_INT,
     .off1 = offsetof(struct mpath_options, force_async),
     .help = "Not supported yet by mpath_nvme (IOSQE_ASYNC every N): only 0 is accepted",
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
    {.name = NULL},
};

/* Returns true when the job is one of a numjobs family. fio keeps numjobs=N on the first job
 * (subjob 0) and sets numjobs=1, subjob 1..N-1 on its clones. */
static int in_numjobs_family(const struct thread_data* td) {
  return td->o.numjobs > 1 || td->subjob_number > 0;
}

/* Opens the namespace behind `f` with the job's options. `probe_only`: no discovery, no stats,
 * no poller (used to size the file in fio's main process). Returns 0 or -errno. */
static int open_engine(struct thread_data* td, struct fio_file* f, int probe_only,
                       nvme_mpath_engine** out) {
  struct mpath_options* o = td->eo;
  struct nvme_mpath_options mo;
  struct mpath_opts_buf buf;
  char err[512];
  int r;

  nvme_mpath_options_init(&mo);
  r = mpath_opts_build(o, f->file_name, td->o.name, probe_only, &buf, &mo, err, sizeof(err));
  if (r == 0) r = nvme_mpath_open(&mo, out, err, sizeof(err));
  if (r < 0) {
    /* The library's messages name the device; others get the file name for context. fio prints
     * td->verror (empty: a blank line) after a failed sizing; it is only 128 bytes and an
     * ENOENT there makes fio carry on without a size, so the message is logged here. */
    const int named = mo.npaths != 1 || strstr(err, f->file_name) != NULL;
    log_err("mpath_nvme: %s%s%s\n", named ? "" : f->file_name, named ? "" : ": ", err);
  }
  return r;
}

/* As io_uring_cmd checks bs when it opens the file (fio releases after 3.33): sizes that are not
 * whole LBAs would each fail with EINVAL at submission. Returns 0, or -EINVAL (logged). */
static int check_block_sizes(struct thread_data* td, struct fio_file* f, unsigned int lba_size) {
  unsigned long long split[3][BSSPLIT_MAX];
  struct mpath_bs_dir dirs[3];
  char err[512];
  int d;
  unsigned int i;
  for (d = 0; d < 3; d++) {
    const enum fio_ddir dd = d == 0 ? DDIR_READ : d == 1 ? DDIR_WRITE : DDIR_TRIM;
    const unsigned int n = td->o.bssplit_nr[dd] < BSSPLIT_MAX ? td->o.bssplit_nr[dd] : BSSPLIT_MAX;
    for (i = 0; i < n; i++) split[d][i] = td->o.bssplit[dd][i].bs;
    dirs[d] = (struct mpath_bs_dir){td->o.min_bs[dd], td->o.max_bs[dd], td->o.ba[dd], split[d], n};
  }
  if (mpath_opts_check_bs(dirs, td->o.bs_unaligned, lba_size, f->file_name, err, sizeof(err)) < 0) {
    log_err("mpath_nvme: %s\n", err);
    return -EINVAL;
  }
  return 0;
}

/* The namespace's metadata and protection against the job's pi_act/pi_chk/apptag options
 * (mpath_opts_check_format); fills *pi for every read and write. Returns 0, or -EINVAL
 * (logged). */
static int check_format(struct thread_data* td, struct fio_file* f, nvme_mpath_engine* e,
                        struct mpath_pi* pi) {
  struct nvme_mpath_ns_format fmt;
  char err[512];
  int r = nvme_mpath_ns_format(e, &fmt);
  if (r < 0) return r;
  if (mpath_opts_check_format(td->eo, fmt.metadata_size, fmt.extended, fmt.pi_type, f->file_name,
                              pi, err, sizeof(err)) < 0) {
    log_err("mpath_nvme: %s\n", err);
    return -EINVAL;
  }
  return 0;
}

static int mpath_get_file_size(struct thread_data* td, struct fio_file* f) {
  nvme_mpath_engine* e;
  struct nvme_mpath_ns_info ns;
  struct mpath_options* o = td->eo;
  char err[512];
  int r;
  if (fio_file_size_known(f)) return 0;
  /* What .init and .open_file check, already here: fio sizes the file in its main process
   * before it starts the job, so a bad job stops before anything else happens. */
  if (mpath_opts_check_init(o, get_nprocs_conf(), err, sizeof(err)) < 0) {
    log_err("mpath_nvme: %s\n", err);
    return EINVAL;
  }
  r = open_engine(td, f, 1, &e);
  if (r < 0) return -r;
  r = nvme_mpath_ns_info(e, &ns);
  if (r == 0) {
    struct mpath_pi pi;
    r = check_format(td, f, e, &pi);
  }
  nvme_mpath_close(e);
  if (r < 0) return -r;
  if (check_block_sizes(td, f, ns.lba_size) < 0) return EINVAL;
  f->real_file_size = ns.nsze * ns.lba_size;
  fio_file_set_size_known(f);
  return 0;
}

static int mpath_init(struct thread_data* td) {
  struct mpath_data* md;
  struct mpath_options* o = td->eo;
  char err[512];
  if (td->o.nr_files > 1) {
    log_err("mpath_nvme: one namespace (file) per job; use several jobs for several namespaces\n");
    return 1;
  }
  if (mpath_opts_policy(o->iopolicy) < 0) { /* fio's parser stopped it already (iopolicy_cb) */
    log_err("mpath_nvme: iopolicy=%s: not one of " MPATH_OPTS_POLICY_NAMES "\n",
            o->iopolicy);
    return 1;
  }
  /* io_uring_cmd's options taken only at their defaults, cmd_type, sqthread_poll_cpu; the rest
   * is checked when the file opens (the paths, then the block sizes against the LBA size). */
  if (mpath_opts_check_init(o, get_nprocs_conf(), err, sizeof(err)) < 0) {
    log_err("mpath_nvme: %s\n", err);
    return 1;
  }
  md = calloc(1, sizeof(*md));
  if (md == NULL) return 1;
  /* At most iodepth io_us exist; the slack keeps a stray completion from overrunning. */
  md->ring_size = 2 * td->o.iodepth + 2;
  md->pending_size = td->o.iodepth + 1;
  md->ring = calloc(md->ring_size, sizeof(*md->ring));
  md->pending = calloc(md->pending_size, sizeof(*md->pending));
  if (md->ring == NULL || md->pending == NULL) {
    free(md->ring);
    free(md->pending);
    free(md);
    return 1;
  }
  if (in_numjobs_family(td))
    snprintf(md->label, sizeof(md->label), "%s.%u", td->o.name, td->subjob_number);
  else
    snprintf(md->label, sizeof(md->label), "%s", td->o.name);
  td->io_ops_data = md;
  return 0;
}

static int mpath_open_file(struct thread_data* td, struct fio_file* f) {
  struct mpath_data* md = td->io_ops_data;
  struct mpath_options* o = td->eo;
  struct nvme_mpath_queue_options qo;
  struct iovec buf;
  char err[512];
  int r;

  if (md->engine != NULL) return 0;
  r = open_engine(td, f, 0, &md->engine);
  if (r < 0) {
    td_verror(td, -r, "nvme_mpath_open");  /* the job fails: fio exits non-zero */
    return -r;
  }
  nvme_mpath_ns_info(md->engine, &md->ns);
  md->lba_shift = (unsigned)__builtin_ctz(md->ns.lba_size);
  /* A metadata format the job can run on and every I/O a whole number of LBAs, or the job stops
   * here, before any I/O. */
  r = check_format(td, f, md->engine, &md->pi);
  if (r == 0) r = check_block_sizes(td, f, md->ns.lba_size);
  if (r < 0) {
    /* The error makes the job fail (without it fio would end it quietly with no file); with
     * direct=1 fio adds "destination does not support O_DIRECT" for any EINVAL here. The file
     * is normally sized first, in fio's main process, which refuses the job already. */
    td_verror(td, EINVAL, "mpath_open_file");
    nvme_mpath_close(md->engine);
    md->engine = NULL;
    return -r;
  }
  nvme_mpath_queue_options_init(&qo);
  /* Room for splits: an I/O larger than the transfer limit takes several command slots. */
  qo.depth = td->o.iodepth * 4 + 4;
  qo.sqpoll = o->sqpoll;
  qo.sqpoll_idle_ms = o->sqpoll_idle;
  qo.sqpoll_cpu = mpath_opts_sqpoll_cpu(o);
  qo.iopoll = o->hipri != 0;
  qo.iopoll_force = o->hipri_force != 0;
  if (o->fixedbufs) {
    buf.iov_base = td->orig_buffer;
    buf.iov_len = td->orig_buffer_size;
    qo.fixed_buffers = 1;
    qo.buffers = &buf;
    qo.nbuffers = 1;
  }
  r = nvme_mpath_queue_create_err(md->engine, &qo, &md->queue, err, sizeof(err));
  if (r < 0) {
    log_err("mpath_nvme: %s: cannot create the I/O queue: %s%s\n", f->file_name, err[0] ? err : strerror(-r),
            r == -EACCES || r == -EPERM ? " (is io_uring disabled? see kernel.io_uring_disabled)" : "");
    /* Without it fio ends the job quietly, with no I/O and exit status 0 (seen in the lab:
     * hipri=1 refused for want of poll queues, fio exit 0). */
    td_verror(td, -r, "nvme_mpath_queue_create");
    nvme_mpath_close(md->engine);
    md->engine = NULL;
    return -r;
  }
  f->fd = nvme_mpath_queue_fd(md->queue);
  return 0;
}

static int mpath_close_file(struct thread_data* td, struct fio_file* f) {
  (void)td;
  f->fd = -1;  /* the queue and engine live until cleanup: other files do not exist */
  return 0;
}

static int mpath_io_u_init(struct thread_data* td, struct io_u* io_u) {
  struct mpath_io* m = calloc(1, sizeof(*m));
  if (m == NULL) return 1;
  m->io_u = io_u;
  m->md = td->io_ops_data;
  io_u->engine_data = m;
  return 0;
}

static void mpath_io_u_free(struct thread_data* td, struct io_u* io_u) {
  struct mpath_data* md = td->io_ops_data;
  /* fio frees its io_us before the engine's cleanup. Should any still be in flight (an aborted
   * job), complete them now, while their memory is still there, without touching the io_us. */
  if (md != NULL && md->queue != NULL && nvme_mpath_queue_inflight(md->queue) > 0) {
    md->closing = 1;
    nvme_mpath_queue_destroy(md->queue);
    md->queue = NULL;
  }
  free(io_u->engine_data);
  io_u->engine_data = NULL;
}

/* Counts an error the application sees and prints it the first time its kind shows up. */
static void note_error(struct mpath_data* md, const struct io_u* io_u, int res, uint16_t status) {
  const uint16_t code = status & 0x7ff;
  unsigned int i;
  md->errors_total++;
  for (i = 0; i < md->nerrs; i++) {
    if (md->errs[i].res == res && md->errs[i].code == code) {
      md->errs[i].count++;
      return;
    }
  }
  if (md->nerrs == MPATH_ERR_KINDS) {
    md->errors_unlisted++;
    return;
  }
  md->errs[md->nerrs++] = (struct mpath_err_kind){res, code, 1};
  if (status != 0)
    log_err("mpath_nvme: %s: %s at offset %llu failed: NVMe status %s (0x%x)%s\n", md->label,
            io_ddir_name(io_u->ddir), io_u->offset, nvme_mpath_status_name(status), status,
            " (further errors of this kind are counted, not printed)");
  else
    log_err("mpath_nvme: %s: %s at offset %llu failed: %s (%s)%s\n", md->label,
            io_ddir_name(io_u->ddir), io_u->offset, strerror(-res), nvme_mpath_status_name(res),
            " (further errors of this kind are counted, not printed)");
}

static void on_done(struct nvme_mpath_io* io) {
  struct mpath_io* m = (struct mpath_io*)io;
  struct mpath_data* md = m->md;
  struct io_u* io_u = m->io_u;
  if (md->closing) return; /* fio is freeing the io_us: nobody will reap this one */
  /* Handing fio the same io_u twice corrupts its lists (verify frees its io_piece twice):
   * report and drop a second completion instead. */
  if (!m->inflight) {
    if (md->duplicate_completions++ == 0)
      log_err("mpath_nvme: %s: BUG: second completion of one I/O (%s at offset %llu, res %d, "
              "status 0x%x) ignored; please report with NVME_MPATH_LOG=debug output\n",
              md->label, io_ddir_name(io_u->ddir), io_u->offset, io->res, io->status);
    return;
  }
  m->inflight = 0;
  if (io->res != 0) {
    /* -errno as is; an NVMe status comes as -EIO with `status` set. */
    io_u->error = (unsigned)-io->res;
    note_error(md, io_u, io->res, io->status);
  } else {
    io_u->error = 0;
  }
  if (md->count == md->ring_size) { /* cannot happen: iodepth io_us at most */
    log_err("mpath_nvme: %s: completion ring overflow, dropping a completion\n", md->label);
    return;
  }
  md->ring[(md->head + md->count) % md->ring_size] = io_u;
  md->count++;
}

static enum fio_q_status mpath_queue(struct thread_data* td, struct io_u* io_u) {
  struct mpath_data* md = td->io_ops_data;
  struct mpath_options* o = td->eo;
  struct mpath_io* m = io_u->engine_data;
  struct nvme_mpath_io* io = &m->io;
  const unsigned long long lba_mask = md->ns.lba_size - 1;
  int r;

  fio_ro_check(td, io_u);
  nvme_mpath_io_init(io);
  io->cb = on_done;
  if (ddir_rw(io_u->ddir) || io_u->ddir == DDIR_TRIM) {
    if ((io_u->offset & lba_mask) || (io_u->xfer_buflen & lba_mask) || io_u->xfer_buflen == 0) {
      if (!md->warned_align++)
        log_err("mpath_nvme: offset %llu / length %llu not a multiple of the %u-byte LBA size "
                "(set bs, offset and size to multiples of it)\n",
                io_u->offset, io_u->xfer_buflen, md->ns.lba_size);
      io_u->error = EINVAL;
      return FIO_Q_COMPLETED;
    }
  }
  switch (io_u->ddir) {
    case DDIR_READ:
    case DDIR_WRITE:
      io->op = io_u->ddir == DDIR_READ ? NVME_MPATH_OP_READ : NVME_MPATH_OP_WRITE;
      io->slba = io_u->offset >> md->lba_shift;
      io->nlb = (uint32_t)(io_u->xfer_buflen >> md->lba_shift);
      io->buf = io_u->xfer_buf;
      if (o->fixedbufs) io->buf_index = 0;
      /* readfua/writefua: Force Unit Access (CDW12 bit 30), as io_uring_cmd sets it. */
      if (io_u->ddir == DDIR_READ ? o->readfua : o->writefua) io->flags |= NVME_MPATH_IO_FUA;
      /* pi_act/pi_chk/apptag/apptag_mask on a namespace with PI (mpath_opts_check_format). */
      io->cdw12 = md->pi.cdw12;
      io->cdw15 = md->pi.cdw15;
      if (md->pi.reftag_is_lba) io->cdw14 = (uint32_t)io->slba;
      break;
    case DDIR_TRIM:
      m->range.cattr = 0;
      m->range.slba = io_u->offset >> md->lba_shift;
      m->range.nlb = (uint32_t)(io_u->xfer_buflen >> md->lba_shift);
      io->op = NVME_MPATH_OP_DEALLOCATE;
      io->nlb = 1;
      io->buf = &m->range;
      break;
    case DDIR_SYNC:
    case DDIR_DATASYNC:
      io->op = NVME_MPATH_OP_FLUSH;
      break;
    default:
      io_u->error = EINVAL;
      return FIO_Q_COMPLETED;
  }
  if (md->npending == md->pending_size) return FIO_Q_BUSY; /* fio commits, then retries */
  m->inflight = 1;
  r = nvme_mpath_submit(md->queue, io);
  if (r < 0) m->inflight = 0;
  if (r == -EAGAIN) return FIO_Q_BUSY;
  if (r < 0) {
    io_u->error = (unsigned)-r;
    return FIO_Q_COMPLETED;
  }
  md->pending[md->npending++] = io_u;
  return FIO_Q_QUEUED;
}

/* Sends the batch, then stamps the issue time of each I/O in it (fio's slat and the start of its
 * clat), as io_uring's commit does: with a commit hook fio leaves this to the engine. */
static int mpath_commit(struct thread_data* td) {
  struct mpath_data* md = td->io_ops_data;
  struct timespec now;
  unsigned int i;
  int r;
  if (md->npending == 0) return 0;
  r = nvme_mpath_flush(md->queue);
  if (r < 0) return r;
  if (fio_fill_issue_time(td)) {
    fio_gettime(&now, NULL);
    for (i = 0; i < md->npending; i++) {
      md->pending[i]->issue_time = now;
      io_u_queued(td, md->pending[i]);
    }
    if (td->o.read_iolog_file) td->last_issue = now;
  }
  io_u_mark_submit(td, md->npending);
  md->npending = 0;
  return 0;
}

static int mpath_getevents(struct thread_data* td, unsigned int min, unsigned int max,
                           const struct timespec* t) {
  struct mpath_data* md = td->io_ops_data;
  int64_t timeout_us = t ? (int64_t)t->tv_sec * 1000000 + t->tv_nsec / 1000 : -1;
  unsigned int n;
  /* fio may reap without committing first (min == 0): a poll would send the batch unstamped. */
  if (md->npending > 0) {
    int r = mpath_commit(td);
    if (r < 0) return r;
  }
  /* The events fio took last time leave the ring now. */
  md->head = (md->head + md->reaped) % md->ring_size;
  md->count -= md->reaped;
  md->reaped = 0;
  while (md->count < min) {
    int r = nvme_mpath_poll(md->queue, min - md->count, timeout_us);
    if (r < 0) return r;
    if (r == 0 && timeout_us >= 0) break;
  }
  if (md->count == 0) nvme_mpath_poll(md->queue, 0, 0);
  n = md->count < max ? md->count : max;
  md->reaped = n;
  return (int)n;
}

static struct io_u* mpath_event(struct thread_data* td, int event) {
  struct mpath_data* md = td->io_ops_data;
  return md->ring[(md->head + (unsigned)event) % md->ring_size];
}

/* The JSON file of a job: stats_json=FILE, else mpath_nvme-stats.<job>.<pid>.json in the current
 * directory; with numjobs > 1 the subjob number goes before ".json" so jobs do not overwrite
 * each other (with --thread they share the pid). */
static void json_file_name(struct thread_data* td, struct mpath_data* md, char* name, size_t len) {
  struct mpath_options* o = td->eo;
  if (o->stats_json && o->stats_json[0]) {
    const char* f = o->stats_json;
    size_t n = strlen(f);
    if (!in_numjobs_family(td))
      snprintf(name, len, "%s", f);
    else if (n > 5 && !strcmp(f + n - 5, ".json"))
      snprintf(name, len, "%.*s.%u.json", (int)(n - 5), f, td->subjob_number);
    else
      snprintf(name, len, "%s.%u", f, td->subjob_number);
  } else {
    snprintf(name, len, "mpath_nvme-stats.%s.%d.json", md->label, (int)getpid());
  }
}

static void write_json(struct thread_data* td, struct mpath_data* md,
                       const struct nvme_mpath_path_stats* ps, int n) {
  struct mpath_options* o = td->eo;
  const struct mpath_stats_doc doc = {
      .library_version = nvme_mpath_version(),
      .fio_version = MPATH_FIO_VERSION,
      .job = td->o.name,
      .subjob = td->subjob_number,
      .pid = (int)getpid(),
      .policy = o->iopolicy,
      .subsysnqn = md->ns.subsysnqn,
      .nsid = md->ns.nsid,
      .lba_size = md->ns.lba_size,
      .nsze = (unsigned long long)md->ns.nsze,
      .io_errors = md->errors_total,
      .errs = md->errs,
      .nerrs = md->nerrs,
      .paths = ps,
      .npaths = n,
  };
  char name[PATH_MAX];
  char* text;
  FILE* f;
  json_file_name(td, md, name, sizeof(name));
  text = mpath_stats_json(&doc);
  if (text == NULL) {
    log_err("mpath_nvme: %s: cannot write %s: out of memory\n", md->label, name);
    return;
  }
  f = fopen(name, "w");
  if (f == NULL) {
    log_err("mpath_nvme: %s: cannot write %s: %s\n", md->label, name, strerror(errno));
    free(text);
    return;
  }
  fputs(text, f);
  free(text);
  if (fclose(f) != 0) {
    log_err("mpath_nvme: %s: cannot write %s: %s\n", md->label, name, strerror(errno));
    return;
  }
  if (output_format & FIO_OUTPUT_NORMAL)
    log_info("mpath_nvme: job=%s per-path stats in %s\n", md->label, name);
}

/* Prints the per-path summary of one job (each job has its own engine and queue, so numjobs > 1
 * gives one block per job, labelled name.N). Text only in fio's normal output format: terse and
 * JSON stdout must stay machine-readable; JSON goes to a file instead. */
static void print_summary(struct thread_data* td, struct mpath_data* md) {
  struct mpath_options* o = td->eo;
  struct nvme_mpath_path_stats ps[16];
  int n = nvme_mpath_path_stats(md->engine, ps, 16), i;
  const int json = (output_format & (FIO_OUTPUT_JSON | FIO_OUTPUT_JSON_PLUS)) ||
                   (o->stats_json && o->stats_json[0]);
  if (n < 0) return;
  if (n > 16) n = 16;
  if (output_format & FIO_OUTPUT_NORMAL) {
    /* Head mode: one path, the kernel's head; the kernel's iopolicy picks the controller. */
    const int head = nvme_mpath_head_mode(md->engine) == 1;
    log_info("mpath_nvme: job=%s mode=%s nsid=%u paths=%d policy=%s subsys=%s\n", md->label,
             head ? "head" : "per-path", md->ns.nsid, n,
             head ? "kernel" : o->iopolicy ? o->iopolicy : "numa", md->ns.subsysnqn);
    for (i = 0; i < n; i++) {
      log_info("  path %-12s %-6s ana=%-14s ios=%-9llu MiB=%-7llu errors=%-5llu retries=%-4llu "
               "failovers=%-5llu requeues=%-5llu time=%.2fs%s\n",
               ps[i].ng_path, ps[i].ctrl, ps[i].ana_state, (unsigned long long)ps[i].ios,
               (unsigned long long)(ps[i].bytes >> 20), (unsigned long long)ps[i].errors,
               (unsigned long long)ps[i].retries, (unsigned long long)ps[i].failovers,
               (unsigned long long)ps[i].requeues, (double)ps[i].busy_ns / 1e9,
               ps[i].disabled ? " disabled" : "");
    }
  }
  if (md->duplicate_completions > 0)
    log_err("mpath_nvme: job=%s BUG: %llu duplicate completions ignored\n", md->label,
            md->duplicate_completions);
  if (md->errors_total > 0) {
    log_err("mpath_nvme: job=%s %llu I/O errors reached fio:", md->label, md->errors_total);
    for (i = 0; i < (int)md->nerrs; i++)
      log_err(" %s x%llu", nvme_mpath_status_name(md->errs[i].code ? md->errs[i].code : md->errs[i].res),
              md->errs[i].count);
    if (md->errors_unlisted) log_err(" other x%llu", md->errors_unlisted);
    log_err("\n");
  }
  if (json) write_json(td, md, ps, n);
}

static void mpath_cleanup(struct thread_data* td) {
  struct mpath_data* md = td->io_ops_data;
  if (md == NULL) return;
  if (md->queue) {
    md->closing = 1; /* fio has reaped everything it will; its io_us are gone */
    nvme_mpath_queue_destroy(md->queue);
    md->queue = NULL;
  }
  if (md->engine) {
    print_summary(td, md);
    nvme_mpath_close(md->engine);
  }
  free(md->ring);
  free(md->pending);
  free(md);
  td->io_ops_data = NULL;
}

/* Exported: fio looks the engine up by the symbol "ioengine". */
struct ioengine_ops ioengine = {
    .name = "mpath_nvme",
    .version = FIO_IOOPS_VERSION,
    /* As io_uring_cmd, plus: no disk util for ng char devices (no block stats), never
     * extend. FIO_NO_OFFLOAD: a queue belongs to one thread, io_submit_mode=offload would call
     * .queue from fio's offload workers. FIO_ASYNCIO_SETS_ISSUE_TIME: .commit stamps issue times. */
    .flags = FIO_RAWIO | FIO_NOEXTEND | FIO_MEMALIGN | FIO_NODISKUTIL | FIO_NO_OFFLOAD |
             FIO_ASYNCIO_SETS_ISSUE_TIME,
    .init = mpath_init,
    .io_u_init = mpath_io_u_init,
    .io_u_free = mpath_io_u_free,
    .queue = mpath_queue,
    .commit = mpath_commit,
    .getevents = mpath_getevents,
    .event = mpath_event,
    .cleanup = mpath_cleanup,
    .open_file = mpath_open_file,
    .close_file = mpath_close_file,
    .get_file_size = mpath_get_file_size,
    .options = options,
    .option_struct_size = sizeof(struct mpath_options),
};

/* Runs at dlopen: refuse to serve a fio other than the one we were compiled against (struct
 * layouts differ between releases), with a clear message rather than a crash. fio then rejects
 * the engine ("bad ioops version") instead of calling into it. */
static void __attribute__((constructor)) mpath_check_fio_version(void) {
  const char* running = dlsym(RTLD_DEFAULT, "fio_version_string");
  const char* fake = getenv("NVME_MPATH_FIO_VERSION_OVERRIDE"); /* tests */
  if (fake != NULL) running = fake;
  if (running == NULL || strcmp(running, MPATH_FIO_VERSION) != 0) {
    fprintf(stderr,
            "mpath_nvme: built for %s but loaded into %s; rebuild the engine against that fio's "
            "source (scripts/setup.sh fetches it with apt-get source fio)\n",
            MPATH_FIO_VERSION, running ? running : "a program that is not fio");
    ioengine.version = -1;
  }
}
