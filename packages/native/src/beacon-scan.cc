// Native twin of scanBeaconStructures (packages/analyzers/src/cobaltstrike/find-config-blocks.ts): the TypeScript
// function is the reference and states the semantics; this file must return exactly the same lists.
#include "beacon-scan.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <exception>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#include <immintrin.h>
#define MALPIPE_BEACON_SCAN_X86 1
#endif

namespace malpipe {
namespace {

constexpr int64_t kConfigPatternLength = 12;

struct Scan {
  const uint8_t* b;
  int64_t len;
  int64_t start;
  int64_t stop;
  int64_t onesStop;
  const uint8_t* keyMask;  // 256 flags, or null for every key
  bool ones;
  size_t maxCandidates;
  size_t maxOnes;
  bool full = false;
  std::vector<double> configs;
  std::vector<double> oneHits;
};

// Caller guarantees 0 <= p and p + 12 <= len (p < stop).
inline bool IsConfigPatternAt(const uint8_t* b, int64_t p) {
  const uint8_t k = b[p];
  const uint8_t k1 = k ^ 1;
  return b[p + 1] == k1 && b[p + 2] == k && b[p + 3] == k1 && b[p + 4] == k && b[p + 8] == k &&
         b[p + 9] == (k ^ 2) && b[p + 10] == k && b[p + 11] == k1;
}

// Everything after the b[q] ^ b[q + 1] == 1 filter; q is a multiple of 4 below qStop (<= len).
inline void Probe(Scan& s, int64_t q) {
  const uint8_t* b = s.b;
  for (int64_t p = q - 3; p <= q; p++) {
    if (p < s.start || p >= s.stop || !IsConfigPatternAt(b, p)) continue;
    if (s.keyMask != nullptr && s.keyMask[b[p]] == 0) continue;
    s.configs.push_back(static_cast<double>(p));
    if (s.configs.size() >= s.maxCandidates) {
      s.full = true;
      return;
    }
  }
  if (s.ones && q >= 8 && q < s.onesStop && b[q] == 1 && b[q + 1] == 0 && b[q + 2] == 0 && b[q + 3] == 0 &&
      s.oneHits.size() < s.maxOnes) {
    uint64_t before;
    std::memcpy(&before, b + q - 8, 8);
    if (before == 0) s.oneHits.push_back(static_cast<double>(q));
  }
}

void ScanScalar(Scan& s, int64_t q, int64_t qStop) {
  for (; q < qStop && !s.full; q += 4) {
    const uint8_t next = q + 1 < s.len ? s.b[q + 1] : 0;
    if ((s.b[q] ^ next) == 1) Probe(s, q);
  }
}

#ifdef MALPIPE_BEACON_SCAN_X86
// 32 dwords (128 bytes) per step, each dword lane standing for one probe position q. With x[i] = b[i] ^ b[i + 1],
// a config start p in [q - 3, q] has x[p] = .. = x[p + 3] = 1, which covers the pair (x[q - 1], x[q]) when
// p < q and the pair (x[q + 1], x[q + 2]) when p = q; a runtime probe (01 00 00 00 after a zero byte) has
// x[q - 1] = x[q] = 1. Both pairs are the 16-bit halves of lane q in (b shifted by one byte) ^ b, so one 16-bit
// compare per vector tests them: random bytes pass about twice in 2^16 lanes, which keeps the one branch per
// block predictable (a mispredicted branch waiting on a load costs more than the arithmetic). The TypeScript
// filter (x[q] = 1) passes a lane in 256, a block in eight. Loads stay inside [q - 1, q + 128) with 4 <= q and
// q + 128 <= qStop <= len; the scalar loop does the rest.
__attribute__((target("avx2"))) void ScanAvx2(Scan& s, int64_t qStart, int64_t qStop) {
  const int64_t simdStart = std::min(std::max<int64_t>(qStart, 4), qStop);
  ScanScalar(s, qStart, simdStart);
  const __m256i pair = _mm256_set1_epi16(0x0101);
  int64_t q = simdStart;
  for (; q + 128 <= qStop && !s.full; q += 128) {
    const uint8_t* at = s.b + q;
    __m256i c[4];
    for (int i = 0; i < 4; i++) {
      const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(at + 32 * i));
      const __m256i before = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(at + 32 * i - 1));
      c[i] = _mm256_cmpeq_epi16(_mm256_xor_si256(before, a), pair);
    }
    const __m256i any = _mm256_or_si256(_mm256_or_si256(c[0], c[1]), _mm256_or_si256(c[2], c[3]));
    if (__builtin_expect(_mm256_testz_si256(any, any), 1)) continue;
    for (int i = 0; i < 4 && !s.full; i++) {
      const uint32_t bytes = static_cast<uint32_t>(_mm256_movemask_epi8(c[i]));
      uint32_t mask = (bytes | (bytes >> 2)) & 0x11111111u;
      while (mask != 0 && !s.full) {
        Probe(s, q + 32 * i + __builtin_ctz(mask));
        mask &= mask - 1;
      }
    }
  }
  ScanScalar(s, q, qStop);
}

bool HasAvx2() {
  static const bool has = __builtin_cpu_supports("avx2");
  return has;
}
#else
bool HasAvx2() { return false; }
#endif

int64_t IntegerArg(const Napi::CallbackInfo& info, size_t index, const char* name) {
  const Napi::Value value = info[index];
  if (!value.IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a number");
  const double d = value.As<Napi::Number>().DoubleValue();
  // Safe integers only (what the TypeScript caller passes); keeps the int64 arithmetic below exact.
  if (!std::isfinite(d) || std::trunc(d) != d || std::fabs(d) > 9007199254740991.0) {
    throw Napi::RangeError::New(info.Env(), std::string(name) + " must be a safe integer");
  }
  return static_cast<int64_t>(d);
}

// Large ranges are split into parts scanned by parallel threads: the scan reads memory that the kernel has just
// copied into the caller's buffer, and one core cannot filter it as fast as the copy wrote it.
constexpr int64_t kMinBytesPerPart = 1 << 20;
constexpr int kMaxParts = 4;

void ScanRange(Scan& s, int64_t q0, int64_t q1, bool simd) {
#ifdef MALPIPE_BEACON_SCAN_X86
  if (simd) {
    ScanAvx2(s, q0, q1);
    return;
  }
#else
  (void)simd;
#endif
  ScanScalar(s, q0, q1);
}

struct Hits {
  std::vector<double> configs;
  std::vector<double> ones;
};

// Scans [qStart, qStop) in `parts` ranges split at multiples of 4 (the first on the calling thread), then merges
// them into what one ascending pass returns: each part stops at the config cap on its own, a full part ends the
// list, and once the cap is reached no probe at or after the last config's probe position counts.
Hits ScanParts(const Scan& proto, int64_t qStart, int64_t qStop, int parts, bool simd) {
  std::vector<Scan> scans(static_cast<size_t>(parts), proto);
  std::vector<int64_t> bounds(static_cast<size_t>(parts) + 1);
  const int64_t span = qStop - qStart;
  for (int i = 0; i < parts; i++) bounds[static_cast<size_t>(i)] = qStart + ((span / parts * i) & ~int64_t{3});
  bounds[static_cast<size_t>(parts)] = qStop;
  std::vector<std::thread> threads;
  std::vector<std::exception_ptr> errors(static_cast<size_t>(parts));
  std::vector<bool> started(static_cast<size_t>(parts), false);
  for (int i = 1; i < parts; i++) {
    const size_t k = static_cast<size_t>(i);
    try {
      threads.emplace_back([&scans, &bounds, &errors, k, simd] {
        try {
          ScanRange(scans[k], bounds[k], bounds[k + 1], simd);
        } catch (...) {
          errors[k] = std::current_exception();
        }
      });
      started[k] = true;
    } catch (const std::system_error&) {
      // No thread to be had (process limits): that part runs on this thread below.
    }
  }
  std::exception_ptr mine;
  try {
    for (size_t k = 0; k < scans.size(); k++) {
      if (!started[k]) ScanRange(scans[k], bounds[k], bounds[k + 1], simd);
    }
  } catch (...) {
    mine = std::current_exception();
  }
  for (std::thread& thread : threads) thread.join();
  if (mine) std::rethrow_exception(mine);
  for (const std::exception_ptr& error : errors) {
    if (error) std::rethrow_exception(error);
  }
  Hits hits;
  for (const Scan& part : scans) {
    hits.configs.insert(hits.configs.end(), part.configs.begin(), part.configs.end());
    hits.ones.insert(hits.ones.end(), part.oneHits.begin(), part.oneHits.end());
    if (part.full) break;
  }
  if (hits.configs.size() >= proto.maxCandidates) {
    hits.configs.resize(proto.maxCandidates);
    const double limit = static_cast<double>((static_cast<int64_t>(hits.configs.back()) + 3) & ~int64_t{3});
    hits.ones.erase(std::lower_bound(hits.ones.begin(), hits.ones.end(), limit), hits.ones.end());
  }
  if (hits.ones.size() > proto.maxOnes) hits.ones.resize(proto.maxOnes);
  return hits;
}

int AutoParts(int64_t span) {
  const int64_t cores = std::max<int64_t>(1, static_cast<int64_t>(std::thread::hardware_concurrency()));
  return static_cast<int>(std::max<int64_t>(1, std::min({cores, int64_t{kMaxParts}, span / kMinBytesPerPart})));
}

Napi::Float64Array ToFloat64Array(Napi::Env env, const std::vector<double>& values) {
  Napi::Float64Array out = Napi::Float64Array::New(env, values.size());
  if (!values.empty()) std::memcpy(out.Data(), values.data(), values.size() * sizeof(double));
  return out;
}

// scanBeaconStructures(bytes, from, to, keyMask | null, ones, maxCandidates, maxOnes, scalar?, parts?)
//   -> { configs: Float64Array, ones: Float64Array }
Napi::Value ScanBeaconStructures(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 7) throw Napi::TypeError::New(env, "scanBeaconStructures expects 7 to 9 arguments");
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(env, "bytes must be a Uint8Array");
  }
  Napi::Uint8Array bytes = info[0].As<Napi::Uint8Array>();
  const int64_t from = IntegerArg(info, 1, "from");
  const int64_t to = IntegerArg(info, 2, "to");
  const uint8_t* keyMask = nullptr;
  if (!info[3].IsNull() && !info[3].IsUndefined()) {
    if (!info[3].IsTypedArray() || info[3].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array ||
        info[3].As<Napi::Uint8Array>().ElementLength() != 256) {
      throw Napi::TypeError::New(env, "keyMask must be null or a Uint8Array of 256 flags");
    }
    keyMask = info[3].As<Napi::Uint8Array>().Data();
  }
  if (!info[4].IsBoolean()) throw Napi::TypeError::New(env, "ones must be a boolean");
  const int64_t maxCandidates = IntegerArg(info, 5, "maxCandidates");
  const int64_t maxOnes = IntegerArg(info, 6, "maxOnes");
  const bool scalar = info.Length() > 7 && info[7].IsBoolean() && info[7].As<Napi::Boolean>().Value();
  const int64_t partsArg = info.Length() > 8 && !info[8].IsUndefined() ? IntegerArg(info, 8, "parts") : 0;
  if (partsArg < 0 || partsArg > 64) throw Napi::RangeError::New(env, "parts must be 0 (automatic) to 64");

  Scan s;
  s.b = bytes.Data();
  s.len = static_cast<int64_t>(bytes.ElementLength());
  s.keyMask = keyMask;
  s.ones = info[4].As<Napi::Boolean>().Value();
  s.maxCandidates = static_cast<size_t>(std::max<int64_t>(0, maxCandidates));
  s.maxOnes = static_cast<size_t>(std::max<int64_t>(0, maxOnes));
  Hits hits;
  if (s.maxCandidates > 0 && s.len > 0) {
    // The same bounds as the TypeScript function (see its comments).
    s.start = std::max<int64_t>(0, from);
    s.stop = std::min(to, s.len - kConfigPatternLength + 1);
    s.onesStop = std::min(to + 16, s.len - 4);
    const int64_t qStart = (s.start + 3) - (s.start + 3) % 4;
    const int64_t qStop = std::min(s.len, std::max(s.stop + 3, s.ones ? s.onesStop : 0));
    const int64_t span = qStop - qStart;
    // Each part gets at least one probe position.
    const int parts = span <= 4 ? 1 : static_cast<int>(std::min(partsArg > 0 ? partsArg : AutoParts(span), span / 4));
    hits = ScanParts(s, qStart, qStop, parts, !scalar && HasAvx2());
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("configs", ToFloat64Array(env, hits.configs));
  result.Set("ones", ToFloat64Array(env, hits.ones));
  return result;
}

}  // namespace

void RegisterBeaconScan(Napi::Env env, Napi::Object exports) {
  exports.Set("scanBeaconStructures", Napi::Function::New(env, ScanBeaconStructures, "scanBeaconStructures"));
  exports.Set("beaconScanSimd", Napi::String::New(env, HasAvx2() ? "avx2" : "scalar"));
}

}  // namespace malpipe
