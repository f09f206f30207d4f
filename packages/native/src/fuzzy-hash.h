#pragma once
#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace malpipe {

/** Both fuzzy hashes of one buffer; `tlsh` is empty when TLSH does not apply (short or low-variety input). */
struct FuzzyHashes {
  std::string ssdeep;
  std::string tlsh;
};

/**
 * ssdeep (as the ssdeep 2.14 CLI prints it) and TLSH 4.x ("T1" + 70 hex digits) of `data`, in one pass over it.
 * Twins of packages/analyzers/src/hashes/{ssdeep,tlsh}-hash.ts, which stay the reference.
 */
FuzzyHashes ComputeFuzzyHashes(const uint8_t* data, size_t length);

/** TLSH's log-scale length byte; exported so a test can compare every step with the TypeScript formula. */
uint32_t TlshLengthCapture(uint64_t length);

void RegisterFuzzyHash(Napi::Env env, Napi::Object exports);
}  // namespace malpipe
