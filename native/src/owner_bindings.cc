// `ownersOfFile`: the owner position of every frame of a capture file, computed by the
// engine's own Selector, for `dicap owner` and the tests that check the engine.
#include <string>
#include <vector>

#include "bindings.h"
#include "capture_file.h"
#include "errors.h"
#include "selector.h"
#include "topology_js.h"

namespace dicap {

namespace {

// ownersOfFile(path, topology, clusterKey?: Buffer) →
//   { positions: Int32Array (-1: an in-band control frame), error: string | null }
Napi::Value OwnersOfFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  DICAP_REQUIRE(env, info.Length() >= 2 && info[0].IsString() && info[1].IsObject(),
                "ownersOfFile(path, topology, clusterKey?) expects a path and a topology");
  std::vector<uint8_t> key;
  if (info.Length() > 2 && info[2].IsBuffer()) {
    Napi::Buffer<uint8_t> bytes = info[2].As<Napi::Buffer<uint8_t>>();
    key.assign(bytes.Data(), bytes.Data() + bytes.Length());
  }
  CaptureFile file;
  if (!file.Open(info[0].As<Napi::String>().Utf8Value()))
    ThrowDicapError(env, "DICAP_ERR_CAPTURE_FILE", file.error());

  // Node ID 0 with an offered topology: the positions, not membership, are what we report.
  Selector selector(0, std::move(key));
  selector.Offer(TopologyFromJs(env, info[1].As<Napi::Object>()));
  std::vector<int32_t> positions;
  CapturedFrame frame;
  CaptureFile::Status status;
  while ((status = file.Next(&frame)) == CaptureFile::Status::kFrame) {
    const Classification decision = selector.Classify(frame.data, frame.cap_len, frame.ts_ns, false);
    positions.push_back(decision.control ? -1 : decision.position);
  }
  Napi::Int32Array array = Napi::Int32Array::New(env, positions.size());
  std::copy(positions.begin(), positions.end(), array.Data());
  Napi::Object result = Napi::Object::New(env);
  result.Set("positions", array);
  result.Set("error", status == CaptureFile::Status::kError
                          ? Napi::Value(Napi::String::New(env, file.error()))
                          : env.Null());
  return result;
}

}  // namespace

void RegisterOwnerBindings(Napi::Env env, Napi::Object exports) {
  exports.Set("ownersOfFile", Napi::Function::New(env, OwnersOfFile, "ownersOfFile"));
}

}  // namespace dicap
