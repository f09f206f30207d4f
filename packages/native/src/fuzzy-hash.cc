// ssdeep and TLSH in one pass: the TypeScript twins (packages/analyzers/src/hashes) stay the reference and a
// property test proves both give the same strings. Comments there explain the algorithms; here, only what differs.
#include "fuzzy-hash.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace malpipe {
namespace {

// ---------------------------------------------------------------------------------------------------------
// ssdeep

constexpr uint32_t kRollingWindow = 7;
constexpr uint64_t kMinBlockSize = 3;
constexpr uint32_t kSpamsumLength = 64;
constexpr int kNumBlockhashes = 31;
constexpr uint32_t kPrimeMod64 = 0x01000193u & 63u;
constexpr uint32_t kHashInit = 0x28021967u & 63u;
// Full and half FNV states of a block size share one 32-bit lane (bits 0 and 16), two block sizes one 64-bit
// word: products stay under 2^27, so one multiply updates four states without carrying into a neighbour.
constexpr uint32_t kPairMask = 0x003f003fu;
constexpr uint32_t kHalfShift = 16;
constexpr uint32_t kPairInit = kHashInit | (kHashInit << kHalfShift);
constexpr uint64_t kLanePair = 0x0000000100000001ull;
constexpr uint64_t kWordMask = kPairMask * kLanePair;
constexpr int kWords = (kNumBlockhashes + 1) / 2;
constexpr int kWindowWords = 3;
constexpr int kMaxWindowStart = kWords - kWindowWords;
constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

inline uint64_t BlockSize(int index) { return kMinBlockSize << index; }

// The rolling hash that decides where pieces end. Callers keep it in a local in their byte loop, where no
// store through the state arrays can alias it.
struct RollingHash {
  uint32_t h1 = 0, h2 = 0, h3 = 0;
};

// sum == -1 modulo 3 * 2^index.
inline bool Triggers(uint32_t sum, int index) {
  const uint32_t mask = (1u << index) - 1u;
  return (sum & mask) == mask && (sum >> index) % 3u == 2u;
}

class Spamsum {
 public:
  explicit Spamsum(uint64_t total_size) : total_size_(total_size) {
    words_.fill(kPairInit * kLanePair);
    // The digest reads block sizes up to one past the first that is large enough for the input (its search
    // starts there and only goes down): larger ones are never started, so 2-3 are updated per byte, not ~8.
    // The TypeScript twin tracks them all; the output is the same.
    int first_large_enough = 0;
    while (BlockSize(first_large_enough) * kSpamsumLength < total_size_) first_large_enough++;
    max_end_ = std::min(kNumBlockhashes, first_large_enough + 2);
  }

  // Hashes data[begin, end), given the whole buffer: the byte leaving the rolling window is read back from it.
  void Update(const uint8_t* data, size_t begin, size_t end) {
    RollingHash roll = roll_;
    for (size_t pos = begin; pos < end; pos++) Step(data[pos], Leaving(data, pos), roll);
    roll_ = roll;
  }

  const RollingHash& roll() const { return roll_; }
  void set_roll(const RollingHash& roll) { roll_ = roll; }

  // The byte leaving the rolling window when data[pos] enters it (zeros before the start).
  static inline uint32_t Leaving(const uint8_t* data, size_t pos) {
    return pos >= kRollingWindow ? data[pos - kRollingWindow] : 0;
  }

  // One byte `c`, `leaving` being the byte that drops out of the rolling window (0 within the first 7).
  inline void Step(uint32_t c, uint32_t leaving, RollingHash& roll) {
    roll.h2 = roll.h2 - roll.h1 + kRollingWindow * c;
    roll.h1 = roll.h1 + c - leaving;
    roll.h3 = (roll.h3 << 5) ^ c;
    const uint32_t sum = roll.h1 + roll.h2 + roll.h3;

    const uint32_t c6 = c & 63u;
    const uint32_t pair_c = c6 | (c6 << kHalfShift);
    const int start = start_;
    const int end = end_;
    const uint64_t words_c = pair_c * kLanePair;
    // Lanes below start_ are never read again and lanes from end_ on are overwritten when they become active,
    // so updating the whole words is harmless.
    const int first = start >> 1;
    const int last = (end - 1) >> 1;
    if (last - first < kWindowWords && first <= kMaxWindowStart) {
      // Usual case, a fixed window of words: straight-line code, where a loop of two or three iterations
      // costs more in loop control (and vectoriser prologue) than in work.
      uint64_t* window = &words_[first];
      for (int w = 0; w < kWindowWords; w++) window[w] = ((window[w] * kPrimeMod64) & kWordMask) ^ words_c;
    } else {
      for (int w = first; w <= last; w++) words_[w] = ((words_[w] * kPrimeMod64) & kWordMask) ^ words_c;
    }

    // Not -1 modulo a block size means not -1 modulo any larger (doubled) one either.
    for (int i = start; i < end_ && Triggers(sum, i); i++) Trigger(i);
  }

  std::string Digest() const {
    const uint32_t roll_sum = roll_.h1 + roll_.h2 + roll_.h3;
    int bi = start_;
    while (BlockSize(bi) * kSpamsumLength < total_size_) bi++;
    if (bi >= end_) bi = end_ - 1;
    while (bi > start_ && dlens_[bi] < kSpamsumLength / 2) bi--;

    std::string out = std::to_string(BlockSize(bi));
    out += ':';
    out.append(reinterpret_cast<const char*>(&digests_[bi * kSpamsumLength]), dlens_[bi]);
    if (roll_sum != 0) out += kB64[State(bi) & 63u];
    else if (tails_[bi] != 0) out += static_cast<char>(tails_[bi]);
    out += ':';
    if (bi < end_ - 1) {
      out.append(reinterpret_cast<const char*>(&digests_[(bi + 1) * kSpamsumLength]),
                 std::min<uint32_t>(dlens_[bi + 1], kSpamsumLength / 2 - 1));
      if (roll_sum != 0) out += kB64[State(bi + 1) >> kHalfShift];
      else if (halves_[bi + 1] != 0) out += static_cast<char>(halves_[bi + 1]);
    } else if (roll_sum != 0) {
      out += kB64[State(bi) & 63u];
    }
    return out;
  }

 private:
  void Trigger(int i) {
    const uint32_t dlen = dlens_[i];
    if (dlen == 0 && end_ < max_end_) {
      SetState(end_, State(end_ - 1));
      end_++;
    }
    const uint32_t state = State(i);
    tails_[i] = static_cast<uint8_t>(kB64[state & 63u]);
    halves_[i] = static_cast<uint8_t>(kB64[state >> kHalfShift]);
    if (dlen < kSpamsumLength - 1) {
      digests_[i * kSpamsumLength + dlen] = tails_[i];
      dlens_[i] = dlen + 1;
      tails_[i] = 0;
      if (dlen + 1 < kSpamsumLength / 2) {
        SetState(i, kPairInit);
        halves_[i] = 0;
      } else {
        SetState(i, (state & ~63u) | kHashInit);
      }
    } else if (end_ - start_ >= 2 && BlockSize(start_) * kSpamsumLength < total_size_ &&
               dlens_[start_ + 1] >= kSpamsumLength / 2) {
      start_++;
    }
  }

  uint64_t total_size_;
  RollingHash roll_;
  uint32_t State(int i) const { return static_cast<uint32_t>(words_[i >> 1] >> (32 * (i & 1))); }
  void SetState(int i, uint32_t state) {
    const int shift = 32 * (i & 1);
    words_[i >> 1] = (words_[i >> 1] & ~(uint64_t{0xffffffffu} << shift)) | (uint64_t{state} << shift);
  }

  std::array<uint64_t, kWords> words_{};
  std::array<uint8_t, kNumBlockhashes * kSpamsumLength> digests_{};
  std::array<uint32_t, kNumBlockhashes> dlens_{};
  std::array<uint8_t, kNumBlockhashes> tails_{};
  std::array<uint8_t, kNumBlockhashes> halves_{};
  int start_ = 0;
  int end_ = 1;
  int max_end_ = kNumBlockhashes;
};

// ---------------------------------------------------------------------------------------------------------
// TLSH

constexpr size_t kTlshMinInput = 50;
constexpr int kEffBuckets = 128;
constexpr int kCodeSize = 32;

constexpr uint8_t kVTable[256] = {
    1,   87,  49,  12,  176, 178, 102, 166, 121, 193, 6,   84,  249, 230, 44,  163, 14,  197, 213, 181, 161, 85,
    218, 80,  64,  239, 24,  226, 236, 142, 38,  200, 110, 177, 104, 103, 141, 253, 255, 50,  77,  101, 81,  18,
    45,  96,  31,  222, 25,  107, 190, 70,  86,  237, 240, 34,  72,  242, 20,  214, 244, 227, 149, 235, 97,  234,
    57,  22,  60,  250, 82,  175, 208, 5,   127, 199, 111, 62,  135, 248, 174, 169, 211, 58,  66,  154, 106, 195,
    245, 171, 17,  187, 182, 179, 0,   243, 132, 56,  148, 75,  128, 133, 158, 100, 130, 126, 91,  13,  153, 246,
    216, 219, 119, 68,  223, 78,  83,  88,  201, 99,  122, 11,  92,  32,  136, 114, 52,  10,  138, 30,  48,  183,
    156, 35,  61,  26,  143, 74,  251, 94,  129, 162, 63,  152, 170, 7,   115, 167, 241, 206, 3,   150, 55,  59,
    151, 220, 90,  53,  23,  131, 125, 173, 15,  238, 79,  95,  89,  16,  105, 137, 225, 224, 217, 160, 37,  123,
    118, 73,  2,   157, 46,  116, 9,   145, 134, 228, 207, 212, 202, 215, 69,  229, 27,  188, 67,  124, 168, 252,
    42,  4,   29,  108, 21,  247, 19,  205, 39,  203, 233, 40,  186, 147, 198, 192, 155, 33,  164, 191, 98,  204,
    165, 180, 117, 76,  140, 36,  210, 172, 41,  54,  159, 8,   185, 232, 113, 196, 231, 47,  146, 120, 51,  65,
    28,  144, 254, 221, 93,  189, 194, 139, 112, 43,  71,  109, 184, 209,
};

// First two Pearson steps per salt (0: checksum; 2, 3, 5, 7, 11, 13: buckets), as the TypeScript twin does.
struct SaltTables {
  uint8_t s[7][256];
  SaltTables() {
    const uint8_t salts[7] = {0, 2, 3, 5, 7, 11, 13};
    for (int t = 0; t < 7; t++)
      for (int a = 0; a < 256; a++) s[t][a] = kVTable[kVTable[salts[t]] ^ a];
  }
};
const SaltTables kSalt;

/*
 * Largest length whose length byte is <= the index (the reference's `topval`), generated from the TypeScript
 * `lengthCapture` for every length under 2^32 and checked against the reference `l_capturing` built with glibc:
 * a table gives the same answer whatever the C library's logf() rounds to. The property test compares every step
 * with the TypeScript formula through TlshLengthCapture.
 */
constexpr uint32_t kLengthSteps[] = {
    1u, 2u, 3u, 5u, 7u, 11u, 17u, 25u,
    38u, 57u, 86u, 129u, 194u, 291u, 437u, 656u,
    854u, 1110u, 1443u, 1876u, 2439u, 3171u, 3475u, 3823u,
    4205u, 4626u, 5088u, 5597u, 6157u, 6772u, 7450u, 8195u,
    9014u, 9916u, 10907u, 11998u, 13198u, 14518u, 15970u, 17567u,
    19323u, 21256u, 23382u, 25720u, 28292u, 31121u, 34233u, 37656u,
    41422u, 45564u, 50121u, 55133u, 60646u, 66711u, 73382u, 80721u,
    88793u, 97672u, 107439u, 118183u, 130002u, 143002u, 157302u, 173032u,
    190335u, 209369u, 230306u, 253337u, 278670u, 306538u, 337191u, 370911u,
    408002u, 448802u, 493682u, 543050u, 597356u, 657091u, 722800u, 795081u,
    874589u, 962048u, 1058252u, 1164078u, 1280486u, 1408534u, 1549388u, 1704327u,
    1874759u, 2062236u, 2268459u, 2495305u, 2744836u, 3019320u, 3321252u, 3653374u,
    4018711u, 4420582u, 4862641u, 5348905u, 5883796u, 6472176u, 7119394u, 7831333u,
    8614467u, 9475909u, 10423501u, 11465851u, 12612437u, 13873681u, 15261050u, 16787154u,
    18465870u, 20312458u, 22343706u, 24578077u, 27035886u, 29739474u, 32713425u, 35984770u,
    39583245u, 43541573u, 47895730u, 52685306u, 57953837u, 63749221u, 70124148u, 77136564u,
    84850228u, 93335252u, 102668779u, 112935659u, 124229227u, 136652151u, 150317384u, 165349128u,
    181884040u, 200072456u, 220079703u, 242087671u, 266296456u, 292926096u, 322218735u, 354440623u,
    389884688u, 428873168u, 471760495u, 518936559u, 570830240u, 627913311u, 690704607u, 759775136u,
    835752671u, 919327967u, 1011260767u, 1112386880u, 1223623232u, 1345985727u, 1480584256u, 1628642751u,
    1791507135u, 1970657856u, 2167723648u, 2384496256u, 2622945920u, 2885240448u, 3173764736u, 3491141248u,
    3840255616u, 4224281216u
};

inline uint8_t V(uint8_t index) { return kVTable[index]; }

class Tlsh {
 public:
  // One byte at `pos` >= 4: the window's older bytes are read back from the buffer, so the only state carried
  // from byte to byte is the checksum, kept in the caller's local.
  inline void Step(const uint8_t* data, size_t pos, uint32_t& checksum) {
    const uint8_t w0 = data[pos];
    const uint8_t w1 = data[pos - 1];
    const uint8_t w2 = data[pos - 2];
    const uint8_t w3 = data[pos - 3];
    const uint8_t w4 = data[pos - 4];
    checksum = V(V(kSalt.s[0][w0] ^ w1) ^ checksum);
    const uint32_t r0 = V(V(kSalt.s[1][w0] ^ w1) ^ w2);
    const uint32_t r1 = V(V(kSalt.s[2][w0] ^ w1) ^ w3);
    const uint32_t r2 = V(V(kSalt.s[3][w0] ^ w2) ^ w3);
    const uint32_t r3 = V(V(kSalt.s[4][w0] ^ w2) ^ w4);
    const uint32_t r4 = V(V(kSalt.s[5][w0] ^ w1) ^ w4);
    const uint32_t r5 = V(V(kSalt.s[6][w0] ^ w3) ^ w4);
    uint32_t* buckets = buckets_.data();
    buckets[r0]++;
    buckets[r1]++;
    buckets[r2]++;
    buckets[r3]++;
    buckets[r4]++;
    buckets[r5]++;
  }

  void SetChecksum(uint32_t checksum) { checksum_ = checksum; }

  // Empty when TLSH does not apply (half or more of the 128 effective buckets empty).
  std::string Digest(uint64_t length) const {
    int non_zero = 0;
    for (int i = 0; i < kEffBuckets; i++) non_zero += buckets_[i] > 0 ? 1 : 0;
    if (non_zero <= kEffBuckets / 2) return std::string();

    std::array<uint32_t, kEffBuckets> sorted;
    std::copy(buckets_.begin(), buckets_.begin() + kEffBuckets, sorted.begin());
    std::sort(sorted.begin(), sorted.end());
    const uint32_t q1 = sorted[kEffBuckets / 4 - 1];
    const uint32_t q2 = sorted[kEffBuckets / 2 - 1];
    const uint32_t q3 = sorted[kEffBuckets - kEffBuckets / 4 - 1];

    uint8_t code[kCodeSize];
    for (int i = 0; i < kCodeSize; i++) {
      uint32_t h = 0;
      for (int j = 0; j < 4; j++) {
        const uint32_t k = buckets_[4 * i + j];
        if (q3 < k) h += 3u << (j * 2);
        else if (q2 < k) h += 2u << (j * 2);
        else if (q1 < k) h += 1u << (j * 2);
      }
      code[i] = static_cast<uint8_t>(h);
    }

    // Single precision as the reference (and Math.fround in the twin); q * 100 is exact in double.
    const uint32_t q1_ratio = static_cast<uint32_t>(std::floor(static_cast<float>(q1 * 100.0) / static_cast<float>(q3))) % 16u;
    const uint32_t q2_ratio = static_cast<uint32_t>(std::floor(static_cast<float>(q2 * 100.0) / static_cast<float>(q3))) % 16u;
    const uint32_t q_byte = (q2_ratio << 4) | q1_ratio;

    std::string out = "T1";
    AppendHex(out, SwapNibbles(checksum_));
    AppendHex(out, SwapNibbles(TlshLengthCapture(length)));
    AppendHex(out, SwapNibbles(q_byte));
    for (int i = kCodeSize - 1; i >= 0; i--) AppendHex(out, code[i]);
    return out;
  }

 private:
  static uint32_t SwapNibbles(uint32_t value) { return ((value & 0x0fu) << 4) | ((value & 0xf0u) >> 4); }
  static void AppendHex(std::string& out, uint32_t value) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    out += kHex[(value >> 4) & 15u];
    out += kHex[value & 15u];
  }

  uint32_t checksum_ = 0;
  std::array<uint32_t, 256> buckets_{};
};

// ---------------------------------------------------------------------------------------------------------
// N-API

Napi::Value FuzzyHashesJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(env, "fuzzyHashes expects a Uint8Array");
  }
  const Napi::Uint8Array bytes = info[0].As<Napi::Uint8Array>();
  const size_t length = bytes.ElementLength();
  if (length > 0xffffffffu) throw Napi::RangeError::New(env, "fuzzyHashes accepts at most 2^32 - 1 bytes");
  // Zero-copy: the analyser runs synchronously, so the buffer cannot be detached or resized under us.
  const FuzzyHashes hashes = ComputeFuzzyHashes(bytes.Data(), length);
  Napi::Object out = Napi::Object::New(env);
  out.Set("ssdeep", Napi::String::New(env, hashes.ssdeep));
  out.Set("tlsh", hashes.tlsh.empty() ? env.Null() : Napi::String::New(env, hashes.tlsh));
  return out;
}

Napi::Value TlshLengthCaptureJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "tlshLengthCapture expects a number");
  const double length = info[0].As<Napi::Number>().DoubleValue();
  if (!(length >= 1 && length <= 4294967295.0) || std::floor(length) != length) {
    throw Napi::RangeError::New(env, "tlshLengthCapture expects an integer in [1, 2^32 - 1]");
  }
  return Napi::Number::New(env, TlshLengthCapture(static_cast<uint64_t>(length)));
}

}  // namespace

uint32_t TlshLengthCapture(uint64_t length) {
  const uint32_t* end = std::end(kLengthSteps);
  return static_cast<uint32_t>(std::lower_bound(std::begin(kLengthSteps), end, length) - std::begin(kLengthSteps)) & 0xffu;
}

FuzzyHashes ComputeFuzzyHashes(const uint8_t* data, size_t length) {
  Spamsum spamsum(length);
  FuzzyHashes out;
  if (length < kTlshMinInput) {
    spamsum.Update(data, 0, length);
    out.ssdeep = spamsum.Digest();
    return out;
  }
  spamsum.Update(data, 0, 4);
  // One loop for both: their serial dependency chains (FNV states, the TLSH checksum) overlap in the CPU.
  Tlsh tlsh;
  RollingHash roll = spamsum.roll();
  uint32_t checksum = 0;
  for (size_t pos = 4; pos < kRollingWindow; pos++) {
    spamsum.Step(data[pos], Spamsum::Leaving(data, pos), roll);
    tlsh.Step(data, pos, checksum);
  }
  for (size_t pos = kRollingWindow; pos < length; pos++) {
    spamsum.Step(data[pos], data[pos - kRollingWindow], roll);
    tlsh.Step(data, pos, checksum);
  }
  spamsum.set_roll(roll);
  tlsh.SetChecksum(checksum);
  out.ssdeep = spamsum.Digest();
  out.tlsh = tlsh.Digest(length);
  return out;
}

void RegisterFuzzyHash(Napi::Env env, Napi::Object exports) {
  exports.Set("fuzzyHashes", Napi::Function::New(env, FuzzyHashesJs, "fuzzyHashes"));
  exports.Set("tlshLengthCapture", Napi::Function::New(env, TlshLengthCaptureJs, "tlshLengthCapture"));
}

}  // namespace malpipe
