/* applog: an append-only log writer on an NVMe multipath namespace, through the C API.
 *
 *   applog /dev/ngXnY [RECORDS]
 *
 * Appends RECORDS (default 1000) checksummed 4 KiB records from LBA 0 with nvme_mpath_write,
 * flushes, reads every record back with nvme_mpath_read and checks it. Path failures during the
 * run are handled by the engine: the program only ever sees success or a real error.
 * Exit status 0 when every record reads back intact. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nvme_mpath/nvme_mpath.h>

#define RECORD 4096

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

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: %s /dev/ngXnY [RECORDS]\n", argv[0]);
    return 2;
  }
  long records = argc == 3 ? strtol(argv[2], NULL, 0) : 1000;
  const char* paths[] = {argv[1]};
  struct nvme_mpath_options o;
  nvme_mpath_options_init(&o);
  o.paths = paths;
  o.npaths = 1;
  o.cmd_timeout_ms = 1000;
  o.name = "applog-c";
  nvme_mpath_engine* e;
  char err[256];
  int r = nvme_mpath_open(&o, &e, err, sizeof(err));
  if (r < 0) {
    fprintf(stderr, "applog: %s\n", err);
    return 1;
  }
  struct nvme_mpath_ns_info ns;
  nvme_mpath_ns_info(e, &ns);
  if (RECORD % ns.lba_size != 0 || (uint64_t)records * (RECORD / ns.lba_size) > ns.nsze) {
    fprintf(stderr, "applog: namespace too small or LBA size %u unsupported\n", ns.lba_size);
    nvme_mpath_close(e);
    return 1;
  }
  printf("applog: %s nsid %u, %u paths, lba %u\n", ns.subsysnqn, ns.nsid, ns.npaths, ns.lba_size);
  nvme_mpath_queue* q;
  r = nvme_mpath_queue_create(e, NULL, &q);
  if (r < 0) {
    fprintf(stderr, "applog: queue: %s\n", strerror(-r));
    nvme_mpath_close(e);
    return 1;
  }
  const uint32_t nlb = RECORD / ns.lba_size;
  uint8_t* rec = aligned_alloc(4096, RECORD);
  int bad = 0;
  uint16_t st = 0;
  for (long i = 0; i < records && !bad; i++) {
    fill(rec, (uint64_t)i);
    r = nvme_mpath_write(q, (uint64_t)i * nlb, nlb, rec, &st);
    if (r < 0) {
      fprintf(stderr, "applog: append %ld: %s (%s)\n", i, strerror(-r), nvme_mpath_status_name(st));
      bad = 1;
    }
  }
  if (!bad && (r = nvme_mpath_flush_cache(q, &st)) < 0) {
    fprintf(stderr, "applog: flush: %s\n", strerror(-r));
    bad = 1;
  }
  for (long i = 0; i < records && !bad; i++) {
    memset(rec, 0, RECORD);
    r = nvme_mpath_read(q, (uint64_t)i * nlb, nlb, rec, &st);
    uint64_t seq;
    uint32_t c;
    memcpy(&seq, rec, 8);
    memcpy(&c, rec + RECORD - 4, 4);
    if (r < 0 || seq != (uint64_t)i || c != checksum(rec, RECORD - 4)) {
      fprintf(stderr, "applog: record %ld bad (res %d)\n", i, r);
      bad = 1;
    }
  }
  struct nvme_mpath_path_stats ps[16];
  int n = nvme_mpath_path_stats(e, ps, 16);
  for (int i = 0; i < n; i++)
    printf("applog: path %s %s ios=%llu errors=%llu failovers=%llu\n", ps[i].ng_path,
           ps[i].ana_state, (unsigned long long)ps[i].ios, (unsigned long long)ps[i].errors,
           (unsigned long long)ps[i].failovers);
  printf("applog: %ld records %s\n", records, bad ? "FAILED" : "written, flushed and verified");
  free(rec);
  nvme_mpath_queue_destroy(q);
  nvme_mpath_close(e);
  return bad;
}
