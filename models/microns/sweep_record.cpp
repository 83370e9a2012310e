// A run record as JSON: written by hand (flat numbers, strings, one array of flat objects)
// and read back by a small recursive parser that accepts standard JSON.
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <sstream>

#include "models/microns/sweep.h"
#include "runtime/error.h"

namespace rsnn::microns {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string num(double x) { return std::isfinite(x) ? format_double(x) : "null"; }

std::string quoted(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    o += c;
  }
  return o + "\"";
}

struct JValue {
  enum Kind { null, boolean, number, string, array, object } kind = null;
  double x = 0;
  bool b = false;
  std::string s;
  std::vector<JValue> items;
  std::map<std::string, JValue> fields;
};

class Parser {
 public:
  Parser(const std::string& text, const std::string& where) : t_(text), where_(where) {}
  JValue document() {
    JValue v = value();
    skip();
    RSNN_CHECK(i_ == t_.size(), where_, ": trailing text after the JSON value at byte ", i_);
    return v;
  }

 private:
  const std::string& t_;
  const std::string& where_;
  size_t i_ = 0;

  void skip() {
    while (i_ < t_.size() && std::isspace(static_cast<unsigned char>(t_[i_]))) ++i_;
  }
  [[noreturn]] void fail(const char* what) {
    RSNN_FAIL(where_, ": malformed JSON (", what, ") at byte ", i_);
  }
  bool take(const char* word) {
    const size_t n = std::char_traits<char>::length(word);
    if (t_.compare(i_, n, word) != 0) return false;
    i_ += n;
    return true;
  }
  std::string str() {
    if (t_[i_] != '"') fail("expected a string");
    ++i_;
    std::string o;
    while (i_ < t_.size() && t_[i_] != '"') {
      if (t_[i_] == '\\' && i_ + 1 < t_.size()) ++i_;
      o += t_[i_++];
    }
    if (i_ >= t_.size()) fail("unterminated string");
    ++i_;
    return o;
  }
  JValue value() {
    skip();
    if (i_ >= t_.size()) fail("unexpected end");
    JValue v;
    const char c = t_[i_];
    if (c == '{') {
      v.kind = JValue::object;
      ++i_;
      skip();
      if (t_[i_] == '}') return ++i_, v;
      for (;;) {
        skip();
        std::string k = str();
        skip();
        if (t_[i_++] != ':') fail("expected ':'");
        v.fields[k] = value();
        skip();
        if (t_[i_] == ',') { ++i_; continue; }
        if (t_[i_] == '}') { ++i_; return v; }
        fail("expected ',' or '}'");
      }
    }
    if (c == '[') {
      v.kind = JValue::array;
      ++i_;
      skip();
      if (t_[i_] == ']') return ++i_, v;
      for (;;) {
        v.items.push_back(value());
        skip();
        if (t_[i_] == ',') { ++i_; continue; }
        if (t_[i_] == ']') { ++i_; return v; }
        fail("expected ',' or ']'");
      }
    }
    if (c == '"') {
      v.kind = JValue::string;
      v.s = str();
      return v;
    }
    if (take("null")) return v;
    if (take("true")) { v.kind = JValue::boolean; v.b = true; return v; }
    if (take("false")) { v.kind = JValue::boolean; return v; }
    char* end = nullptr;
    v.x = std::strtod(t_.c_str() + i_, &end);
    if (end == t_.c_str() + i_) fail("expected a value");
    i_ = static_cast<size_t>(end - t_.c_str());
    v.kind = JValue::number;
    return v;
  }
};

const JValue& field(const JValue& obj, const std::string& key, const std::string& where) {
  auto it = obj.fields.find(key);
  RSNN_CHECK(it != obj.fields.end(), where, ": missing field \"", key, "\"");
  return it->second;
}
double number(const JValue& obj, const std::string& key, const std::string& where) {
  const JValue& v = field(obj, key, where);
  if (v.kind == JValue::null) return kNaN;  // non-finite values are written as null
  RSNN_CHECK(v.kind == JValue::number, where, ": field \"", key, "\" is not a number");
  return v.x;
}
int integer(const JValue& obj, const std::string& key, const std::string& where) {
  const double x = number(obj, key, where);
  RSNN_CHECK(std::isfinite(x) && x == std::floor(x), where, ": field \"", key,
             "\" is not an integer");
  return static_cast<int>(x);
}
std::string text(const JValue& obj, const std::string& key, const std::string& where) {
  const JValue& v = field(obj, key, where);
  RSNN_CHECK(v.kind == JValue::string, where, ": field \"", key, "\" is not a string");
  return v.s;
}

}  // namespace

std::string run_record_json(const RunRecord& r) {
  std::ostringstream o;
  o << "{\n  \"task\": " << r.spec.task << ",\n  \"variant\": " << quoted(r.spec.variant)
    << ",\n  \"variant_index\": " << r.spec.variant_index << ",\n  \"sim\": " << r.spec.sim
    << ",\n  \"settings\": " << quoted(r.settings)
    << ",\n  \"finite\": " << (r.finite ? "true" : "false");
  const std::pair<const char*, double> vals[] = {
      {"accuracy", r.accuracy}, {"loss", r.loss}, {"val_accuracy", r.val_accuracy},
      {"val_loss", r.val_loss}, {"modularity", r.modularity}, {"smallworld", r.smallworld},
      {"assortativity", r.assortativity}, {"entropy", r.entropy},
      {"threshold_q90", r.threshold_q90}, {"clustering_mean", r.clustering_mean},
      {"global_efficiency", r.global_efficiency},
      {"n_directed_above", double(r.n_directed_above)},
      {"n_undirected_edges", double(r.n_undirected_edges)},
      {"n_communities", double(r.n_communities)}, {"train_seconds", r.train_seconds},
      {"metrics_seconds", r.metrics_seconds}};
  for (const auto& [k, v] : vals) o << ",\n  \"" << k << "\": " << num(v);
  o << ",\n  \"epochs\": [";
  for (size_t e = 0; e < r.epochs.size(); ++e) {
    const EpochRow& ep = r.epochs[e];
    o << (e ? ",\n" : "\n") << "    {\"epoch\": " << ep.epoch << ", \"loss\": " << num(ep.loss)
      << ", \"accuracy\": " << num(ep.accuracy) << ", \"val_loss\": " << num(ep.val_loss)
      << ", \"val_accuracy\": " << num(ep.val_accuracy) << "}";
  }
  o << (r.epochs.empty() ? "]" : "\n  ]") << "\n}\n";
  return o.str();
}

RunRecord parse_run_record(const std::string& json, const std::string& where) {
  const JValue doc = Parser(json, where).document();
  RSNN_CHECK(doc.kind == JValue::object, where, ": not a JSON object");
  RunRecord r;
  r.spec.task = integer(doc, "task", where);
  r.spec.variant = text(doc, "variant", where);
  r.spec.variant_index = integer(doc, "variant_index", where);
  r.spec.sim = integer(doc, "sim", where);
  r.settings = text(doc, "settings", where);
  const JValue& fin = field(doc, "finite", where);
  RSNN_CHECK(fin.kind == JValue::boolean, where, ": field \"finite\" is not true/false");
  r.finite = fin.b;
  r.accuracy = number(doc, "accuracy", where);
  r.loss = number(doc, "loss", where);
  r.val_accuracy = number(doc, "val_accuracy", where);
  r.val_loss = number(doc, "val_loss", where);
  r.modularity = number(doc, "modularity", where);
  r.smallworld = number(doc, "smallworld", where);
  r.assortativity = number(doc, "assortativity", where);
  r.entropy = number(doc, "entropy", where);
  r.threshold_q90 = number(doc, "threshold_q90", where);
  r.clustering_mean = number(doc, "clustering_mean", where);
  r.global_efficiency = number(doc, "global_efficiency", where);
  r.n_directed_above = static_cast<int64_t>(number(doc, "n_directed_above", where));
  r.n_undirected_edges = static_cast<int64_t>(number(doc, "n_undirected_edges", where));
  r.n_communities = static_cast<int64_t>(number(doc, "n_communities", where));
  r.train_seconds = number(doc, "train_seconds", where);
  r.metrics_seconds = number(doc, "metrics_seconds", where);
  const JValue& eps = field(doc, "epochs", where);
  RSNN_CHECK(eps.kind == JValue::array, where, ": field \"epochs\" is not an array");
  for (const JValue& e : eps.items) {
    RSNN_CHECK(e.kind == JValue::object, where, ": an entry of \"epochs\" is not an object");
    EpochRow row;
    row.epoch = integer(e, "epoch", where);
    row.loss = number(e, "loss", where);
    row.accuracy = number(e, "accuracy", where);
    row.val_loss = number(e, "val_loss", where);
    row.val_accuracy = number(e, "val_accuracy", where);
    r.epochs.push_back(row);
  }
  return r;
}

}  // namespace rsnn::microns
