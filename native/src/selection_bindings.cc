// JS access to the selection hashes and the control-message decoder, for tests, the
// `dicap proto` tools and cross-checks against the TypeScript implementation. The packet
// path calls the C++ functions directly; nothing here runs per frame in production.
#include <napi.h>

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "bindings.h"
#include "control_message.h"
#include "errors.h"
#include "flow_owner_table.h"
#include "frame_key.h"
#include "js_arrays.h"
#include "topology_js.h"

namespace dicap {
namespace {

uint32_t Uint32Arg(const Napi::CallbackInfo& info, size_t index, const char* name,
                   uint32_t max = 0xFFFFFFFFu) {
  Napi::Env env = info.Env();
  const bool is_number = info.Length() > index && info[index].IsNumber();
  const double value = is_number ? info[index].As<Napi::Number>().DoubleValue() : -1;
  DICAP_REQUIRE(env, is_number && value >= 0 && value <= max && std::floor(value) == value,
                std::string(name) + " must be an integer in 0.." + std::to_string(max));
  return static_cast<uint32_t>(value);
}

Napi::Buffer<uint8_t> BufferArg(const Napi::CallbackInfo& info, size_t index, const char* name) {
  DICAP_REQUIRE(info.Env(), info.Length() > index && info[index].IsBuffer(),
                std::string(name) + " must be a Buffer");
  return info[index].As<Napi::Buffer<uint8_t>>();
}

// flowHash(frame: Buffer, k0: number): number
Napi::Value FlowHashBinding(const Napi::CallbackInfo& info) {
  Napi::Buffer<uint8_t> frame = BufferArg(info, 0, "frame");
  const uint32_t k0 = Uint32Arg(info, 1, "k0");
  return Napi::Number::New(info.Env(), FlowHash(ParseFrameKey(frame.Data(), frame.Length()), k0));
}

// ipidHash(id: number, k0: number): number
Napi::Value IpidHashBinding(const Napi::CallbackInfo& info) {
  const uint32_t id = Uint32Arg(info, 0, "id", 0xFFFF);
  const uint32_t k0 = Uint32Arg(info, 1, "k0");
  return Napi::Number::New(info.Env(), IpidHash(static_cast<uint16_t>(id), k0));
}

// parseFrameKey(frame: Buffer): { a, p, proto, hasIpv4Id, ipv4Id, ethertype, l3Offset }
Napi::Value ParseFrameKeyBinding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Buffer<uint8_t> frame = BufferArg(info, 0, "frame");
  const FrameKey key = ParseFrameKey(frame.Data(), frame.Length());
  Napi::Object result = Napi::Object::New(env);
  result.Set("a", Napi::Number::New(env, key.a));
  result.Set("p", Napi::Number::New(env, key.p));
  result.Set("proto", Napi::Number::New(env, key.proto));
  result.Set("hasIpv4Id", Napi::Boolean::New(env, key.has_ipv4_id));
  result.Set("ipv4Id", Napi::Number::New(env, key.ipv4_id));
  result.Set("ethertype", Napi::Number::New(env, key.ethertype));
  result.Set("l3Offset", Napi::Number::New(env, key.l3_offset));
  return result;
}

// flowOwnerPosition(bucket: number, nodeIds: number[], k1: number): number
// Builds a whole FlowOwnerTable per call: fine for tests and tools, not for loops.
Napi::Value FlowOwnerPositionBinding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint32_t bucket = Uint32Arg(info, 0, "bucket", FlowOwnerTable::kBuckets - 1);
  DICAP_REQUIRE(env, info.Length() > 1 && info[1].IsArray(), "nodeIds must be an array of node IDs");
  Napi::Array ids = info[1].As<Napi::Array>();
  DICAP_REQUIRE(env, ids.Length() >= 1 && ids.Length() <= FlowOwnerTable::kMaxNodes,
                "nodeIds must hold 1.." + std::to_string(FlowOwnerTable::kMaxNodes) + " node IDs");
  std::vector<uint32_t> node_ids;
  node_ids.reserve(ids.Length());
  for (uint32_t i = 0; i < ids.Length(); ++i) {
    Napi::Value id = ids.Get(i);
    const double value = id.IsNumber() ? id.As<Napi::Number>().DoubleValue() : -1;
    DICAP_REQUIRE(env, value >= 0 && value <= 0xFFFFFFFFu && std::floor(value) == value,
                  "nodeIds[" + std::to_string(i) + "] must be an integer in 0..4294967295");
    node_ids.push_back(static_cast<uint32_t>(value));
  }
  const uint32_t k1 = Uint32Arg(info, 2, "k1");
  return Napi::Number::New(env, FlowOwnerTable(node_ids, k1).PositionOfBucket(bucket));
}

Napi::Object TopologyToObject(Napi::Env env, const TopologyUpdate& topology) {
  Napi::Object result = Napi::Object::New(env);
  result.Set("term", Napi::Number::New(env, topology.term));
  result.Set("epoch", Napi::Number::New(env, topology.epoch));
  result.Set("selectionType", Napi::Number::New(env, topology.selection_type));
  result.Set("validityStartMs", Napi::Number::New(env, static_cast<double>(topology.validity_start_ms)));
  result.Set("nodeIds",
             ArrayToJs(env, topology.node_ids, [&](uint32_t id) { return Napi::Number::New(env, id); }));
  result.Set("analyzers",
             ArrayToJs(env, topology.analyzers, [&](const std::pair<uint32_t, uint16_t>& address) {
               return AnalyzerToJs(env, address.first, address.second);
             }));
  result.Set("k0", Napi::Number::New(env, topology.k0));
  result.Set("k1", Napi::Number::New(env, topology.k1));
  result.Set("snaplen", Napi::Number::New(env, topology.snaplen));
  result.Set("timestamp", Napi::Number::New(env, topology.timestamp));
  result.Set("senderSeq", Napi::Number::New(env, topology.sender_seq));
  return result;
}

Napi::Object DecodeFailure(Napi::Env env, ControlError error) {
  Napi::Object result = Napi::Object::New(env);
  result.Set("ok", Napi::Boolean::New(env, false));
  result.Set("code", Napi::String::New(env, ControlErrorCode(error)));
  result.Set("reason", Napi::String::New(env, ControlErrorReason(error)));
  return result;
}

// decodeInbandTopology(bytes: Buffer, key: Buffer):
//   { ok: true, timestamp, senderSeq, topology } | { ok: false, code, reason }
// `ok` means an authentic, well-formed TOPOLOGY_UPDATE under `key`: what the selector
// would adopt from an in-band frame, but for freshness (isControlTimestampFresh).
Napi::Value DecodeInbandTopologyBinding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Buffer<uint8_t> bytes = BufferArg(info, 0, "bytes");
  Napi::Buffer<uint8_t> key = BufferArg(info, 1, "key");
  TopologyUpdate topology;
  const ControlError error =
      DecodeInbandTopology(bytes.Data(), bytes.Length(), key.Data(), key.Length(), &topology);
  if (error != ControlError::kNone) return DecodeFailure(env, error);
  Napi::Object result = Napi::Object::New(env);
  result.Set("ok", Napi::Boolean::New(env, true));
  result.Set("timestamp", Napi::Number::New(env, topology.timestamp));
  result.Set("senderSeq", Napi::Number::New(env, topology.sender_seq));
  result.Set("topology", TopologyToObject(env, topology));
  return result;
}

// isControlTimestampFresh(timestamp: number, nowSeconds: number): boolean — the §1.1
// clock-skew rule, so tests can show a replayed message is rejected as stale.
Napi::Value IsControlTimestampFreshBinding(const Napi::CallbackInfo& info) {
  const uint32_t timestamp = Uint32Arg(info, 0, "timestamp");
  Napi::Env env = info.Env();
  const bool is_number = info.Length() > 1 && info[1].IsNumber();
  const double now = is_number ? info[1].As<Napi::Number>().DoubleValue() : -1;
  DICAP_REQUIRE(env, now >= 0 && now <= 9007199254740991.0 && std::floor(now) == now,
                "nowSeconds must be a non-negative integer (Unix seconds)");
  return Napi::Boolean::New(env, IsTimestampFresh(timestamp, static_cast<uint64_t>(now)));
}

}  // namespace

void RegisterSelectionBindings(Napi::Env env, Napi::Object exports) {
  exports.Set("flowHash", Napi::Function::New(env, FlowHashBinding, "flowHash"));
  exports.Set("ipidHash", Napi::Function::New(env, IpidHashBinding, "ipidHash"));
  exports.Set("parseFrameKey", Napi::Function::New(env, ParseFrameKeyBinding, "parseFrameKey"));
  exports.Set("flowOwnerPosition", Napi::Function::New(env, FlowOwnerPositionBinding, "flowOwnerPosition"));
  exports.Set("decodeInbandTopology",
              Napi::Function::New(env, DecodeInbandTopologyBinding, "decodeInbandTopology"));
  exports.Set("isControlTimestampFresh",
              Napi::Function::New(env, IsControlTimestampFreshBinding, "isControlTimestampFresh"));
}

}  // namespace dicap
