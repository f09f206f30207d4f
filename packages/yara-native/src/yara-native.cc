// libyara (4.x) for Node: compile once, share one YR_RULES across concurrent scans on the libuv pool,
// per-scan timeouts, save/load compiled rules. Matches carry offsets and lengths, never matched bytes.
#include <napi.h>
#include <yara.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <utility>
#include <vector>

namespace {

std::once_flag g_init_once;
int g_init_result = ERROR_SUCCESS;

// yr_initialize is process-wide; yr_finalize is never called because rules may outlive any one
// Node environment (worker threads) and the OS reclaims everything at exit.
int EnsureInitialized() {
  std::call_once(g_init_once, [] { g_init_result = yr_initialize(); });
  return g_init_result;
}

// Owns one YR_RULES. Shared (shared_ptr) by the JS wrapper and every scan in flight, so dispose()
// during a scan frees the rules only when the last scan finishes.
struct RulesHandle {
  YR_RULES* rules;
  explicit RulesHandle(YR_RULES* r) : rules(r) {}
  ~RulesHandle() {
    if (rules != nullptr) yr_rules_destroy(rules);
  }
  RulesHandle(const RulesHandle&) = delete;
  RulesHandle& operator=(const RulesHandle&) = delete;
};
using RulesPtr = std::shared_ptr<RulesHandle>;

const char* YaraErrorName(int code) {
  switch (code) {
    case ERROR_INSUFFICIENT_MEMORY: return "insufficient memory";
    case ERROR_COULD_NOT_OPEN_FILE: return "could not open file";
    case ERROR_COULD_NOT_MAP_FILE: return "could not map file";
    case ERROR_INVALID_FILE: return "invalid compiled rules file";
    case ERROR_CORRUPT_FILE: return "corrupt compiled rules file";
    case ERROR_UNSUPPORTED_FILE_VERSION: return "compiled rules from another libyara version";
    case ERROR_SCAN_TIMEOUT: return "scan timed out";
    case ERROR_TOO_MANY_SCAN_THREADS: return "too many concurrent scans on one ruleset";
    case ERROR_CALLBACK_ERROR: return "scan callback failed";
    case ERROR_TOO_MANY_MATCHES: return "too many matches";
    default: return "libyara error";
  }
}

const char* YaraErrorCode(int code) {
  switch (code) {
    case ERROR_SCAN_TIMEOUT: return "TIMEOUT";
    case ERROR_COULD_NOT_OPEN_FILE:
    case ERROR_COULD_NOT_MAP_FILE: return "FILE_ERROR";
    case ERROR_INVALID_FILE:
    case ERROR_CORRUPT_FILE:
    case ERROR_UNSUPPORTED_FILE_VERSION: return "INVALID_RULES";
    case ERROR_TOO_MANY_SCAN_THREADS: return "BUSY";
    default: return "YARA_ERROR";
  }
}

Napi::Value MakeError(Napi::Env env, const std::string& code, const std::string& message, int yara_error) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  if (yara_error != 0) error.Set("yaraError", Napi::Number::New(env, yara_error));
  return error.Value();
}

Napi::Value MakeYaraError(Napi::Env env, const std::string& what, int yara_error) {
  std::string message = what + ": " + YaraErrorName(yara_error) + " (libyara error " + std::to_string(yara_error) + ")";
  return MakeError(env, YaraErrorCode(yara_error), message, yara_error);
}

// ---- scan results, collected on the worker thread and converted on the main thread ----

struct MetaValue {
  std::string key;
  int type;
  std::string text;
  int64_t integer;
};

struct StringHit {
  std::string identifier;
  int64_t offset;
  int32_t length;
};

struct RuleHit {
  std::string rule;
  std::string ns;
  std::vector<std::string> tags;
  std::vector<MetaValue> metas;
  std::vector<StringHit> strings;
};

struct ScanState {
  uint32_t max_matches_per_string;
  uint32_t max_total_matches;
  uint64_t total_matches = 0;
  bool truncated = false;
  bool too_many_matches = false;
  std::vector<RuleHit> hits;
};

void CollectRule(YR_SCAN_CONTEXT* context, const YR_RULE* rule, ScanState* state) {
  RuleHit hit;
  hit.rule = rule->identifier != nullptr ? rule->identifier : "";
  hit.ns = (rule->ns != nullptr && rule->ns->name != nullptr) ? rule->ns->name : "";
  const char* tag = nullptr;
  yr_rule_tags_foreach(rule, tag) { hit.tags.emplace_back(tag); }
  const YR_META* meta = nullptr;
  yr_rule_metas_foreach(rule, meta) {
    MetaValue value{meta->identifier != nullptr ? meta->identifier : "", meta->type, "", meta->integer};
    if (meta->type == META_TYPE_STRING && meta->string != nullptr) value.text = meta->string;
    hit.metas.push_back(std::move(value));
  }
  const YR_STRING* string = nullptr;
  yr_rule_strings_foreach(rule, string) {
    uint32_t count = 0;
    const YR_MATCH* match = nullptr;
    yr_string_matches_foreach(context, string, match) {
      if (count >= state->max_matches_per_string || state->total_matches >= state->max_total_matches) {
        state->truncated = true;
        break;
      }
      hit.strings.push_back(
          StringHit{string->identifier != nullptr ? string->identifier : "", match->base + match->offset, match->match_length});
      ++count;
      ++state->total_matches;
    }
  }
  state->hits.push_back(std::move(hit));
}

int ScanCallback(YR_SCAN_CONTEXT* context, int message, void* message_data, void* user_data) {
  auto* state = static_cast<ScanState*>(user_data);
  if (message == CALLBACK_MSG_TOO_MANY_MATCHES) {
    state->too_many_matches = true;
    return CALLBACK_CONTINUE;
  }
  if (message != CALLBACK_MSG_RULE_MATCHING || message_data == nullptr) return CALLBACK_CONTINUE;
  // Never let a C++ exception unwind through libyara's C frames.
  try {
    CollectRule(context, static_cast<const YR_RULE*>(message_data), state);
  } catch (...) {
    return CALLBACK_ERROR;
  }
  return CALLBACK_CONTINUE;
}

Napi::Array HitsToJs(Napi::Env env, const std::vector<RuleHit>& hits) {
  Napi::Array out = Napi::Array::New(env, hits.size());
  for (size_t i = 0; i < hits.size(); ++i) {
    const RuleHit& hit = hits[i];
    Napi::Object rule = Napi::Object::New(env);
    rule.Set("rule", hit.rule);
    rule.Set("namespace", hit.ns);
    Napi::Array tags = Napi::Array::New(env, hit.tags.size());
    for (size_t t = 0; t < hit.tags.size(); ++t) tags.Set(static_cast<uint32_t>(t), hit.tags[t]);
    rule.Set("tags", tags);
    Napi::Object meta = Napi::Object::New(env);
    for (const MetaValue& value : hit.metas) {
      if (value.type == META_TYPE_BOOLEAN) {
        meta.Set(value.key, Napi::Boolean::New(env, value.integer != 0));
      } else if (value.type == META_TYPE_INTEGER) {
        meta.Set(value.key, Napi::Number::New(env, static_cast<double>(value.integer)));
      } else {
        meta.Set(value.key, Napi::String::New(env, value.text));
      }
    }
    rule.Set("meta", meta);
    Napi::Array strings = Napi::Array::New(env, hit.strings.size());
    for (size_t s = 0; s < hit.strings.size(); ++s) {
      Napi::Object match = Napi::Object::New(env);
      match.Set("identifier", hit.strings[s].identifier);
      match.Set("offset", Napi::Number::New(env, static_cast<double>(hit.strings[s].offset)));
      match.Set("length", Napi::Number::New(env, hit.strings[s].length));
      strings.Set(static_cast<uint32_t>(s), match);
    }
    rule.Set("strings", strings);
    out.Set(static_cast<uint32_t>(i), rule);
  }
  return out;
}

// ---- scanning ----

struct ScanRequest {
  int timeout_seconds = 0;
  uint32_t max_matches_per_string = 100;
  uint32_t max_total_matches = 100000;
};

class ScanWorker : public Napi::AsyncWorker {
 public:
  ScanWorker(Napi::Env env, RulesPtr rules, ScanRequest request, Napi::Promise::Deferred deferred)
      : Napi::AsyncWorker(env, "yara-native:scan"), rules_(std::move(rules)), request_(request), deferred_(deferred) {
    state_.max_matches_per_string = request.max_matches_per_string;
    state_.max_total_matches = request.max_total_matches;
  }

  void SetMemory(Napi::Object holder, const uint8_t* data, size_t size) {
    // Keeps the caller's buffer alive (not copied) until the scan has finished.
    holder_ = Napi::Persistent(holder);
    data_ = data;
    size_ = size;
  }

  void SetPath(std::string path) {
    path_ = std::move(path);
    is_file_ = true;
  }

  void Execute() override {
    YR_SCANNER* scanner = nullptr;
    result_ = yr_scanner_create(rules_->rules, &scanner);
    if (result_ != ERROR_SUCCESS || scanner == nullptr) {
      if (result_ == ERROR_SUCCESS) result_ = ERROR_INSUFFICIENT_MEMORY;
      return;
    }
    yr_scanner_set_callback(scanner, ScanCallback, &state_);
    yr_scanner_set_timeout(scanner, request_.timeout_seconds);
    yr_scanner_set_flags(scanner, 0);
    static const uint8_t kEmpty = 0;
    if (is_file_) {
      result_ = yr_scanner_scan_file(scanner, path_.c_str());
    } else {
      result_ = yr_scanner_scan_mem(scanner, data_ != nullptr ? data_ : &kEmpty, size_);
    }
    yr_scanner_destroy(scanner);
  }

  void OnOK() override {
    Napi::Env env = Env();
    holder_.Reset();
    if (result_ != ERROR_SUCCESS) {
      deferred_.Reject(MakeYaraError(env, is_file_ ? "scan of " + path_ + " failed" : "scan failed", result_));
      return;
    }
    Napi::Array hits = HitsToJs(env, state_.hits);
    Napi::Object result = Napi::Object::New(env);
    result.Set("matches", hits);
    result.Set("truncated", Napi::Boolean::New(env, state_.truncated || state_.too_many_matches));
    deferred_.Resolve(result);
  }

  void OnError(const Napi::Error& error) override {
    holder_.Reset();
    deferred_.Reject(error.Value());
  }

 private:
  RulesPtr rules_;
  ScanRequest request_;
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference holder_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
  bool is_file_ = false;
  ScanState state_;
  int result_ = ERROR_SUCCESS;
};

// Scans many files in one AsyncWorker with one scanner: a retrohunt over many small files otherwise pays a
// thread-pool hop, a scanner setup and a promise per file. Per-file failures are results, not rejections.
struct FileOutcome {
  ScanState state;
  int result = ERROR_SUCCESS;
};

class BatchScanWorker : public Napi::AsyncWorker {
 public:
  BatchScanWorker(Napi::Env env, RulesPtr rules, ScanRequest request, std::vector<std::string> paths,
                  Napi::Promise::Deferred deferred)
      : Napi::AsyncWorker(env, "yara-native:scan-files"),
        rules_(std::move(rules)),
        request_(request),
        paths_(std::move(paths)),
        deferred_(deferred) {}

  void Execute() override {
    try {
      outcomes_.resize(paths_.size());
    } catch (...) {
      SetError("insufficient memory for the batch results");
      return;
    }
    YR_SCANNER* scanner = nullptr;
    int created = yr_scanner_create(rules_->rules, &scanner);
    if (created != ERROR_SUCCESS || scanner == nullptr) {
      setup_error_ = created != ERROR_SUCCESS ? created : ERROR_INSUFFICIENT_MEMORY;
      return;
    }
    yr_scanner_set_timeout(scanner, request_.timeout_seconds);
    yr_scanner_set_flags(scanner, 0);
    for (size_t i = 0; i < paths_.size(); ++i) {
      FileOutcome& outcome = outcomes_[i];
      outcome.state.max_matches_per_string = request_.max_matches_per_string;
      outcome.state.max_total_matches = request_.max_total_matches;
      yr_scanner_set_callback(scanner, ScanCallback, &outcome.state);
      outcome.result = yr_scanner_scan_file(scanner, paths_[i].c_str());
    }
    yr_scanner_destroy(scanner);
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (setup_error_ != ERROR_SUCCESS) {
      deferred_.Reject(MakeYaraError(env, "scanner setup failed", setup_error_));
      return;
    }
    Napi::Array out = Napi::Array::New(env, outcomes_.size());
    for (size_t i = 0; i < outcomes_.size(); ++i) {
      const FileOutcome& outcome = outcomes_[i];
      Napi::Object entry = Napi::Object::New(env);
      if (outcome.result != ERROR_SUCCESS) {
        entry.Set("error", MakeYaraError(env, "scan of " + paths_[i] + " failed", outcome.result));
      } else {
        entry.Set("matches", HitsToJs(env, outcome.state.hits));
        entry.Set("truncated", Napi::Boolean::New(env, outcome.state.truncated || outcome.state.too_many_matches));
      }
      out.Set(static_cast<uint32_t>(i), entry);
    }
    deferred_.Resolve(out);
  }

  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  RulesPtr rules_;
  ScanRequest request_;
  std::vector<std::string> paths_;
  Napi::Promise::Deferred deferred_;
  std::vector<FileOutcome> outcomes_;
  int setup_error_ = ERROR_SUCCESS;
};

// ---- compiled rules wrapper ----

struct AddonData {
  Napi::FunctionReference rules_constructor;
};

class Rules : public Napi::ObjectWrap<Rules> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeRules",
                       {
                           InstanceMethod<&Rules::Scan>("scan"),
                           InstanceMethod<&Rules::ScanFile>("scanFile"),
                           InstanceMethod<&Rules::ScanFiles>("scanFiles"),
                           InstanceMethod<&Rules::Save>("save"),
                           InstanceMethod<&Rules::Dispose>("dispose"),
                           InstanceAccessor<&Rules::RuleCount>("ruleCount"),
                       });
  }

  static Napi::Object FromHandle(Napi::Env env, RulesPtr rules) {
    Napi::Object object = env.GetInstanceData<AddonData>()->rules_constructor.New({});
    Rules::Unwrap(object)->rules_ = std::move(rules);
    return object;
  }

  explicit Rules(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Rules>(info) {}

 private:
  RulesPtr Require(Napi::Env env) {
    if (!rules_) throw Napi::Error(env, MakeError(env, "DISPOSED", "the compiled rules were disposed", 0));
    return rules_;
  }

  static ScanRequest ParseRequest(const Napi::CallbackInfo& info, size_t index) {
    ScanRequest request;
    if (info.Length() > index && info[index].IsObject()) {
      Napi::Object options = info[index].As<Napi::Object>();
      Napi::Value timeout = options.Get("timeoutMs");
      if (timeout.IsNumber()) {
        double ms = timeout.As<Napi::Number>().DoubleValue();
        // libyara's timeout has a one-second granularity: round up so a budget is never shortened.
        if (ms > 0) request.timeout_seconds = static_cast<int>(std::min(ms / 1000.0 + 0.999, 86400.0));
      }
      Napi::Value per_string = options.Get("maxMatchesPerString");
      if (per_string.IsNumber()) {
        double n = per_string.As<Napi::Number>().DoubleValue();
        request.max_matches_per_string = static_cast<uint32_t>(std::clamp(n, 0.0, 1000000.0));
      }
      Napi::Value total = options.Get("maxTotalMatches");
      if (total.IsNumber()) {
        double n = total.As<Napi::Number>().DoubleValue();
        request.max_total_matches = static_cast<uint32_t>(std::clamp(n, 0.0, 10000000.0));
      }
    }
    return request;
  }

  Napi::Value Scan(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    RulesPtr rules = Require(env);
    if (info.Length() < 1 || !info[0].IsTypedArray()) throw Napi::TypeError::New(env, "scan(data: Uint8Array, options?)");
    Napi::TypedArray array = info[0].As<Napi::TypedArray>();
    if (array.TypedArrayType() != napi_uint8_array) throw Napi::TypeError::New(env, "scan expects a Uint8Array");
    Napi::Uint8Array bytes = array.As<Napi::Uint8Array>();
    Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(env);
    auto* worker = new ScanWorker(env, rules, ParseRequest(info, 1), deferred);
    worker->SetMemory(bytes, bytes.Data(), bytes.ByteLength());
    worker->Queue();
    return deferred.Promise();
  }

  Napi::Value ScanFile(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    RulesPtr rules = Require(env);
    if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "scanFile(path: string, options?)");
    std::string path = info[0].As<Napi::String>().Utf8Value();
    if (path.find('\0') != std::string::npos) throw Napi::TypeError::New(env, "path contains a NUL byte");
    Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(env);
    auto* worker = new ScanWorker(env, rules, ParseRequest(info, 1), deferred);
    worker->SetPath(std::move(path));
    worker->Queue();
    return deferred.Promise();
  }

  Napi::Value ScanFiles(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    RulesPtr rules = Require(env);
    if (info.Length() < 1 || !info[0].IsArray()) throw Napi::TypeError::New(env, "scanFiles(paths: string[], options?)");
    Napi::Array array = info[0].As<Napi::Array>();
    // Bounds one worker's run (and its results) so a caller cannot pin a pool thread indefinitely.
    if (array.Length() > 100000) throw Napi::RangeError::New(env, "scanFiles takes at most 100000 paths");
    std::vector<std::string> paths;
    paths.reserve(array.Length());
    for (uint32_t i = 0; i < array.Length(); ++i) {
      Napi::Value item = array.Get(i);
      if (!item.IsString()) throw Napi::TypeError::New(env, "scanFiles: every path must be a string");
      std::string path = item.As<Napi::String>().Utf8Value();
      if (path.find('\0') != std::string::npos) throw Napi::TypeError::New(env, "path contains a NUL byte");
      paths.push_back(std::move(path));
    }
    Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(env);
    (new BatchScanWorker(env, rules, ParseRequest(info, 1), std::move(paths), deferred))->Queue();
    return deferred.Promise();
  }

  static size_t WriteToVector(const void* ptr, size_t size, size_t count, void* user_data) {
    auto* out = static_cast<std::vector<uint8_t>*>(user_data);
    const auto* bytes = static_cast<const uint8_t*>(ptr);
    try {
      out->insert(out->end(), bytes, bytes + size * count);
    } catch (...) {
      return 0;
    }
    return count;
  }

  Napi::Value Save(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    RulesPtr rules = Require(env);
    std::vector<uint8_t> out;
    YR_STREAM stream;
    std::memset(&stream, 0, sizeof(stream));
    stream.user_data = &out;
    stream.write = WriteToVector;
    int result = yr_rules_save_stream(rules->rules, &stream);
    if (result != ERROR_SUCCESS) throw Napi::Error(env, MakeYaraError(env, "saving compiled rules failed", result));
    return Napi::Buffer<uint8_t>::Copy(env, out.data(), out.size());
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    rules_.reset();
    return info.Env().Undefined();
  }

  Napi::Value RuleCount(const Napi::CallbackInfo& info) {
    if (!rules_) return Napi::Number::New(info.Env(), 0);
    return Napi::Number::New(info.Env(), rules_->rules->num_rules);
  }

  RulesPtr rules_;
};

// ---- compiling ----

struct SourceInput {
  std::string ns;
  std::string source;
  std::string origin;
};

struct Diagnostic {
  bool warning;
  std::string origin;
  int line;
  std::string message;
};

struct CompileState {
  const std::string* origin = nullptr;
  std::vector<Diagnostic> diagnostics;
};

void CompilerCallback(int error_level, const char* /*file_name*/, int line_number, const YR_RULE* /*rule*/,
                      const char* message, void* user_data) {
  auto* state = static_cast<CompileState*>(user_data);
  try {
    if (state->diagnostics.size() >= 1000) return;
    state->diagnostics.push_back(Diagnostic{error_level == YARA_ERROR_LEVEL_WARNING,
                                            state->origin != nullptr ? *state->origin : std::string(), line_number,
                                            message != nullptr ? message : ""});
  } catch (...) {
    // Out of memory while recording a diagnostic: the compile result still reports failure.
  }
}

class CompileWorker : public Napi::AsyncWorker {
 public:
  CompileWorker(Napi::Env env, std::vector<SourceInput> sources, Napi::Promise::Deferred deferred)
      : Napi::AsyncWorker(env, "yara-native:compile"), sources_(std::move(sources)), deferred_(deferred) {}

  void Execute() override {
    result_ = EnsureInitialized();
    if (result_ != ERROR_SUCCESS) return;
    YR_COMPILER* compiler = nullptr;
    result_ = yr_compiler_create(&compiler);
    if (result_ != ERROR_SUCCESS || compiler == nullptr) {
      if (result_ == ERROR_SUCCESS) result_ = ERROR_INSUFFICIENT_MEMORY;
      return;
    }
    yr_compiler_set_callback(compiler, CompilerCallback, &state_);
    for (const SourceInput& input : sources_) {
      state_.origin = &input.origin;
      // After a failed add the compiler must not be used again (libyara's rule), so stop at the first.
      int errors = yr_compiler_add_string(compiler, input.source.c_str(), input.ns.c_str());
      if (errors > 0) {
        failed_ = true;
        break;
      }
    }
    state_.origin = nullptr;
    if (!failed_) {
      YR_RULES* rules = nullptr;
      result_ = yr_compiler_get_rules(compiler, &rules);
      if (result_ == ERROR_SUCCESS && rules != nullptr) {
        rules_ = std::make_shared<RulesHandle>(rules);
      } else if (rules != nullptr) {
        yr_rules_destroy(rules);
      }
    }
    yr_compiler_destroy(compiler);
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::Array diagnostics = Napi::Array::New(env, state_.diagnostics.size());
    for (size_t i = 0; i < state_.diagnostics.size(); ++i) {
      const Diagnostic& d = state_.diagnostics[i];
      Napi::Object entry = Napi::Object::New(env);
      entry.Set("level", d.warning ? "warning" : "error");
      entry.Set("origin", d.origin);
      entry.Set("line", Napi::Number::New(env, d.line));
      entry.Set("message", d.message);
      diagnostics.Set(static_cast<uint32_t>(i), entry);
    }
    if (failed_) {
      Napi::Value error = MakeError(env, "COMPILE_FAILED", "YARA compilation failed", 0);
      error.As<Napi::Object>().Set("diagnostics", diagnostics);
      deferred_.Reject(error);
      return;
    }
    if (result_ != ERROR_SUCCESS || !rules_) {
      deferred_.Reject(MakeYaraError(env, "compilation failed", result_ != ERROR_SUCCESS ? result_ : ERROR_INTERNAL_FATAL_ERROR));
      return;
    }
    Napi::Object object = Rules::FromHandle(env, rules_);
    object.Set("warnings", diagnostics);
    deferred_.Resolve(object);
  }

  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  std::vector<SourceInput> sources_;
  Napi::Promise::Deferred deferred_;
  CompileState state_;
  RulesPtr rules_;
  bool failed_ = false;
  int result_ = ERROR_SUCCESS;
};

std::string RequireString(Napi::Object object, const char* key, bool optional) {
  Napi::Value value = object.Get(key);
  if (value.IsString()) return value.As<Napi::String>().Utf8Value();
  if (optional && (value.IsUndefined() || value.IsNull())) return std::string();
  throw Napi::TypeError::New(object.Env(), std::string("source.") + key + " must be a string");
}

Napi::Value Compile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArray()) throw Napi::TypeError::New(env, "compile(sources: {namespace, source, origin?}[])");
  Napi::Array array = info[0].As<Napi::Array>();
  std::vector<SourceInput> sources;
  sources.reserve(array.Length());
  for (uint32_t i = 0; i < array.Length(); ++i) {
    Napi::Value item = array.Get(i);
    if (!item.IsObject()) throw Napi::TypeError::New(env, "each source must be an object");
    Napi::Object object = item.As<Napi::Object>();
    SourceInput input{RequireString(object, "namespace", false), RequireString(object, "source", false),
                      RequireString(object, "origin", true)};
    // libyara reads C strings: an embedded NUL would silently truncate a source.
    if (input.source.find('\0') != std::string::npos || input.ns.find('\0') != std::string::npos) {
      throw Napi::TypeError::New(env, "sources must not contain NUL bytes");
    }
    if (input.ns.empty()) input.ns = "default";
    sources.push_back(std::move(input));
  }
  Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(env);
  (new CompileWorker(env, std::move(sources), deferred))->Queue();
  return deferred.Promise();
}

struct ReadCursor {
  const uint8_t* data;
  size_t size;
  size_t position;
};

size_t ReadFromCursor(void* ptr, size_t size, size_t count, void* user_data) {
  auto* cursor = static_cast<ReadCursor*>(user_data);
  if (size == 0 || count == 0) return 0;
  size_t available = (cursor->size - cursor->position) / size;
  size_t items = std::min(count, available);
  std::memcpy(ptr, cursor->data + cursor->position, items * size);
  cursor->position += items * size;
  return items;
}

// Loads rules saved by save(). Only load what this project saved: libyara trusts the serialised arena.
Napi::Value Load(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray()) throw Napi::TypeError::New(env, "load(saved: Uint8Array)");
  Napi::TypedArray array = info[0].As<Napi::TypedArray>();
  if (array.TypedArrayType() != napi_uint8_array) throw Napi::TypeError::New(env, "load expects a Uint8Array");
  Napi::Uint8Array bytes = array.As<Napi::Uint8Array>();
  int init = EnsureInitialized();
  if (init != ERROR_SUCCESS) throw Napi::Error(env, MakeYaraError(env, "yr_initialize failed", init));
  ReadCursor cursor{bytes.Data(), bytes.ByteLength(), 0};
  if (cursor.data == nullptr || cursor.size == 0) throw Napi::Error(env, MakeYaraError(env, "loading compiled rules failed", ERROR_INVALID_FILE));
  YR_STREAM stream;
  std::memset(&stream, 0, sizeof(stream));
  stream.user_data = &cursor;
  stream.read = ReadFromCursor;
  YR_RULES* rules = nullptr;
  int result = yr_rules_load_stream(&stream, &rules);
  if (result != ERROR_SUCCESS || rules == nullptr) {
    if (rules != nullptr) yr_rules_destroy(rules);
    throw Napi::Error(env, MakeYaraError(env, "loading compiled rules failed", result != ERROR_SUCCESS ? result : ERROR_INVALID_FILE));
  }
  return Rules::FromHandle(env, std::make_shared<RulesHandle>(rules));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  data->rules_constructor = Napi::Persistent(Rules::Define(env));
  env.SetInstanceData<AddonData>(data);
  exports.Set("compile", Napi::Function::New(env, Compile, "compile"));
  exports.Set("load", Napi::Function::New(env, Load, "load"));
  exports.Set("libyaraVersion", Napi::String::New(env, YR_VERSION));
  return exports;
}

}  // namespace

NODE_API_MODULE(yara_native, Init)
