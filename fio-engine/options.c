/* The fio engine's option handling: see options.h. Plain C, libc only, no allocation. */
#include "options.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int mpath_opts_policy(const char* name) {
  if (name == NULL || !strcmp(name, "numa")) return NVME_MPATH_POLICY_NUMA;
  if (!strcmp(name, "round-robin")) return NVME_MPATH_POLICY_ROUND_ROBIN;
  if (!strcmp(name, "queue-depth")) return NVME_MPATH_POLICY_QUEUE_DEPTH;
  if (!strcmp(name, "active-passive")) return NVME_MPATH_POLICY_ACTIVE_PASSIVE;
  if (!strcmp(name, "latency")) return NVME_MPATH_POLICY_LATENCY;
  return -1;
}

static int fail(char* err, size_t errlen, const char* fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char* err, size_t errlen, const char* fmt, ...) {
  va_list ap;
  if (err != NULL && errlen > 0) {
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return -EINVAL;
}

/* Room for SHOW_MAX bytes of a value shown in a message, each at most 4 chars, plus "...". */
#define SHOW_MAX 64
struct shown {
  char s[SHOW_MAX * 4 + 4];
};

/* `n` bytes of `s` as they go into a message: control bytes, DEL, bytes >= 0x80 and '\' as
 * \xNN, so the message stays one printable line whatever the job file held; cut after SHOW_MAX
 * bytes. */
static const char* show(struct shown* out, const char* s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  char* d = out->s;
  size_t i;
  for (i = 0; i < n && i < SHOW_MAX; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c >= 0x7f || c == '\\') {
      *d++ = '\\';
      *d++ = 'x';
      *d++ = hex[c >> 4];
      *d++ = hex[c & 15];
    } else {
      *d++ = (char)c;
    }
  }
  if (i < n) {
    memcpy(d, "...", 3);
    d += 3;
  }
  *d = '\0';
  return out->s;
}

/* A name with a space, tab, newline or other control character in it: no device has one. */
static int has_blank(const char* s, size_t n) {
  size_t i;
  for (i = 0; i < n; i++)
    if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] == 0x7f) return 1;
  return 0;
}

static int given(const char* s) { return s != NULL && s[0] != '\0'; }

/* Splits paths= into buf (a NUL for each ':'); returns the number of paths, or -EINVAL. */
static int split_paths(const char* paths, struct mpath_opts_buf* buf, char* err, size_t errlen) {
  const size_t len = strlen(paths);
  struct shown a;
  unsigned int n = 1, i, j;
  char* p;
  for (i = 0; i < len; i++)
    if (paths[i] == ':') n++;
  if (n > MPATH_OPTS_MAX_PATHS)
    return fail(err, errlen, "paths=: at most %d paths, %u given", MPATH_OPTS_MAX_PATHS, n);
  /* Refused rather than cut: a cut list would open other devices than the job names. */
  if (len >= sizeof(buf->text))
    return fail(err, errlen, "paths=: %zu bytes long, at most %zu", len, sizeof(buf->text) - 1);
  memcpy(buf->text, paths, len + 1);
  p = buf->text;
  for (i = 0; i < n; i++) {
    char* end = strchr(p, ':');
    size_t plen;
    if (end != NULL) *end = '\0';
    plen = strlen(p);
    /* strtok_r would skip it; an empty path is a typo (a doubled or stray ':'), say so. */
    if (plen == 0) {
      if (i == 0)
        return fail(err, errlen, "paths=: empty path before the first ':'");
      if (i == n - 1)
        return fail(err, errlen, "paths=: empty path after the last ':'");
      return fail(err, errlen, "paths=: empty path between ':'");
    }
    if (has_blank(p, plen))
      return fail(err, errlen, "paths=: \"%s\" contains a space or control character",
                  show(&a, p, plen));
    for (j = 0; j < i; j++)
      if (!strcmp(buf->list[j], p))
        return fail(err, errlen, "paths=: %s given twice", show(&a, p, plen));
    buf->list[i] = p;
    p += plen + 1;
  }
  return (int)n;
}

int mpath_opts_build(const struct mpath_options* o, const char* file_name, const char* job_name,
                     int probe_only, struct mpath_opts_buf* buf, struct nvme_mpath_options* out,
                     char* err, size_t errlen) {
  struct nvme_mpath_options mo;
  struct shown a;
  int policy, npaths = 0;

  if (err != NULL && errlen > 0) err[0] = '\0';
  if (o == NULL || buf == NULL || out == NULL)
    return fail(err, errlen, "internal error: mpath_opts_build() called with NULL");
  if (out->size < sizeof(*out))
    return fail(err, errlen, "internal error: options not initialised (nvme_mpath_options_init)");

  policy = mpath_opts_policy(o->iopolicy);
  if (policy < 0)
    return fail(err, errlen, "iopolicy=%s: not one of " MPATH_OPTS_POLICY_NAMES,
                show(&a, o->iopolicy, strlen(o->iopolicy)));
  if (given(o->preferred_path)) {
    const size_t n = strlen(o->preferred_path);
    /* Every other policy ignores it: refuse rather than run the job somewhere it did not ask. */
    if (policy != NVME_MPATH_POLICY_ACTIVE_PASSIVE)
      return fail(err, errlen, "preferred_path= is only used with iopolicy=active-passive");
    if (has_blank(o->preferred_path, n))
      return fail(err, errlen, "preferred_path=\"%s\": contains a space or control character",
                  show(&a, o->preferred_path, n));
  }
  if (o->hipri_force && !o->hipri)
    return fail(err, errlen, "hipri_force is only used with hipri (polled completions)");
  if (o->rr_min_io == 0) return fail(err, errlen, "rr_min_io=0: at least 1");
  /* fio's minval=-1 stops it first; checked anyway, the struct may come from elsewhere. */
  if (o->write_hold < -1)
    return fail(err, errlen, "write_hold=%d: -1 (the controller's rule: (TBKAS ? 3 : 2) x KATO + CQT) or a time in ms",
                o->write_hold);
  if (given(o->paths)) {
    npaths = split_paths(o->paths, buf, err, errlen);
    if (npaths < 0) return npaths;
  }
  if (npaths == 0 && !given(file_name))
    return fail(err, errlen, "no filename= (the /dev/ngXnY to open)");

  mo = *out;
  mo.paths = buf->list;
  if (npaths == 0) {
    buf->list[0] = file_name;
    mo.npaths = 1;
  } else {
    /* The probe sizes the file on the first listed path: the namespace the I/O goes to. */
    mo.npaths = probe_only ? 1 : (uint32_t)npaths;
    mo.explicit_paths_only = 1;
  }
  if (probe_only) {
    mo.explicit_paths_only = 1;
    mo.publish_stats = 0;
    mo.ana_poll_interval_ms = 0;
  } else {
    mo.policy = policy;
    mo.preferred_path = given(o->preferred_path) ? o->preferred_path : NULL;
    mo.rr_min_io = o->rr_min_io;
    mo.no_path_timeout_ms = o->no_path_timeout;
    mo.cmd_timeout_ms = o->cmd_timeout;
    mo.io_timeout_ms = o->io_timeout;
    mo.max_retries = o->max_retries;
    mo.write_hold_ms = o->write_hold;
    mo.failback_delay_ms = o->failback_delay;
    mo.ana_poll_interval_ms = o->ana_poll;
    mo.name = job_name;
  }
  *out = mo;
  return 0;
}

/* A read,write pair as fio's two-offset options take it: "10" when both are alike, else
 * "10,20". */
static const char* pair(char* b, size_t n, const unsigned int v[2]) {
  if (v[0] == v[1])
    snprintf(b, n, "%u", v[0]);
  else
    snprintf(b, n, "%u,%u", v[0], v[1]);
  return b;
}

int mpath_opts_check_init(const struct mpath_options* o, int ncpu, char* err, size_t errlen) {
  struct shown a;
  char v[32];

  if (err != NULL && errlen > 0) err[0] = '\0';
  if (o == NULL) return fail(err, errlen, "internal error: mpath_opts_check_init() called with NULL");
  if (ncpu < 1) ncpu = 1;
  /* fio's table lets only "nvme" through; checked anyway, the struct may come from elsewhere. */
  if (o->cmd_type != 0 && o->cmd_type != MPATH_OPTS_CMD_TYPE_NVME)
    return fail(err, errlen, "cmd_type=%u: only nvme (NVMe passthrough) exists", o->cmd_type);
  if (o->sqpoll_cpu_set) {
    if (o->sqpoll_cpu < 0 || o->sqpoll_cpu >= ncpu)
      return fail(err, errlen, "sqthread_poll_cpu=%lld: not a CPU of this machine (0..%d)",
                  o->sqpoll_cpu, ncpu - 1);
    /* io_uring_cmd ignores it without sqthread_poll: a job that names a CPU expects the
     * thread there, so say it instead. */
    if (!o->sqpoll)
      return fail(err, errlen,
                  "sqthread_poll_cpu=%lld without sqthread_poll (sqpoll): there is no SQ thread to pin",
                  o->sqpoll_cpu);
  }
  /* io_uring_cmd's options for what mpath_nvme has not got: a job that sets one needs it, and
   * fails here rather than run without it. At their defaults they are accepted silently. */
  if (o->cmdprio_percentage[0] || o->cmdprio_percentage[1])
    return fail(err, errlen, "cmdprio_percentage=%s: not supported yet by mpath_nvme (per-I/O priorities)",
                pair(v, sizeof(v), o->cmdprio_percentage));
  if (o->cmdprio_class[0] || o->cmdprio_class[1])
    return fail(err, errlen, "cmdprio_class=%s: not supported yet by mpath_nvme (per-I/O priorities)",
                pair(v, sizeof(v), o->cmdprio_class));
  if (o->cmdprio[0] || o->cmdprio[1])
    return fail(err, errlen, "cmdprio=%s: not supported yet by mpath_nvme (per-I/O priorities)",
                pair(v, sizeof(v), o->cmdprio));
  if (given(o->cmdprio_bssplit))
    return fail(err, errlen, "cmdprio_bssplit=%s: not supported yet by mpath_nvme (per-I/O priorities)",
                show(&a, o->cmdprio_bssplit, strlen(o->cmdprio_bssplit)));
  if (o->force_async)
    return fail(err, errlen, "force_async=%u: not supported yet by mpath_nvme (IOSQE_ASYNC every N commands)",
                o->force_async);
  if (o->md_per_io_size)
    return fail(err, errlen, "md_per_io_size=%u: not supported yet by mpath_nvme (metadata buffers from fio); "
                "a namespace with 8-byte protection information runs with pi_act=1 and no metadata buffer",
                o->md_per_io_size);
  {
    unsigned int bits;
    const int r = mpath_opts_pi_chk(o->pi_chk, &bits, err, errlen);
    if (r < 0) return r;
  }
  /* fio's maxval stops them first; checked anyway, the struct may come from elsewhere. */
  if (o->apptag > 0xffff) return fail(err, errlen, "apptag=%u: at most 0xffff (16 bits)", o->apptag);
  if (o->apptag_mask > 0xffff)
    return fail(err, errlen, "apptag_mask=%u: at most 0xffff (16 bits)", o->apptag_mask);
  /* File I/O flags: an NVMe command has no page cache to skip and no RWF_NOWAIT. */
  if (o->uncached)
    return fail(err, errlen, "uncached=%u: not supported by mpath_nvme: RWF_UNCACHED is for buffered file I/O, "
                "NVMe passthrough has no page cache", o->uncached);
  if (o->nowait)
    return fail(err, errlen, "nowait=%u: not supported by mpath_nvme: RWF_NOWAIT is for file reads and writes, "
                "not NVMe passthrough commands", o->nowait);
  return 0;
}

int mpath_opts_sqpoll_cpu(const struct mpath_options* o) {
  return o->sqpoll_cpu_set && o->sqpoll_cpu >= 0 && o->sqpoll_cpu <= INT_MAX ? (int)o->sqpoll_cpu : -1;
}

int mpath_opts_check_bs(const struct mpath_bs_dir dirs[3], int bs_unaligned, unsigned int lba_size,
                        const char* file, char* err, size_t errlen) {
  static const char* const kDir[3] = {"reads", "writes", "trims"};
  char what[160];
  int d;
  unsigned int i;

  if (err != NULL && errlen > 0) err[0] = '\0';
  if (dirs == NULL || lba_size == 0)
    return fail(err, errlen, "internal error: mpath_opts_check_bs() without directions or LBA size");
  what[0] = '\0';
  for (d = 0; d < 3 && what[0] == '\0'; d++) {
    const struct mpath_bs_dir* b = &dirs[d];
    if (b->min_bs == b->max_bs) {
      if (b->min_bs % lba_size) snprintf(what, sizeof(what), "bs=%llu for %s", b->min_bs, kDir[d]);
    } else if (b->min_bs % lba_size) {
      snprintf(what, sizeof(what), "smallest block size %llu (bsrange=/bssplit=) for %s", b->min_bs, kDir[d]);
    } else if (b->max_bs % lba_size) {
      snprintf(what, sizeof(what), "largest block size %llu (bsrange=/bssplit=) for %s", b->max_bs, kDir[d]);
    } else if (bs_unaligned && b->nsplit == 0) {
      /* Any size between the two, not a multiple of min_bs. */
      snprintf(what, sizeof(what), "bs_unaligned with bsrange=%llu-%llu for %s (any size in between)",
               b->min_bs, b->max_bs, kDir[d]);
    } else if (bs_unaligned) {
      for (i = 0; i < b->nsplit && b->split != NULL; i++)
        if (b->split[i] % lba_size) {
          snprintf(what, sizeof(what), "bssplit size %llu for %s (with bs_unaligned)", b->split[i], kDir[d]);
          break;
        }
    }
    /* Random offsets are multiples of blockalign (fio's default: the smallest block size). */
    if (what[0] == '\0' && b->ba % lba_size)
      snprintf(what, sizeof(what), "blockalign=%llu for %s", b->ba, kDir[d]);
  }
  if (what[0] != '\0')
    return fail(err, errlen, "%s: block size must be a multiple of the LBA data size (%u bytes): %s",
                file != NULL ? file : "(no file)", lba_size, what);
  return 0;
}

int mpath_opts_pi_chk(const char* s, unsigned int* bits, char* err, size_t errlen) {
  static const struct {
    const char* word;
    unsigned int bit;
  } kWords[] = {{"GUARD", MPATH_OPTS_PRCHK_GUARD},
                {"REFTAG", MPATH_OPTS_PRCHK_REFTAG},
                {"APPTAG", MPATH_OPTS_PRCHK_APPTAG}};
  struct shown a, b;
  unsigned int out = 0;
  const char* p = s;
  *bits = 0;
  if (!given(s)) return 0;
  for (;;) {
    const char* end = strchr(p, ',');
    const size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
    size_t i;
    for (i = 0; i < sizeof(kWords) / sizeof(kWords[0]); i++)
      if (strlen(kWords[i].word) == n && !memcmp(kWords[i].word, p, n)) break;
    if (i == sizeof(kWords) / sizeof(kWords[0]))
      return fail(err, errlen, "pi_chk=%s: \"%s\" is not one of GUARD, REFTAG, APPTAG (comma-separated)",
                  show(&a, s, strlen(s)), show(&b, p, n));
    if (out & kWords[i].bit)
      return fail(err, errlen, "pi_chk=%s: %s given twice", show(&a, s, strlen(s)), kWords[i].word);
    out |= kWords[i].bit;
    if (end == NULL) break;
    p = end + 1;
  }
  *bits = out;
  return 0;
}

int mpath_opts_check_format(const struct mpath_options* o, unsigned int metadata_size, int extended,
                            int pi_type, const char* file, struct mpath_pi* pi, char* err,
                            size_t errlen) {
  unsigned int prchk;
  int r;
  if (err != NULL && errlen > 0) err[0] = '\0';
  if (file == NULL) file = "(no file)";
  memset(pi, 0, sizeof(*pi));
  if (metadata_size == 0) return 0;
  if (extended)
    return fail(err, errlen,
                "%s: formatted with %u bytes of metadata per LBA interleaved with the data (extended "
                "LBAs): mpath_nvme moves no metadata between fio and the device (md_per_io_size); use a "
                "namespace without metadata, or one with 8 bytes of separate protection information",
                file, metadata_size);
  if (pi_type == 0)
    return fail(err, errlen,
                "%s: formatted with %u bytes of separate metadata per LBA and no protection information: "
                "mpath_nvme moves no metadata between fio and the device (md_per_io_size); use a "
                "namespace without metadata", file, metadata_size);
  if (metadata_size != 8)
    return fail(err, errlen,
                "%s: protection information type %d in %u bytes of metadata per LBA: the bytes beside the "
                "PI would need a metadata buffer (md_per_io_size), which mpath_nvme has not; 8 bytes "
                "(the PI alone) run with pi_act=1", file, pi_type, metadata_size);
  if (!o->pi_act)
    return fail(err, errlen,
                "%s: pi_act=0 on a namespace with protection information (type %d): fio would have to "
                "supply the PI in a metadata buffer (md_per_io_size), which mpath_nvme has not; use "
                "pi_act=1 (the controller generates the PI on writes and strips it on reads)",
                file, pi_type);
  r = mpath_opts_pi_chk(o->pi_chk, &prchk, err, errlen);
  if (r < 0) return r;
  pi->cdw12 = MPATH_OPTS_PRACT | prchk;
  pi->cdw15 = (o->apptag_mask & 0xffffu) << 16 | (o->apptag & 0xffffu);
  pi->reftag_is_lba = pi_type == 1 || pi_type == 2;
  return 0;
}
