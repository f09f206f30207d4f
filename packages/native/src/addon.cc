// One addon for the accelerators; each source file registers its own functions.
#include <napi.h>

#include "beacon-scan.h"
#include "fuzzy-hash.h"

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  malpipe::RegisterBeaconScan(env, exports);
  malpipe::RegisterFuzzyHash(env, exports);
  return exports;
}

NODE_API_MODULE(malpipe_native, Init)
