// The addon's JS surface, one registration function per concern (see addon.cc).
#pragma once

#include <napi.h>

namespace dicap {

void RegisterSelectionBindings(Napi::Env env, Napi::Object exports);
void RegisterEngineBindings(Napi::Env env, Napi::Object exports);
void RegisterOwnerBindings(Napi::Env env, Napi::Object exports);
void RegisterInjectorBindings(Napi::Env env, Napi::Object exports);
void RegisterCaptureFileBindings(Napi::Env env, Napi::Object exports);
void RegisterAnalyzerBindings(Napi::Env env, Napi::Object exports);
void RegisterGenBindings(Napi::Env env, Napi::Object exports);
void RegisterOffloadBindings(Napi::Env env, Napi::Object exports);
void RegisterPrivilegesBindings(Napi::Env env, Napi::Object exports);

}  // namespace dicap
