/* abi_v1: what a program linked against API 1 (release 0.1) of libnvme_mpath.so sees from this
 * library. Its structs have the API 1 sizes; its calls to nvme_mpath_options_init and
 * nvme_mpath_queue_options_init are bound to the NVME_MPATH_1 versions. Those must write no
 * byte past the API 1 struct, and the other functions must take the API 1 sizes. Also API 2's
 * nvme_mpath_queue_options_init (the struct grew again in API 3): 48 bytes, no more.
 *
 *   abi_v1 LIBRARY   (exit 0: ok; prints what failed otherwise) */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nvme_mpath/nvme_mpath.h>

#define OPTIONS_SIZE_V1 96u       /* sizeof(struct nvme_mpath_options) in API 1 */
#define QUEUE_OPTIONS_SIZE_V1 40u /* sizeof(struct nvme_mpath_queue_options) in API 1 */
#define QUEUE_OPTIONS_SIZE_V2 48u /* ... in API 2 */

static int failures;
#define CHECK(cond, ...)                  \
  do {                                    \
    if (!(cond)) {                        \
      printf("FAIL: " __VA_ARGS__);       \
      printf("\n");                       \
      failures++;                         \
    }                                     \
  } while (0)

static void* sym(void* lib, const char* name, const char* version) {
  void* p = version ? dlvsym(lib, name, version) : dlsym(lib, name);
  if (p == NULL) {
    printf("FAIL: %s@%s not exported\n", name, version ? version : "(default)");
    exit(1);
  }
  return p;
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  void* lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (lib == NULL) {
    printf("FAIL: dlopen: %s\n", dlerror());
    return 1;
  }
  void (*init_v1)(struct nvme_mpath_options*) = sym(lib, "nvme_mpath_options_init", "NVME_MPATH_1");
  void (*init_v2)(struct nvme_mpath_options*) = sym(lib, "nvme_mpath_options_init", "NVME_MPATH_2");
  void (*qinit_v1)(struct nvme_mpath_queue_options*) =
      sym(lib, "nvme_mpath_queue_options_init", "NVME_MPATH_1");
  void (*qinit_v2)(struct nvme_mpath_queue_options*) =
      sym(lib, "nvme_mpath_queue_options_init", "NVME_MPATH_2");
  void (*qinit_v3)(struct nvme_mpath_queue_options*) =
      sym(lib, "nvme_mpath_queue_options_init", "NVME_MPATH_3");
  int (*open_)(const struct nvme_mpath_options*, nvme_mpath_engine**, char*, size_t) =
      sym(lib, "nvme_mpath_open", "NVME_MPATH_1");
  int (*qcreate_err)(nvme_mpath_engine*, const struct nvme_mpath_queue_options*,
                     nvme_mpath_queue**, char*, size_t) =
      sym(lib, "nvme_mpath_queue_create_err", "NVME_MPATH_2");
  CHECK(init_v1 != init_v2, "the two nvme_mpath_options_init versions are one function");

  /* The API 1 struct, with what lies after it in the program's memory. */
  unsigned char mem[sizeof(struct nvme_mpath_options) + 64];
  memset(mem, 0xa5, sizeof(mem));
  struct nvme_mpath_options* o = (struct nvme_mpath_options*)(void*)mem;
  init_v1(o);
  CHECK(o->size == OPTIONS_SIZE_V1, "options_init@NVME_MPATH_1 set size %u", o->size);
  for (size_t i = OPTIONS_SIZE_V1; i < sizeof(mem); i++)
    if (mem[i] != 0xa5) {
      CHECK(0, "options_init@NVME_MPATH_1 wrote byte %zu, past the API 1 struct", i);
      break;
    }
  CHECK(o->max_retries == 5 && o->write_hold_ms == -1, "options_init@NVME_MPATH_1 defaults");
  /* Accepted with its API 1 size: the error is about the options' content, not their size. */
  nvme_mpath_engine* e = NULL;
  char err[256];
  int r = open_(o, &e, err, sizeof(err));
  CHECK(r == -EINVAL && strstr(err, "no namespace given") != NULL,
        "open with an API 1 struct: %d \"%s\"", r, err);

  unsigned char qmem[sizeof(struct nvme_mpath_queue_options) + 64];
  memset(qmem, 0xa5, sizeof(qmem));
  struct nvme_mpath_queue_options* q = (struct nvme_mpath_queue_options*)(void*)qmem;
  qinit_v1(q);
  CHECK(q->size == QUEUE_OPTIONS_SIZE_V1, "queue_options_init@NVME_MPATH_1 set size %u", q->size);
  for (size_t i = QUEUE_OPTIONS_SIZE_V1; i < sizeof(qmem); i++)
    if (qmem[i] != 0xa5) {
      CHECK(0, "queue_options_init@NVME_MPATH_1 wrote byte %zu, past the API 1 struct", i);
      break;
    }
  nvme_mpath_queue* qq = NULL;
  r = qcreate_err(NULL, q, &qq, err, sizeof(err));
  CHECK(r == -EINVAL && strstr(err, "engine must not be NULL") != NULL,
        "queue_create_err with an API 1 struct: %d \"%s\"", r, err);
  q->depth = 0;
  r = qcreate_err(NULL, q, &qq, err, sizeof(err));
  CHECK(r == -EINVAL && strstr(err, "queue depth 0") != NULL, "bad depth: %d \"%s\"", r, err);

  /* API 2's queue options: 48 bytes written, accepted with that size. */
  CHECK(qinit_v2 != qinit_v3 && qinit_v2 != qinit_v1, "the nvme_mpath_queue_options_init versions are one function");
  memset(qmem, 0xa5, sizeof(qmem));
  qinit_v2(q);
  CHECK(q->size == QUEUE_OPTIONS_SIZE_V2, "queue_options_init@NVME_MPATH_2 set size %u", q->size);
  for (size_t i = QUEUE_OPTIONS_SIZE_V2; i < sizeof(qmem); i++)
    if (qmem[i] != 0xa5) {
      CHECK(0, "queue_options_init@NVME_MPATH_2 wrote byte %zu, past the API 2 struct", i);
      break;
    }
  CHECK(q->defer_taskrun == 1, "queue_options_init@NVME_MPATH_2 defaults");
  q->depth = 0;
  r = qcreate_err(NULL, q, &qq, err, sizeof(err));
  CHECK(r == -EINVAL && strstr(err, "queue depth 0") != NULL, "API 2 struct, bad depth: %d \"%s\"", r, err);

  if (failures == 0) printf("abi_v1: API 1 callers (and API 2 queue options) ok\n");
  return failures != 0;
}
