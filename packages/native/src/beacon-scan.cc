#include "beacon-scan.h"

namespace malpipe {
void RegisterBeaconScan(Napi::Env, Napi::Object) {}
}
