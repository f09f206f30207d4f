// Native twin of scanBeaconStructures (packages/analyzers/src/cobaltstrike/find-config-blocks.ts): the TypeScript
// function is the reference and states the semantics; this file must return exactly the same lists.
#include "beacon-scan.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
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

Napi::Float64Array ToFloat64Array(Napi::Env env, const std::vector<double>& values) {
  Napi::Float64Array out = Napi::Float64Array::New(env, values.size());
  if (!values.empty()) std::memcpy(out.Data(), values.data(), values.size() * sizeof(double));
  return out;
}

// scanBeaconStructures(bytes, from, to, keyMask | null, ones, maxCandidates, maxOnes, scalar?)
//   -> { configs: Float64Array, ones: Float64Array }
Napi::Value ScanBeaconStructures(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 7) throw Napi::TypeError::New(env, "scanBeaconStructures expects 7 or 8 arguments");
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

  Scan s;
  s.b = bytes.Data();
  s.len = static_cast<int64_t>(bytes.ElementLength());
  s.keyMask = keyMask;
  s.ones = info[4].As<Napi::Boolean>().Value();
  s.maxCandidates = static_cast<size_t>(std::max<int64_t>(0, maxCandidates));
  s.maxOnes = static_cast<size_t>(std::max<int64_t>(0, maxOnes));
  Napi::Object result = Napi::Object::New(env);
  if (s.maxCandidates > 0 && s.len > 0) {
    // The same bounds as the TypeScript function (see its comments).
    s.start = std::max<int64_t>(0, from);
    s.stop = std::min(to, s.len - kConfigPatternLength + 1);
    s.onesStop = std::min(to + 16, s.len - 4);
    const int64_t qStart = (s.start + 3) - (s.start + 3) % 4;
    const int64_t qStop = std::min(s.len, std::max(s.stop + 3, s.ones ? s.onesStop : 0));
#ifdef MALPIPE_BEACON_SCAN_X86
    if (!scalar && HasAvx2()) {
      ScanAvx2(s, qStart, qStop);
    } else {
      ScanScalar(s, qStart, qStop);
    }
#else
    (void)scalar;
    ScanScalar(s, qStart, qStop);
#endif
  }
  result.Set("configs", ToFloat64Array(env, s.configs));
  result.Set("ones", ToFloat64Array(env, s.oneHits));
  return result;
}

}  // namespace

void RegisterBeaconScan(Napi::Env env, Napi::Object exports) {
  exports.Set("scanBeaconStructures", Napi::Function::New(env, ScanBeaconStructures, "scanBeaconStructures"));
  exports.Set("beaconScanSimd", Napi::String::New(env, HasAvx2() ? "avx2" : "scalar"));
}

}  // namespace malpipe
