// One error type for the whole addon, mirrored by DicapError in common/errors.ts
// (the native/*.ts wrappers rethrow it there):
// every failure carries a stable `code` so callers branch on codes, not on text.
#pragma once

#include <napi.h>

#include <string>

namespace dicap {

// Throws a JS Error whose `code` is a stable DICAP_ERR_* string.
[[noreturn]] inline void ThrowDicapError(Napi::Env env, const char* code, const std::string& message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Value().Set("code", Napi::String::New(env, code));
  throw error;
}

}  // namespace dicap

// Argument guards for bindings: JS already validated options, these catch misuse.
#define DICAP_REQUIRE(env, cond, message)                                          \
  do {                                                                             \
    if (!(cond)) ::dicap::ThrowDicapError((env), "DICAP_ERR_ARGUMENT", (message)); \
  } while (0)
