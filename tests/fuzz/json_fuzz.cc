// libFuzzer target: the UTF-8 repair every JSON writer puts its strings through
// (tools/json/mpath_json.c). For any bytes: the result is valid UTF-8 (by the repair's own check
// and by json-c's JSON_TOKENER_VALIDATE_UTF8 parse of the string written as JSON), at most 3x
// longer, unchanged when the input was valid, a fixed point (repairing it again changes
// nothing), and json-c gives back exactly the repaired string.
#include <json-c/json.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "../../tools/json/mpath_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const char* in = reinterpret_cast<const char*>(data);
  std::string out(3 * size + 1, '\0');
  out.resize(mpath_utf8_sanitize(in, size, out.data()));
  if (out.size() > 3 * size) abort();
  if (!mpath_utf8_valid(out.data(), out.size())) abort();
  const bool valid = mpath_utf8_valid(in, size);
  if (valid && out != std::string(in, size)) abort();
  if (!valid && out == std::string(in, size)) abort();
  std::string again(3 * out.size() + 1, '\0');
  again.resize(mpath_utf8_sanitize(out.data(), out.size(), again.data()));
  if (again != out) abort();

  json_object* arr = json_object_new_array();
  json_object_array_add(arr, mpath_json_string_len(in, size));
  const std::string doc = json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN);
  json_object_put(arr);
  json_tokener* tok = json_tokener_new();
  json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
  json_object* back = json_tokener_parse_ex(tok, doc.data(), int(doc.size()));
  if (json_tokener_get_error(tok) != json_tokener_success) abort();
  json_tokener_free(tok);
  json_object* s = json_object_array_get_idx(back, 0);
  if (std::string(json_object_get_string(s), size_t(json_object_get_string_len(s))) != out) abort();
  json_object_put(back);
  return 0;
}
