/* The fio engine's per-job JSON document, built with json-c (see stats_json.h). Keys and their
 * order are schema_version 1's, as the engine wrote them by hand before. */
#include "stats_json.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "mpath_json.h"

static void add(struct json_object* o, const char* key, struct json_object* v) {
  json_object_object_add(o, key, v);
}

static struct json_object* path_json(const struct nvme_mpath_path_stats* p) {
  struct json_object* o = json_object_new_object();
  /* Fixed-size fields: read at most their size, in case one is not terminated. */
  add(o, "ng", mpath_json_string_n(p->ng_path, sizeof(p->ng_path)));
  add(o, "ctrl", mpath_json_string_n(p->ctrl, sizeof(p->ctrl)));
  add(o, "address", mpath_json_string_n(p->address, sizeof(p->address)));
  add(o, "ana_state", mpath_json_string_n(p->ana_state, sizeof(p->ana_state)));
  add(o, "health", mpath_json_string_n(p->health, sizeof(p->health)));
  add(o, "usable", json_object_new_boolean(p->usable != 0));
  add(o, "ios", json_object_new_uint64(p->ios));
  add(o, "bytes", json_object_new_uint64(p->bytes));
  add(o, "reads", json_object_new_uint64(p->reads));
  add(o, "writes", json_object_new_uint64(p->writes));
  add(o, "errors", json_object_new_uint64(p->errors));
  add(o, "retries", json_object_new_uint64(p->retries));
  add(o, "failovers", json_object_new_uint64(p->failovers));
  add(o, "requeues", json_object_new_uint64(p->requeues));
  add(o, "busy_ns", json_object_new_uint64(p->busy_ns));
  /* C API 3: disabled by the operator (nvme-mpath-ctl path disable). */
  add(o, "disabled", json_object_new_boolean(p->disabled != 0));
  return o;
}

char* mpath_stats_json(const struct mpath_stats_doc* d) {
  struct json_object* root = json_object_new_object();
  struct json_object* kinds = json_object_new_array();
  struct json_object* paths = json_object_new_array();
  const char* text;
  size_t len = 0;
  char* out;
  unsigned int i;
  int p;
  if (root == NULL || kinds == NULL || paths == NULL) {
    json_object_put(root);
    json_object_put(kinds);
    json_object_put(paths);
    return NULL;
  }
  add(root, "schema_version", json_object_new_int(1));
  add(root, "engine", json_object_new_string("mpath_nvme"));
  add(root, "library_version", mpath_json_string(d->library_version));
  add(root, "fio_version", mpath_json_string(d->fio_version));
  add(root, "job", mpath_json_string(d->job));
  add(root, "subjob", json_object_new_uint64(d->subjob));
  add(root, "pid", json_object_new_int(d->pid));
  add(root, "policy", mpath_json_string(d->policy ? d->policy : "numa"));
  add(root, "subsysnqn", mpath_json_string(d->subsysnqn));
  add(root, "nsid", json_object_new_uint64(d->nsid));
  add(root, "lba_size", json_object_new_uint64(d->lba_size));
  add(root, "nsze", json_object_new_uint64(d->nsze));
  add(root, "io_errors", json_object_new_uint64(d->io_errors));
  for (i = 0; i < d->nerrs; i++) {
    const struct mpath_err_kind* e = &d->errs[i];
    struct json_object* k = json_object_new_object();
    add(k, "res", json_object_new_int(e->res));
    add(k, "status", json_object_new_uint64(e->code));
    add(k, "name", mpath_json_string(nvme_mpath_status_name(e->code ? e->code : e->res)));
    add(k, "count", json_object_new_uint64(e->count));
    json_object_array_add(kinds, k);
  }
  add(root, "io_error_kinds", kinds);
  for (p = 0; p < d->npaths; p++) json_object_array_add(paths, path_json(&d->paths[p]));
  add(root, "paths", paths);
  /* One line, ", " and ": " between items as before (json-c's SPACED also pads brackets). */
  text = json_object_to_json_string_length(root, JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
  out = text ? malloc(len + 2) : NULL;
  if (out != NULL) {
    memcpy(out, text, len);
    out[len] = '\n';
    out[len + 1] = '\0';
  }
  json_object_put(root);
  return out;
}
