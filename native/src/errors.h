// One error type for the whole addon, mirrored by DicapError in common/errors.ts
// (the native/*.ts wrappers rethrow it there):
// every failure carries a stable `code` so callers branch on codes, not on text.
#pragma once

#include <napi.h>

#include <exception>
#include <string>

// Argument guards for bindings: JS already validated options, these catch misuse.
#define DICAP_REQUIRE(env, cond, message)                                          \
  do {                                                                             \
    if (!(cond)) ::dicap::ThrowDicapError((env), "DICAP_ERR_ARGUMENT", (message)); \
  } while (0)

namespace dicap {

// Throws a JS Error whose `code` is a stable DICAP_ERR_* string.
[[noreturn]] inline void ThrowDicapError(Napi::Env env, const char* code, const std::string& message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Value().Set("code", Napi::String::New(env, code));
  throw error;
}

// What `call()` returns; a std::exception it throws (the native classes' one-line failures)
// becomes a DicapError with `code`.
template <typename Call>
auto WithDicapError(Napi::Env env, const char* code, Call call) -> decltype(call()) {
  try {
    return call();
  } catch (const std::exception& error) {
    ThrowDicapError(env, code, error.what());
  }
}

// The one argument of a call that takes an object (options, a topology); `usage` is the
// error when the call has other arguments.
inline Napi::Object OnlyObjectArg(const Napi::CallbackInfo& info, const char* usage) {
  DICAP_REQUIRE(info.Env(), info.Length() == 1 && info[0].IsObject(), usage);
  return info[0].As<Napi::Object>();
}

}  // namespace dicap
