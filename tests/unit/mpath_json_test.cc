// tools/json: the UTF-8 repair every JSON writer puts its strings through, and what json-c's
// strict parser makes of the result.
#include "mpath_json.h"

#include <json-c/json.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace {

const std::string kFffd = "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER

std::string Sanitize(const std::string& s) {
  std::string out(3 * s.size() + 1, '\0');
  out.resize(mpath_utf8_sanitize(s.data(), s.size(), out.data()));
  return out;
}

// Parses doc with json-c's strict parser, which also checks UTF-8; null when it refuses.
json_object* ParseStrict(const std::string& doc) {
  json_tokener* tok = json_tokener_new();
  json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
  json_object* o = json_tokener_parse_ex(tok, doc.data(), int(doc.size()));
  const bool ok = json_tokener_get_error(tok) == json_tokener_success;
  json_tokener_free(tok);
  if (!ok) {
    json_object_put(o);
    return nullptr;
  }
  return o;
}

// Returns the string that mpath_json_string_len(s) holds after a trip through JSON text.
std::string RoundTrip(const std::string& s) {
  json_object* str = mpath_json_string_len(s.data(), s.size());
  json_object* arr = json_object_new_array();
  json_object_array_add(arr, str);
  const std::string doc = json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN);
  json_object_put(arr);
  json_object* back = ParseStrict(doc);
  EXPECT_NE(back, nullptr) << "json-c's strict parser refused " << doc;
  if (back == nullptr) return "<refused>";
  json_object* v = json_object_array_get_idx(back, 0);
  std::string out(json_object_get_string(v), size_t(json_object_get_string_len(v)));
  json_object_put(back);
  return out;
}

// One U+FFFD per maximal subpart, as Unicode 3.9 recommends and WHATWG and Python do (the
// expected values are Python's bytes.decode("utf-8", "replace")).
TEST(MpathJsonTest, ReplacesEachMaximalSubpartWithOneReplacementCharacter) {
  EXPECT_EQ(Sanitize("\x80"), kFffd);                          // continuation byte alone
  EXPECT_EQ(Sanitize("\xE2\x82"), kFffd);                      // truncated 3-byte sequence
  EXPECT_EQ(Sanitize("\xE2\x82" "A"), kFffd + "A");            // ... followed by ASCII
  EXPECT_EQ(Sanitize("\xC0\xAF"), kFffd + kFffd);              // overlong '/'
  EXPECT_EQ(Sanitize("\xED\xA0\x80"), kFffd + kFffd + kFffd);  // surrogate U+D800
  EXPECT_EQ(Sanitize("\xF4\x90\x80\x80"), kFffd + kFffd + kFffd + kFffd);  // above U+10FFFF
  EXPECT_EQ(Sanitize("\xF0\x9F\x98"), kFffd);                  // truncated 4-byte sequence
  EXPECT_EQ(Sanitize("\xFF\xFE"), kFffd + kFffd);
  EXPECT_EQ(Sanitize("a\xE9" "b"), "a" + kFffd + "b");         // Latin-1 'é'
}

TEST(MpathJsonTest, KeepsValidUtf8AsItIs) {
  for (const std::string& s : std::vector<std::string>{"", "plain", "\xC3\xA9", "\xE6\x97\xA5\xE6\x9C\xAC", "\xF0\x9F\x98\x80",
                              "\xEF\xBF\xBD", "\xF4\x8F\xBF\xBF", std::string("nul\0in", 6)}) {
    EXPECT_TRUE(mpath_utf8_valid(s.data(), s.size())) << s;
    EXPECT_EQ(Sanitize(s), s);
  }
  for (const std::string& s : std::vector<std::string>{"\x80", "\xC0\xAF", "\xED\xA0\x80", "ok\xE2\x82"})
    EXPECT_FALSE(mpath_utf8_valid(s.data(), s.size())) << s;
}

TEST(MpathJsonTest, EveryStringSurvivesJsonCsStrictParser) {
  EXPECT_EQ(RoundTrip("dev\n\t\x01\x7f" "end"), "dev\n\t\x01\x7f" "end");
  EXPECT_EQ(RoundTrip("caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC"), "caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC");
  EXPECT_EQ(RoundTrip("a\x80" "b"), "a" + kFffd + "b");
  EXPECT_EQ(RoundTrip("\xE2\x82"), kFffd);
  EXPECT_EQ(RoundTrip("\xC0\xAF"), kFffd + kFffd);
  EXPECT_EQ(RoundTrip("\xED\xA0\x80"), kFffd + kFffd + kFffd);
  EXPECT_EQ(RoundTrip("quote\" back\\slash /dev/ng0n1"), "quote\" back\\slash /dev/ng0n1");
}

// Without the repair json-c writes the bytes as they are, and its own strict parser refuses
// the document: the reason the helper exists.
TEST(MpathJsonTest, JsonCAloneWouldWriteInvalidUtf8) {
  json_object* arr = json_object_new_array();
  json_object_array_add(arr, json_object_new_string("a\x80" "b"));
  const std::string doc = json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN);
  json_object_put(arr);
  EXPECT_EQ(ParseStrict(doc), nullptr) << doc;
}

TEST(MpathJsonTest, NullAndUnterminatedStrings) {
  json_object* n = mpath_json_string(nullptr);
  EXPECT_STREQ(json_object_get_string(n), "");
  json_object_put(n);
  const char fixed[4] = {'n', 'g', '0', '1'};  // a full char array without its NUL
  json_object* f = mpath_json_string_n(fixed, sizeof(fixed));
  EXPECT_STREQ(json_object_get_string(f), "ng01");
  json_object_put(f);
}

}  // namespace
