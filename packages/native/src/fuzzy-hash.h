#pragma once
#include <napi.h>

namespace malpipe {
void RegisterFuzzyHash(Napi::Env env, Napi::Object exports);
}
