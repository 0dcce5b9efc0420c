#include "topology_js.h"

#include <arpa/inet.h>

#include <string>
#include <vector>

#include "errors.h"
#include "js_arrays.h"

namespace dicap {

namespace {

uint32_t U32(Napi::Env env, const Napi::Object& object, const char* key) {
  Napi::Value value = object.Get(key);
  DICAP_REQUIRE(env, value.IsNumber(), std::string("topology.") + key + " must be a number");
  return value.As<Napi::Number>().Uint32Value();
}

std::string IpToString(uint32_t ip) {
  char text[INET_ADDRSTRLEN];
  in_addr address{htonl(ip)};
  inet_ntop(AF_INET, &address, text, sizeof text);
  return text;
}

}  // namespace

TopologyPtr TopologyFromJs(Napi::Env env, const Napi::Object& object) {
  SelectionMode mode;
  Napi::Value mode_value = object.Get("mode");
  DICAP_REQUIRE(env,
                mode_value.IsString() && ParseSelectionMode(mode_value.As<Napi::String>().Utf8Value(), &mode),
                "topology.mode must be 'round-robin', 'ipid' or 'flow'");

  Napi::Value ids_value = object.Get("nodeIds");
  DICAP_REQUIRE(env, ids_value.IsArray(), "topology.nodeIds must be an array");
  Napi::Array ids = ids_value.As<Napi::Array>();
  DICAP_REQUIRE(env, ids.Length() > 0 && ids.Length() <= 65536,
                "topology.nodeIds must hold 1..65536 node IDs");
  std::vector<uint32_t> node_ids;
  for (uint32_t i = 0; i < ids.Length(); ++i) {
    Napi::Value id = ids.Get(i);
    DICAP_REQUIRE(env, id.IsNumber(), "topology.nodeIds must hold numbers");
    node_ids.push_back(id.As<Napi::Number>().Uint32Value());
  }

  std::vector<AnalyzerAddress> analyzers;
  Napi::Value analyzers_value = object.Get("analyzers");
  DICAP_REQUIRE(env, analyzers_value.IsArray(), "topology.analyzers must be an array");
  Napi::Array list = analyzers_value.As<Napi::Array>();
  for (uint32_t i = 0; i < list.Length(); ++i) {
    Napi::Value item = list.Get(i);
    DICAP_REQUIRE(env, item.IsObject(), "topology.analyzers must hold { ip, port } objects");
    Napi::Object analyzer = item.As<Napi::Object>();
    Napi::Value ip_value = analyzer.Get("ip");
    in_addr address{};
    DICAP_REQUIRE(env,
                  ip_value.IsString() &&
                      inet_pton(AF_INET, ip_value.As<Napi::String>().Utf8Value().c_str(), &address) == 1,
                  "topology.analyzers[].ip must be an IPv4 address");
    const uint32_t port = U32(env, analyzer, "port");
    DICAP_REQUIRE(env, port >= 1 && port <= 65535, "topology.analyzers[].port must be 1..65535");
    analyzers.push_back({ntohl(address.s_addr), static_cast<uint16_t>(port)});
  }

  uint64_t validity_start_ns = 0;
  Napi::Value validity = object.Get("validityStartNs");
  if (validity.IsBigInt()) {
    bool lossless = true;
    validity_start_ns = validity.As<Napi::BigInt>().Uint64Value(&lossless);
  }

  return std::make_shared<const Topology>(
      U32(env, object, "term"), U32(env, object, "epoch"), mode, std::move(node_ids), U32(env, object, "k0"),
      U32(env, object, "k1"), validity_start_ns, std::move(analyzers), U32(env, object, "snaplen"));
}

Napi::Object AnalyzerToJs(Napi::Env env, uint32_t ip, uint16_t port) {
  Napi::Object analyzer = Napi::Object::New(env);
  analyzer.Set("ip", IpToString(ip));
  analyzer.Set("port", port);
  return analyzer;
}

Napi::Object TopologyToJs(Napi::Env env, const Topology& topology) {
  Napi::Object object = Napi::Object::New(env);
  object.Set("term", topology.term);
  object.Set("epoch", topology.epoch);
  object.Set("mode", SelectionModeName(topology.mode));
  object.Set("nodeIds",
             ArrayToJs(env, topology.node_ids, [&](uint32_t id) { return Napi::Number::New(env, id); }));
  object.Set("k0", topology.k0);
  object.Set("k1", topology.k1);
  object.Set("validityStartNs", Napi::BigInt::New(env, topology.validity_start_ns));
  object.Set("analyzers", ArrayToJs(env, topology.analyzers, [&](const AnalyzerAddress& address) {
               return AnalyzerToJs(env, address.ip, address.port);
             }));
  object.Set("snaplen", topology.snaplen);
  return object;
}

}  // namespace dicap
