// The JS face of KernelSelection, and how the engine bindings get the C++ object behind one.
#pragma once

#include <napi.h>

#include <memory>

#include "kernel_selection.h"

namespace dicap {

void RegisterKernelSelectionBindings(Napi::Env env, Napi::Object exports);
// The object behind a JS KernelSelection; throws DICAP_ERR_ARGUMENT for anything else.
std::shared_ptr<KernelSelection> KernelSelectionOf(Napi::Env env, const Napi::Value& value);
Napi::Object KernelCountersToJs(Napi::Env env, const KernelCounters& counters);

}  // namespace dicap
