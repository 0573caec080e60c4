/* File: mpath_json.h — the JSON strings of every nvme-mpath JSON writer.
 *
 * nvme-mpath writes its JSON through json-c (Debian's libjson-c-dev, the library nvme-cli and
 * libnvme use). json-c is a C library, so one helper serves the C fio engine
 * (fio-engine/stats_json.c), the C++ nvme-mpath-ctl (tools/nvme-mpath-ctl/print_json.cc) and
 * the lab's nvme-mpath-verify alike.
 *
 * json-c escapes quotes, backslashes and control characters, but copies bytes >= 0x80 as they
 * are: a device name, a job name or an error message that is not valid UTF-8 would make a
 * document that strict parsers (Python's json with surrogates, json_tokener with
 * JSON_TOKENER_VALIDATE_UTF8, jq) reject or mangle. Every string therefore goes through
 * mpath_json_string*(), which replaces each ill-formed UTF-8 subsequence with U+FFFD first.
 *
 * Only this header's declarations are needed to call it; it does not include json-c, so that
 * fio's own json.h (which also defines `struct json_object`) can live beside it. */
#ifndef NVME_MPATH_TOOLS_JSON_MPATH_JSON_H_
#define NVME_MPATH_TOOLS_JSON_MPATH_JSON_H_

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct json_object;

/* Returns the length of the valid UTF-8 sequence (1..4 bytes) at s[0..n), or 0 when s starts an
 * ill-formed subsequence; then *bad is its length (1..3): the "maximal subpart" that one U+FFFD
 * replaces (Unicode 15, §3.9, U+FFFD Substitution of Maximal Subparts; what WHATWG's decoder and
 * Python's errors="replace" do). n must be > 0. Overlong forms (C0 AF), surrogates (ED A0 80)
 * and code points above U+10FFFF are ill-formed. */
size_t mpath_utf8_next(const unsigned char* s, size_t n, size_t* bad);

/* Returns 1 when s[0..n) is valid UTF-8, else 0. */
int mpath_utf8_valid(const char* s, size_t n);

/* Copies s[0..n) to out with each ill-formed subsequence replaced by U+FFFD (EF BF BD) and
 * returns the length written. out must hold 3 * n + 1 bytes (every byte may become three); it is
 * NUL-terminated. Valid UTF-8, including NUL bytes, is copied unchanged. */
size_t mpath_utf8_sanitize(const char* s, size_t n, char* out);

/* Returns a new json-c string of s[0..n) with invalid UTF-8 replaced as above; s == NULL gives
 * "". NULL when out of memory (json-c then stores null where it is added). */
struct json_object* mpath_json_string_len(const char* s, size_t n);
/* The same for a NUL-terminated string. */
struct json_object* mpath_json_string(const char* s);
/* The same for a fixed-size char array that may lack its NUL (at most `size` bytes are read). */
struct json_object* mpath_json_string_n(const char* s, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* NVME_MPATH_TOOLS_JSON_MPATH_JSON_H_ */
