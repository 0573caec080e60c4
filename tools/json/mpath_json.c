/* File: mpath_json.c — UTF-8 repair of the strings nvme-mpath puts into json-c documents
 * (see mpath_json.h). */
#include "mpath_json.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json_object.h>

size_t mpath_utf8_next(const unsigned char* s, size_t n, size_t* bad) {
  const unsigned char b = s[0];
  size_t need, i;
  unsigned char lo = 0x80, hi = 0xBF; /* the range of the second byte; later ones are 80..BF */
  if (b < 0x80) return 1;
  if (b >= 0xC2 && b <= 0xDF) {
    need = 1;
  } else if (b >= 0xE0 && b <= 0xEF) {
    need = 2;
    if (b == 0xE0) lo = 0xA0;      /* below: overlong */
    else if (b == 0xED) hi = 0x9F; /* above: UTF-16 surrogates D800..DFFF */
  } else if (b >= 0xF0 && b <= 0xF4) {
    need = 3;
    if (b == 0xF0) lo = 0x90;      /* below: overlong */
    else if (b == 0xF4) hi = 0x8F; /* above: beyond U+10FFFF */
  } else {
    *bad = 1; /* 80..BF (a continuation byte alone), C0, C1 (always overlong), F5..FF */
    return 0;
  }
  for (i = 1; i <= need; i++) {
    if (i >= n || s[i] < lo || s[i] > hi) {
      *bad = i; /* the lead byte and the continuation bytes that fitted */
      return 0;
    }
    lo = 0x80;
    hi = 0xBF;
  }
  return need + 1;
}

int mpath_utf8_valid(const char* s, size_t n) {
  const unsigned char* p = (const unsigned char*)s;
  size_t i = 0, bad;
  while (i < n) {
    size_t k = mpath_utf8_next(p + i, n - i, &bad);
    if (k == 0) return 0;
    i += k;
  }
  return 1;
}

size_t mpath_utf8_sanitize(const char* s, size_t n, char* out) {
  const unsigned char* p = (const unsigned char*)s;
  size_t i = 0, o = 0, bad;
  while (i < n) {
    size_t k = mpath_utf8_next(p + i, n - i, &bad);
    if (k > 0) {
      memcpy(out + o, s + i, k);
      o += k;
      i += k;
    } else {
      memcpy(out + o, "\xEF\xBF\xBD", 3); /* U+FFFD REPLACEMENT CHARACTER */
      o += 3;
      i += bad;
    }
  }
  out[o] = '\0';
  return o;
}

struct json_object* mpath_json_string_len(const char* s, size_t n) {
  struct json_object* j;
  char* fixed;
  if (s == NULL) return json_object_new_string_len("", 0);
  if (n > INT_MAX / 3 - 1) n = INT_MAX / 3 - 1; /* json-c takes an int length */
  if (mpath_utf8_valid(s, n)) return json_object_new_string_len(s, (int)n);
  fixed = malloc(3 * n + 1);
  if (fixed == NULL) return NULL;
  j = json_object_new_string_len(fixed, (int)mpath_utf8_sanitize(s, n, fixed));
  free(fixed);
  return j;
}

struct json_object* mpath_json_string(const char* s) {
  return mpath_json_string_len(s, s ? strlen(s) : 0);
}

struct json_object* mpath_json_string_n(const char* s, size_t size) {
  return mpath_json_string_len(s, s ? strnlen(s, size) : 0);
}
