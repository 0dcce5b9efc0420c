// Module entry: each concern registers its own bindings; nothing is kept in globals.
#include <napi.h>

#include "bindings.h"
#include "kernel_selection_bindings.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  dicap::RegisterSelectionBindings(env, exports);
  dicap::RegisterEngineBindings(env, exports);
  dicap::RegisterOwnerBindings(env, exports);
  dicap::RegisterInjectorBindings(env, exports);
  dicap::RegisterCaptureFileBindings(env, exports);
  dicap::RegisterAnalyzerBindings(env, exports);
  dicap::RegisterGenBindings(env, exports);
  dicap::RegisterKernelSelectionBindings(env, exports);
  dicap::RegisterOffloadBindings(env, exports);
  dicap::RegisterPrivilegesBindings(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(dicap_native, Init)
