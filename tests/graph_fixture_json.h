// A small JSON reader for the graph-metric fixtures (objects, arrays, strings, numbers, true,
// false, null): enough for tests/fixtures/graph_metrics_fixture.json and the MICrONS
// expected.json. Numbers keep their text so float32 values can be read back exactly.
#pragma once
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "runtime/error.h"

namespace rsnn::test {

struct Json {
  enum Kind { Null, Bool, Number, String, Array, Object } kind = Null;
  bool b = false;
  std::string text;  // number text or string value
  std::vector<Json> items;
  std::map<std::string, Json> fields;

  const Json& operator[](const std::string& key) const {
    auto it = fields.find(key);
    RSNN_CHECK(kind == Object && it != fields.end(), "json: no field \"", key, "\"");
    return it->second;
  }
  const Json& operator[](size_t i) const {
    RSNN_CHECK(kind == Array && i < items.size(), "json: index ", i, " out of range");
    return items[i];
  }
  size_t size() const { return kind == Array ? items.size() : fields.size(); }
  bool has(const std::string& key) const { return kind == Object && fields.count(key) > 0; }
  bool is_null() const { return kind == Null; }
  double num() const {
    RSNN_CHECK(kind == Number, "json: not a number");
    return std::strtod(text.c_str(), nullptr);
  }
  // A number, or a string holding one (the fixture writes float32 values as strings).
  float f32() const {
    RSNN_CHECK(kind == Number || kind == String, "json: not a number or numeric string");
    return std::strtof(text.c_str(), nullptr);
  }
  int64_t i64() const { return static_cast<int64_t>(std::strtoll(text.c_str(), nullptr, 10)); }
};

class JsonParser {
 public:
  explicit JsonParser(std::string s) : s_(std::move(s)) {}
  Json parse() {
    Json v = value();
    ws();
    RSNN_CHECK(p_ == s_.size(), "json: trailing text at offset ", p_);
    return v;
  }

 private:
  void ws() {
    while (p_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[p_]))) ++p_;
  }
  char peek() {
    ws();
    RSNN_CHECK(p_ < s_.size(), "json: unexpected end");
    return s_[p_];
  }
  void expect(char c) {
    RSNN_CHECK(peek() == c, "json: expected '", c, "' at offset ", p_);
    ++p_;
  }
  std::string str() {
    expect('"');
    std::string out;
    while (p_ < s_.size() && s_[p_] != '"') {
      if (s_[p_] == '\\') ++p_;  // the fixtures hold no escapes beyond \" and \\ .
      out += s_[p_++];
    }
    expect('"');
    return out;
  }
  Json value() {
    Json v;
    const char c = peek();
    if (c == '{') {
      v.kind = Json::Object;
      ++p_;
      if (peek() == '}') return ++p_, v;
      for (;;) {
        std::string k = str();
        expect(':');
        v.fields[k] = value();
        if (peek() == ',') { ++p_; continue; }
        expect('}');
        return v;
      }
    }
    if (c == '[') {
      v.kind = Json::Array;
      ++p_;
      if (peek() == ']') return ++p_, v;
      for (;;) {
        v.items.push_back(value());
        if (peek() == ',') { ++p_; continue; }
        expect(']');
        return v;
      }
    }
    if (c == '"') {
      v.kind = Json::String;
      v.text = str();
      return v;
    }
    for (const char* word : {"true", "false", "null"})
      if (s_.compare(p_, std::string(word).size(), word) == 0) {
        p_ += std::string(word).size();
        v.kind = word[0] == 'n' ? Json::Null : Json::Bool;
        v.b = word[0] == 't';
        return v;
      }
    const size_t start = p_;
    while (p_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[p_])) || s_[p_] == '-' ||
                              s_[p_] == '+' || s_[p_] == '.' || s_[p_] == 'e' || s_[p_] == 'E'))
      ++p_;
    RSNN_CHECK(p_ > start, "json: bad value at offset ", start);
    v.kind = Json::Number;
    v.text = s_.substr(start, p_ - start);
    return v;
  }
  std::string s_;
  size_t p_ = 0;
};

inline Json load_json(const std::string& path) {
  std::ifstream in(path);
  RSNN_CHECK(in.good(), "json: cannot open ", path);
  std::stringstream ss;
  ss << in.rdbuf();
  return JsonParser(ss.str()).parse();
}

}  // namespace rsnn::test
