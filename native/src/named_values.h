// Names of enum values (and of codes such as pcap link types) as tables of {value, name}
// pairs with one lookup: a table reads as the mapping it is, adding a value is one entry,
// and a reordered enum keeps its names. Lookups are linear: these tables are short and read
// for counters, logs and errors, never per frame.
#pragma once

#include <cstddef>
#include <string_view>

namespace dicap {

template <typename Value>
struct NamedValue {
  Value value;
  const char* name;
};

// The name `table` gives `value`, or `unknown` when it has none.
template <typename Value, size_t N>
constexpr const char* NameOf(const NamedValue<Value> (&table)[N], Value value, const char* unknown) {
  for (const NamedValue<Value>& entry : table)
    if (entry.value == value) return entry.name;
  return unknown;
}

// Sets `*out` to the value `table` names `name`; false when it names none.
template <typename Value, size_t N>
constexpr bool ValueNamed(const NamedValue<Value> (&table)[N], std::string_view name, Value* out) {
  for (const NamedValue<Value>& entry : table) {
    if (entry.name == name) {
      *out = entry.value;
      return true;
    }
  }
  return false;
}

}  // namespace dicap
