// Counter structs added field by field. A struct lists its counters once, in a static
// `template <typename Self> static auto Fields(Self& c)` that returns std::tie of them, and
// AddCounts(sum, add) adds each one. `add` may be any struct with the same member names (the
// BPF program's per-CPU counters, say); a field that is itself such a struct is added field
// by field. Read paths only (counters(), once per scrape or status line), never per frame.
#pragma once

#include <tuple>
#include <type_traits>

namespace dicap {

template <typename Sum, typename Add>
void AddCounts(Sum& sum, const Add& add);

template <typename To, typename From>
void AddField(To& to, const From& from) {
  if constexpr (std::is_arithmetic_v<To>) {
    to += from;
  } else {
    AddCounts(to, from);
  }
}

template <typename Sum, typename Add>
void AddCounts(Sum& sum, const Add& add) {
  std::apply(
      [&](auto&... to) {
        std::apply([&](const auto&... from) { (AddField(to, from), ...); }, Sum::Fields(add));
      },
      Sum::Fields(sum));
}

}  // namespace dicap
