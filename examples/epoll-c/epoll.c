/* epoll-c: an NVMe multipath queue inside an epoll event loop, as a database's I/O thread runs
 * it: one thread, one epoll set, the queue's fd beside the thread's other fds (here a timerfd
 * that prints progress), asynchronous I/O with QD requests in flight.
 *
 *   epoll-c /dev/ngXnY [RECORDS [QD]]
 *
 * Writes RECORDS (default 4000) checksummed 4 KiB records from LBA 0, QD (default 32) at a
 * time, flushes, reads every record back, QD at a time, and checks it. Path failures during the
 * run are the engine's business: the program only sees success or a real error. Exit status 0
 * when every record reads back intact.
 *
 * The loop, and why each step is there:
 *   - Each phase starts with its first QD requests in one nvme_mpath_submit_batch() call
 *     (API 4); from then on each completion queues its slot's next request.
 *   - nvme_mpath_queue_fd(q) polls readable (level-triggered) when nvme_mpath_poll() has
 *     completions to reap: EPOLLIN on it -> nvme_mpath_poll(q, 0, 0) runs the callbacks, which
 *     submit the next I/Os; then nvme_mpath_flush(q) sends them.
 *   - Not everything the queue does makes its fd readable: retries after a controller's CRD
 *     delay, I/O parked while no path is usable, write holds and the I/O deadline are timers
 *     that run inside nvme_mpath_poll(). So while I/O is in flight the loop also polls at least
 *     every 10 ms (the epoll_wait timeout); with nothing in flight it may sleep on the fd.
 *   - The queue belongs to this thread (the first one that enters the kernel with it): every
 *     call taking `q` is made here. Callbacks run inside nvme_mpath_poll(), on this thread. */
#define _GNU_SOURCE /* CLOCK_MONOTONIC under -std=c11 too */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <nvme_mpath/nvme_mpath.h>

#define RECORD 4096
#define MAX_QD 256
#define TIMER_POLL_MS 10 /* poll at least this often while I/O is in flight (see above) */

struct slot {
  struct nvme_mpath_io io;
  uint8_t* buf;
  long rec;
};

struct run {
  nvme_mpath_queue* q;
  uint32_t nlb;
  long records;
  long next;     /* next record to submit in this phase */
  long done;     /* records completed in this phase */
  int writing;   /* phase: 1 write, 0 read */
  int failed;
};

static uint32_t checksum(const uint8_t* p, size_t n) {
  uint32_t h = 2166136261u; /* FNV-1a */
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
  return h;
}

static void fill(uint8_t* rec, uint64_t seq) {
  for (size_t i = 8; i < RECORD - 4; i++) rec[i] = (uint8_t)(seq * 31 + i);
  memcpy(rec, &seq, 8);
  uint32_t c = checksum(rec, RECORD - 4);
  memcpy(rec + RECORD - 4, &c, 4);
}

static int intact(const uint8_t* rec, uint64_t seq) {
  uint64_t s;
  uint32_t c;
  memcpy(&s, rec, 8);
  memcpy(&c, rec + RECORD - 4, 4);
  return s == seq && c == checksum(rec, RECORD - 4);
}

static void on_done(struct nvme_mpath_io* io);

/* Sets up the slot's request for the next record of this phase: 0 when the phase has none left
 * (the slot idles). */
static int prep_next(struct run* r, struct slot* s) {
  if (r->next >= r->records || r->failed) return 0;
  s->rec = r->next++;
  nvme_mpath_io_init(&s->io);
  s->io.op = r->writing ? NVME_MPATH_OP_WRITE : NVME_MPATH_OP_READ;
  s->io.slba = (uint64_t)s->rec * r->nlb;
  s->io.nlb = r->nlb;
  s->io.buf = s->buf;
  s->io.cb = on_done;
  s->io.ctx = r;
  if (r->writing) fill(s->buf, (uint64_t)s->rec);
  else memset(s->buf, 0, RECORD);
  return 1;
}

/* Queues the slot's next record of this phase, if any. */
static int submit_next(struct run* r, struct slot* s) {
  if (!prep_next(r, s)) return 0;
  int e = nvme_mpath_submit(r->q, &s->io);
  if (e < 0) {
    fprintf(stderr, "epoll-c: submit record %ld: %s\n", s->rec, strerror(-e));
    r->failed = 1;
    r->done++; /* no callback will come for it */
  }
  return e;
}

/* Runs inside nvme_mpath_poll(), on the loop's thread. */
static void on_done(struct nvme_mpath_io* io) {
  struct slot* s = (struct slot*)io; /* io is the slot's first member */
  struct run* r = io->ctx;
  if (io->res < 0) {
    fprintf(stderr, "epoll-c: %s record %ld: %s (%s)\n", r->writing ? "write" : "read", s->rec,
            strerror(-io->res), nvme_mpath_status_name(io->status ? io->status : io->res));
    r->failed = 1;
  } else if (!r->writing && !intact(s->buf, (uint64_t)s->rec)) {
    fprintf(stderr, "epoll-c: record %ld does not read back\n", s->rec);
    r->failed = 1;
  }
  r->done++;
  submit_next(r, s);
}

/* One phase: every record written (or read), QD at a time, driven by the epoll loop. */
static int run_phase(struct run* r, struct slot* slots, int qd, int ep, int tfd,
                     unsigned long* fd_wakeups, unsigned long* timed_polls) {
  r->next = r->done = 0;
  /* The first QD requests go in one call; each completion then queues its slot's next one. */
  struct nvme_mpath_io* first[MAX_QD];
  int n_first = 0;
  for (int i = 0; i < qd; i++)
    if (prep_next(r, &slots[i])) first[n_first++] = &slots[i].io;
  int taken = n_first ? nvme_mpath_submit_batch(r->q, first, (unsigned)n_first) : 0;
  if (taken < n_first) {
    /* Not with QD within the queue's depth and valid requests: a real error. */
    fprintf(stderr, "epoll-c: the queue took %d of the first %d requests%s%s\n",
            taken < 0 ? 0 : taken, n_first, taken < 0 ? ": " : "",
            taken < 0 ? strerror(-taken) : "");
    r->failed = 1;
    r->done += n_first - (taken < 0 ? 0 : taken); /* no callback will come for those */
  }
  int e = nvme_mpath_flush(r->q);
  if (e < 0) {
    fprintf(stderr, "epoll-c: flush: %s\n", strerror(-e));
    return -1;
  }
  while (r->done < r->next || (!r->failed && r->next < r->records)) {
    struct epoll_event ev[4];
    int timeout = nvme_mpath_queue_inflight(r->q) > 0 ? TIMER_POLL_MS : -1;
    int n = epoll_wait(ep, ev, 4, timeout);
    if (n < 0) {
      if (errno == EINTR) continue;
      perror("epoll-c: epoll_wait");
      return -1;
    }
    int poll_queue = n == 0; /* the 10 ms bound: let the queue run its timers */
    if (n == 0) ++*timed_polls;
    for (int i = 0; i < n; i++) {
      if (ev[i].data.fd == tfd) {
        uint64_t ticks;
        if (read(tfd, &ticks, sizeof(ticks)) == (ssize_t)sizeof(ticks))
          printf("epoll-c: %s %ld/%ld, %u in flight\n", r->writing ? "written" : "read", r->done,
                 r->records, nvme_mpath_queue_inflight(r->q));
      } else {
        ++*fd_wakeups;
        poll_queue = 1;
      }
    }
    if (poll_queue) {
      int c = nvme_mpath_poll(r->q, 0, 0); /* never waits: the loop waits, in epoll_wait */
      if (c < 0) {
        fprintf(stderr, "epoll-c: poll: %s\n", strerror(-c));
        return -1;
      }
      /* The callbacks queued the next I/Os: send them now, not at the next poll. */
      if ((c = nvme_mpath_flush(r->q)) < 0) {
        fprintf(stderr, "epoll-c: flush: %s\n", strerror(-c));
        return -1;
      }
    }
  }
  return r->failed ? -1 : 0;
}

static void log_line(void* ctx, int level, const char* message) {
  static const char* const names[] = {"error", "warning", "info", "debug"};
  (void)ctx;
  fprintf(stderr, "epoll-c: engine %s: %s\n", level >= 0 && level <= 3 ? names[level] : "?", message);
}

int main(int argc, char** argv) {
  if (argc < 2 || argc > 4) {
    fprintf(stderr, "usage: %s /dev/ngXnY [RECORDS [QD]]\n", argv[0]);
    return 2;
  }
  if (!NVME_MPATH_VERSION_CHECK()) {
    fprintf(stderr, "epoll-c: built against nvme-mpath %d.%d, running with %s\n",
            NVME_MPATH_VERSION_MAJOR, NVME_MPATH_VERSION_MINOR, nvme_mpath_version());
    return 1;
  }
  long records = argc >= 3 ? strtol(argv[2], NULL, 0) : 4000;
  int qd = argc >= 4 ? (int)strtol(argv[3], NULL, 0) : 32;
  if (records <= 0 || qd <= 0 || qd > MAX_QD) {
    fprintf(stderr, "epoll-c: RECORDS > 0, QD 1..%d\n", MAX_QD);
    return 2;
  }
  /* The engine's log lines, into this program's own log (here: stderr with its prefix). */
  nvme_mpath_set_log_fn(log_line, NULL, NVME_MPATH_LOG_DEFAULT);

  const char* paths[] = {argv[1]};
  struct nvme_mpath_options o;
  nvme_mpath_options_init(&o);
  o.paths = paths;
  o.npaths = 1;
  o.cmd_timeout_ms = 1000;
  o.name = "epoll-c";
  nvme_mpath_engine* e;
  char err[256];
  if (nvme_mpath_open(&o, &e, err, sizeof(err)) < 0) {
    fprintf(stderr, "epoll-c: %s\n", err);
    return 1;
  }
  struct nvme_mpath_ns_info ns;
  nvme_mpath_ns_info(e, &ns);
  if (RECORD % ns.lba_size != 0 || (uint64_t)records * (RECORD / ns.lba_size) > ns.nsze) {
    fprintf(stderr, "epoll-c: namespace too small or LBA size %u unsupported\n", ns.lba_size);
    nvme_mpath_close(e);
    return 1;
  }
  printf("epoll-c: %s nsid %u, %u paths, lba %u, qd %d\n", ns.subsysnqn, ns.nsid, ns.npaths,
         ns.lba_size, qd);

  struct nvme_mpath_queue_options qo;
  nvme_mpath_queue_options_init(&qo);
  qo.depth = (uint32_t)qd * 2; /* room for splits */
  nvme_mpath_queue* q;
  if (nvme_mpath_queue_create_err(e, &qo, &q, err, sizeof(err)) < 0) {
    fprintf(stderr, "epoll-c: %s\n", err);
    nvme_mpath_close(e);
    return 1;
  }

  int ep = epoll_create1(EPOLL_CLOEXEC);
  int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  struct itimerspec every_second = {{1, 0}, {1, 0}};
  struct epoll_event qev = {.events = EPOLLIN, .data.fd = nvme_mpath_queue_fd(q)};
  struct epoll_event tev = {.events = EPOLLIN, .data.fd = tfd};
  if (ep < 0 || tfd < 0 || timerfd_settime(tfd, 0, &every_second, NULL) < 0 ||
      epoll_ctl(ep, EPOLL_CTL_ADD, qev.data.fd, &qev) < 0 ||
      epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &tev) < 0) {
    perror("epoll-c: epoll set-up");
    return 1;
  }

  struct slot* slots = calloc((size_t)qd, sizeof(*slots));
  for (int i = 0; i < qd; i++) slots[i].buf = aligned_alloc(4096, RECORD);
  struct run r = {.q = q, .nlb = RECORD / ns.lba_size, .records = records, .writing = 1};
  unsigned long fd_wakeups = 0, timed_polls = 0;
  int bad = run_phase(&r, slots, qd, ep, tfd, &fd_wakeups, &timed_polls) < 0;
  uint16_t st = 0;
  int fr;
  if (!bad && (fr = nvme_mpath_flush_cache(q, &st)) < 0) {
    fprintf(stderr, "epoll-c: flush cache: %s (%s)\n", strerror(-fr), nvme_mpath_status_name(st));
    bad = 1;
  }
  if (!bad) {
    r.writing = 0;
    bad = run_phase(&r, slots, qd, ep, tfd, &fd_wakeups, &timed_polls) < 0;
  }
  /* Every I/O must be back before its buffer is freed: drain what an error left in flight. */
  while (nvme_mpath_queue_inflight(q) > 0 && nvme_mpath_poll(q, 1, 100000) >= 0) {
  }

  struct nvme_mpath_path_stats ps[16];
  int n = nvme_mpath_path_stats(e, ps, 16);
  for (int i = 0; i < n; i++)
    printf("epoll-c: path %s %s ios=%llu errors=%llu failovers=%llu\n", ps[i].ng_path,
           ps[i].ana_state, (unsigned long long)ps[i].ios, (unsigned long long)ps[i].errors,
           (unsigned long long)ps[i].failovers);
  printf("epoll-c: queue fd wake-ups: %lu, timed polls: %lu\n", fd_wakeups, timed_polls);
  printf("epoll-c: %ld records %s\n", records, bad ? "FAILED" : "written, flushed and verified");
  for (int i = 0; i < qd; i++) free(slots[i].buf);
  free(slots);
  close(tfd);
  close(ep);
  nvme_mpath_queue_destroy(q);
  nvme_mpath_close(e);
  return bad;
}
