#include "fuzzy-hash.h"

namespace malpipe {
void RegisterFuzzyHash(Napi::Env, Napi::Object) {}
}
