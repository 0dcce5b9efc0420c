// Topology <-> JavaScript object, shared by the engine and owner bindings.
// JS shape (validated in TypeScript before it gets here):
//   { term, epoch, mode: 'round-robin'|'ipid'|'flow', nodeIds: number[], k0, k1,
//     validityStartNs: bigint (0n = at once), analyzers: [{ ip: 'a.b.c.d', port }], snaplen }
#pragma once

#include <napi.h>

#include <cstdint>

#include "topology.h"

namespace dicap {

TopologyPtr TopologyFromJs(Napi::Env env, const Napi::Object& object);
Napi::Object TopologyToJs(Napi::Env env, const Topology& topology);
// An analyzer's address as JS { ip: 'a.b.c.d', port } (both in host byte order here).
Napi::Object AnalyzerToJs(Napi::Env env, uint32_t ip, uint16_t port);

}  // namespace dicap
