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
#include <unistd.h>

#include "fio.h"
#include "optgroup.h"

#include <nvme_mpath/nvme_mpath.h>

#ifndef MPATH_FIO_VERSION
#error "MPATH_FIO_VERSION (the fio release this engine is built for) must be defined"
#endif

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
  char* stats_json;
};

struct mpath_io {
  struct nvme_mpath_io io;
  struct nvme_mpath_dsm_range range;
  struct io_u* io_u;
  struct mpath_data* md;
};

struct mpath_data {
  nvme_mpath_engine* engine;
  nvme_mpath_queue* queue;
  struct nvme_mpath_ns_info ns;
  struct io_u** ring; /* completed io_us: [head, head + count) */
  unsigned int ring_size, head, count, reaped;
  unsigned int queued; /* since the last commit */
  unsigned int lba_shift;
  uint16_t last_status; /* rate-limits status messages */
  int last_res;
};

static struct fio_option options[] = {
    {.name = "paths", .lname = "Explicit paths", .type = FIO_OPT_STR_STORE,
     .off1 = offsetof(struct mpath_options, paths),
     .help = "Colon-separated /dev/ngXnY paths to use (no discovery)",
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
    {.name = "iopolicy", .lname = "I/O policy", .type = FIO_OPT_STR_STORE,
     .off1 = offsetof(struct mpath_options, iopolicy), .def = "numa",
     .help = "Path selection: numa, round-robin, queue-depth or active-passive",
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
     .help = "How long I/O waits for a usable path before failing (0: fail at once)",
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
    {.name = "cmd_timeout", .lname = "Command timeout (ms)", .type = FIO_OPT_INT,
     .off1 = offsetof(struct mpath_options, cmd_timeout), .def = "0",
     .help = "Per-command timeout (nvme_uring_cmd.timeout_ms); 0: the kernel's",
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
    {.name = "io_timeout", .lname = "I/O deadline (ms)", .type = FIO_OPT_INT,
     .off1 = offsetof(struct mpath_options, io_timeout), .def = "120000",
     .help = "Deadline of one I/O across all retries; 0: none",
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
    {.name = "max_retries", .lname = "Max same-path retries", .type = FIO_OPT_INT,
     .off1 = offsetof(struct mpath_options, max_retries), .def = "5",
     .help = "Same-path retries per command (CRD, namespace not ready)",
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
    {.name = "write_hold", .lname = "Write hold (ms)", .type = FIO_OPT_INT,
     .off1 = offsetof(struct mpath_options, write_hold), .def = "-1", .minval = -1,
     .help = "Hold before resending a write that may still execute; -1: controller KATO",
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
    {.name = "failback_delay", .lname = "Failback delay (ms)", .type = FIO_OPT_INT,
     .off1 = offsetof(struct mpath_options, failback_delay), .def = "0",
     .help = "Use a returning optimized path only after it has been usable this long",
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
    {.name = "ana_poll", .lname = "ANA poll interval (ms)", .type = FIO_OPT_INT,
     .off1 = offsetof(struct mpath_options, ana_poll), .def = "1000",
     .help = "ANA log and controller state poll interval",
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
    {.name = "fixedbufs", .lname = "Fixed (pre-mapped) buffers", .type = FIO_OPT_STR_SET,
     .off1 = offsetof(struct mpath_options, fixedbufs),
     .help = "Register the I/O buffers with the ring (IORING_URING_CMD_FIXED)",
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
    {.name = "sqpoll", .lname = "Kernel SQ thread polling", .type = FIO_OPT_STR_SET,
     .off1 = offsetof(struct mpath_options, sqpoll),
     .help = "Offload submission to a kernel thread (IORING_SETUP_SQPOLL)",
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
    {.name = "sqpoll_idle", .lname = "SQ thread idle (ms)", .type = FIO_OPT_INT,
     .off1 = offsetof(struct mpath_options, sqpoll_idle), .def = "1000",
     .help = "SQPOLL thread idle time before it sleeps",
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
    {.name = "stats_json", .lname = "Per-path stats JSON file", .type = FIO_OPT_STR_STORE,
     .off1 = offsetof(struct mpath_options, stats_json),
     .help = "Write the per-path summary as JSON to this file",
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
    {.name = NULL},
};

static int parse_policy(const char* s) {
  if (s == NULL || !strcmp(s, "numa")) return NVME_MPATH_POLICY_NUMA;
  if (!strcmp(s, "round-robin")) return NVME_MPATH_POLICY_ROUND_ROBIN;
  if (!strcmp(s, "queue-depth")) return NVME_MPATH_POLICY_QUEUE_DEPTH;
  if (!strcmp(s, "active-passive")) return NVME_MPATH_POLICY_ACTIVE_PASSIVE;
  return -1;
}

/* Opens the namespace behind `f` with the job's options. `probe_only`: no discovery, no stats,
 * no poller (used to size the file in fio's main process). Returns 0 or -errno. */
static int open_engine(struct thread_data* td, struct fio_file* f, int probe_only,
                       nvme_mpath_engine** out) {
  struct mpath_options* o = td->eo;
  struct nvme_mpath_options mo;
  const char* list[16];
  char* copy = NULL;
  char err[512];
  int policy = parse_policy(o->iopolicy), r;

  nvme_mpath_options_init(&mo);
  if (policy < 0) {
    log_err("mpath_nvme: iopolicy=%s: not one of numa, round-robin, queue-depth, active-passive\n",
            o->iopolicy);
    return -EINVAL;
  }
  list[0] = f->file_name;
  mo.paths = list;
  mo.npaths = 1;
  if (o->paths && o->paths[0] && !probe_only) {
    char *save = NULL, *tok;
    unsigned int n = 0;
    copy = strdup(o->paths);
    for (tok = strtok_r(copy, ":", &save); tok; tok = strtok_r(NULL, ":", &save)) {
      if (n == 16) {
        log_err("mpath_nvme: paths=: at most 16 paths\n");
        free(copy);
        return -EINVAL;
      }
      list[n++] = tok;
    }
    mo.npaths = n;
    mo.explicit_paths_only = 1;
  }
  if (probe_only) {
    mo.explicit_paths_only = 1;
    mo.publish_stats = 0;
    mo.ana_poll_interval_ms = 0;
  } else {
    mo.policy = policy;
    mo.preferred_path = o->preferred_path;
    mo.rr_min_io = o->rr_min_io;
    mo.no_path_timeout_ms = o->no_path_timeout;
    mo.cmd_timeout_ms = o->cmd_timeout;
    mo.io_timeout_ms = o->io_timeout;
    mo.max_retries = o->max_retries;
    mo.write_hold_ms = o->write_hold;
    mo.failback_delay_ms = o->failback_delay;
    mo.ana_poll_interval_ms = o->ana_poll;
    mo.name = td->o.name;
  }
  r = nvme_mpath_open(&mo, out, err, sizeof(err));
  free(copy);
  if (r < 0) log_err("mpath_nvme: %s: %s\n", f->file_name, err);
  return r;
}

static int mpath_get_file_size(struct thread_data* td, struct fio_file* f) {
  nvme_mpath_engine* e;
  struct nvme_mpath_ns_info ns;
  int r;
  if (fio_file_size_known(f)) return 0;
  r = open_engine(td, f, 1, &e);
  if (r < 0) return -r;
  nvme_mpath_ns_info(e, &ns);
  nvme_mpath_close(e);
  f->real_file_size = ns.nsze * ns.lba_size;
  fio_file_set_size_known(f);
  return 0;
}

static int mpath_init(struct thread_data* td) {
  struct mpath_data* md;
  struct mpath_options* o = td->eo;
  if (td->o.nr_files > 1) {
    log_err("mpath_nvme: one namespace (file) per job; use several jobs for several namespaces\n");
    return 1;
  }
  if (parse_policy(o->iopolicy) < 0) {
    log_err("mpath_nvme: iopolicy=%s: not one of numa, round-robin, queue-depth, active-passive\n",
            o->iopolicy);
    return 1;
  }
  md = calloc(1, sizeof(*md));
  if (md == NULL) return 1;
  md->ring_size = td->o.iodepth + 1;
  md->ring = calloc(md->ring_size, sizeof(*md->ring));
  if (md->ring == NULL) {
    free(md);
    return 1;
  }
  td->io_ops_data = md;
  return 0;
}

static int mpath_open_file(struct thread_data* td, struct fio_file* f) {
  struct mpath_data* md = td->io_ops_data;
  struct mpath_options* o = td->eo;
  struct nvme_mpath_queue_options qo;
  struct iovec buf;
  int r;

  if (md->engine != NULL) return 0;
  r = open_engine(td, f, 0, &md->engine);
  if (r < 0) return -r;
  nvme_mpath_ns_info(md->engine, &md->ns);
  md->lba_shift = (unsigned)__builtin_ctz(md->ns.lba_size);
  nvme_mpath_queue_options_init(&qo);
  /* Room for splits: an I/O larger than the transfer limit takes several command slots. */
  qo.depth = td->o.iodepth * 4 + 4;
  qo.sqpoll = o->sqpoll;
  qo.sqpoll_idle_ms = o->sqpoll_idle;
  if (o->fixedbufs) {
    buf.iov_base = td->orig_buffer;
    buf.iov_len = td->orig_buffer_size;
    qo.fixed_buffers = 1;
    qo.buffers = &buf;
    qo.nbuffers = 1;
  }
  r = nvme_mpath_queue_create(md->engine, &qo, &md->queue);
  if (r < 0) {
    log_err("mpath_nvme: %s: cannot create the I/O queue: %s%s\n", f->file_name, strerror(-r),
            r == -EACCES || r == -EPERM ? " (is io_uring disabled? see kernel.io_uring_disabled)" : "");
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
  (void)td;
  free(io_u->engine_data);
  io_u->engine_data = NULL;
}

static void on_done(struct nvme_mpath_io* io) {
  struct mpath_io* m = (struct mpath_io*)io;
  struct mpath_data* md = m->md;
  struct io_u* io_u = m->io_u;
  if (io->res != 0) {
    io_u->error = (unsigned)-io->res;
    if (io->res != md->last_res || io->status != md->last_status) {
      log_err("mpath_nvme: I/O at offset %llu failed: %s%s%s\n", io_u->offset,
              strerror(-io->res), io->status ? ", NVMe status " : "",
              io->status ? nvme_mpath_status_name(io->status) : "");
      md->last_res = io->res;
      md->last_status = io->status;
    }
  } else {
    io_u->error = 0;
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
      log_err("mpath_nvme: offset %llu / length %llu not a multiple of the %u-byte LBA size\n",
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
  r = nvme_mpath_submit(md->queue, io);
  if (r == -EAGAIN) return FIO_Q_BUSY;
  if (r < 0) {
    io_u->error = (unsigned)-r;
    return FIO_Q_COMPLETED;
  }
  md->queued++;
  return FIO_Q_QUEUED;
}

static int mpath_commit(struct thread_data* td) {
  struct mpath_data* md = td->io_ops_data;
  int r;
  if (md->queued == 0) return 0;
  r = nvme_mpath_flush(md->queue);
  if (r < 0) return r;
  io_u_mark_submit(td, md->queued);
  md->queued = 0;
  return 0;
}

static int mpath_getevents(struct thread_data* td, unsigned int min, unsigned int max,
                           const struct timespec* t) {
  struct mpath_data* md = td->io_ops_data;
  int64_t timeout_us = t ? (int64_t)t->tv_sec * 1000000 + t->tv_nsec / 1000 : -1;
  unsigned int n;
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

static void json_string(FILE* f, const char* s) {
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') fputc('\\', f);
    if ((unsigned char)*s >= 0x20) fputc(*s, f);
  }
  fputc('"', f);
}

static void print_summary(struct thread_data* td, struct mpath_data* md) {
  struct mpath_options* o = td->eo;
  struct nvme_mpath_path_stats ps[16];
  int n = nvme_mpath_path_stats(md->engine, ps, 16), i;
  const int json = (output_format & FIO_OUTPUT_JSON) || (o->stats_json && o->stats_json[0]);
  if (n < 0) return;
  if (output_format & FIO_OUTPUT_NORMAL || output_format & FIO_OUTPUT_TERSE || !json) {
    log_info("mpath_nvme: %s: nsid %u of %s, %d paths, policy %s\n", td->o.name, md->ns.nsid,
             md->ns.subsysnqn, n, o->iopolicy ? o->iopolicy : "numa");
    for (i = 0; i < n; i++) {
      log_info("  path %-12s %-6s ana=%-14s ios=%-9llu MiB=%-7llu errors=%-5llu retries=%-4llu "
               "failovers=%-5llu requeues=%-5llu time=%.2fs\n",
               ps[i].ng_path, ps[i].ctrl, ps[i].ana_state, (unsigned long long)ps[i].ios,
               (unsigned long long)(ps[i].bytes >> 20), (unsigned long long)ps[i].errors,
               (unsigned long long)ps[i].retries, (unsigned long long)ps[i].failovers,
               (unsigned long long)ps[i].requeues, (double)ps[i].busy_ns / 1e9);
    }
  }
  if (json) {
    char name[512];
    FILE* f;
    if (o->stats_json && o->stats_json[0]) snprintf(name, sizeof(name), "%s", o->stats_json);
    else snprintf(name, sizeof(name), "mpath_nvme-stats.%s.%d.json", td->o.name, (int)getpid());
    f = fopen(name, "w");
    if (f == NULL) {
      log_err("mpath_nvme: cannot write %s: %s\n", name, strerror(errno));
      return;
    }
    fprintf(f, "{\"schema_version\": 1, \"engine\": \"mpath_nvme\", \"job\": ");
    json_string(f, td->o.name);
    fprintf(f, ", \"pid\": %d, \"subsysnqn\": ", (int)getpid());
    json_string(f, md->ns.subsysnqn);
    fprintf(f, ", \"nsid\": %u, \"paths\": [", md->ns.nsid);
    for (i = 0; i < n; i++) {
      fprintf(f, "%s{\"ng\": ", i ? ", " : "");
      json_string(f, ps[i].ng_path);
      fprintf(f, ", \"ctrl\": ");
      json_string(f, ps[i].ctrl);
      fprintf(f, ", \"address\": ");
      json_string(f, ps[i].address);
      fprintf(f, ", \"ana_state\": ");
      json_string(f, ps[i].ana_state);
      fprintf(f, ", \"ios\": %llu, \"bytes\": %llu, \"reads\": %llu, \"writes\": %llu, "
                 "\"errors\": %llu, \"retries\": %llu, \"failovers\": %llu, \"requeues\": %llu, "
                 "\"busy_ns\": %llu}",
              (unsigned long long)ps[i].ios, (unsigned long long)ps[i].bytes,
              (unsigned long long)ps[i].reads, (unsigned long long)ps[i].writes,
              (unsigned long long)ps[i].errors, (unsigned long long)ps[i].retries,
              (unsigned long long)ps[i].failovers, (unsigned long long)ps[i].requeues,
              (unsigned long long)ps[i].busy_ns);
    }
    fprintf(f, "]}\n");
    fclose(f);
    if (!(output_format & FIO_OUTPUT_JSON)) log_info("mpath_nvme: per-path stats in %s\n", name);
  }
}

static void mpath_cleanup(struct thread_data* td) {
  struct mpath_data* md = td->io_ops_data;
  if (md == NULL) return;
  if (md->engine && md->queue) {
    nvme_mpath_queue_destroy(md->queue);  /* waits for commands in flight */
    print_summary(td, md);
  }
  if (md->engine) nvme_mpath_close(md->engine);
  free(md->ring);
  free(md);
  td->io_ops_data = NULL;
}

/* Exported: fio looks the engine up by the symbol "ioengine". */
struct ioengine_ops ioengine = {
    .name = "mpath_nvme",
    .version = FIO_IOOPS_VERSION,
    .flags = FIO_RAWIO | FIO_NOEXTEND | FIO_MEMALIGN | FIO_NODISKUTIL,
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
