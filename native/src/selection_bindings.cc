#include "bindings.h"
namespace dicap {
void RegisterSelectionBindings(Napi::Env env, Napi::Object exports) {}
}
