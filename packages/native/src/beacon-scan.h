#pragma once
#include <napi.h>

namespace malpipe {
void RegisterBeaconScan(Napi::Env env, Napi::Object exports);
}
