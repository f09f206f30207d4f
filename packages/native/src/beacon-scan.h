#pragma once
#include <napi.h>

namespace malpipe {
// scanBeaconStructures: the prefilter of packages/analyzers/src/cobaltstrike/find-config-blocks.ts (XOR'd config
// headers with any key, aligned u32 1 probes for runtime settings arrays), same results, AVX2 when the CPU has it.
void RegisterBeaconScan(Napi::Env env, Napi::Object exports);
}
