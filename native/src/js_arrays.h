// Native lists as JS arrays, for the bindings' counters and topologies.
#pragma once

#include <napi.h>

#include <cstdint>

namespace dicap {

// A JS array of `items`, each converted by `to_js(item)`.
template <typename Items, typename ToJs>
Napi::Array ArrayToJs(Napi::Env env, const Items& items, ToJs to_js) {
  Napi::Array array = Napi::Array::New(env, items.size());
  uint32_t i = 0;
  for (const auto& item : items) array.Set(i++, to_js(item));
  return array;
}

}  // namespace dicap
