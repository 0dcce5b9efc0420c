// JS class `KernelSelection` over dicap::KernelSelection (native/src/kernel_selection.h).
// The engine bindings unwrap it (KernelSelectionOf) to hand the same object to an Engine.
#include "kernel_selection_bindings.h"

#include <memory>
#include <string>

#include "bindings.h"
#include "errors.h"
#include "topology_js.h"

namespace dicap {

namespace {

Napi::FunctionReference* constructor = nullptr;

XdpMode XdpModeFromJs(const Napi::Value& value) {
  const std::string name = value.IsString() ? value.As<Napi::String>().Utf8Value() : "";
  if (name == "native") return XdpMode::kNative;
  if (name == "generic") return XdpMode::kGeneric;
  return XdpMode::kNone;
}

class KernelSelectionWrap : public Napi::ObjectWrap<KernelSelectionWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "KernelSelection",
                       {InstanceMethod("stage", &KernelSelectionWrap::Stage),
                        InstanceMethod("attachXdp", &KernelSelectionWrap::AttachXdp),
                        InstanceMethod("detachXdp", &KernelSelectionWrap::DetachXdp),
                        InstanceMethod("testRunXdp", &KernelSelectionWrap::TestRunXdp),
                        InstanceMethod("counters", &KernelSelectionWrap::Counters),
                        InstanceMethod("close", &KernelSelectionWrap::Close),
                        StaticMethod("removeStaleXdp", &KernelSelectionWrap::RemoveStaleXdp)});
  }

  // new KernelSelection({ objectPath, nodeId, snaplen, guardNs: bigint })
  explicit KernelSelectionWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<KernelSelectionWrap>(info) {
    Napi::Env env = info.Env();
    const Napi::Object o = OnlyObjectArg(info, "new KernelSelection(options) expects an object");
    DICAP_REQUIRE(env,
                  o.Get("objectPath").IsString() && o.Get("nodeId").IsNumber() && o.Get("snaplen").IsNumber(),
                  "KernelSelection options need objectPath, nodeId and snaplen");
    bool lossless = true;
    const uint64_t guard_ns =
        o.Get("guardNs").IsBigInt() ? o.Get("guardNs").As<Napi::BigInt>().Uint64Value(&lossless) : 0;
    selection_ = WithDicapError(env, "DICAP_ERR_BPF", [&] {
      return std::make_shared<KernelSelection>(o.Get("objectPath").As<Napi::String>().Utf8Value(),
                                               o.Get("nodeId").As<Napi::Number>().Uint32Value(),
                                               o.Get("snaplen").As<Napi::Number>().Uint32Value(), guard_ns);
    });
  }

  std::shared_ptr<KernelSelection> selection() const { return selection_; }

 private:
  KernelSelection& Open(Napi::Env env) {
    DICAP_REQUIRE(env, selection_ != nullptr, "the kernel selection is closed");
    return *selection_;
  }

  // stage(topology, token: bigint)
  Napi::Value Stage(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    DICAP_REQUIRE(env, info.Length() == 2 && info[0].IsObject() && info[1].IsBigInt(),
                  "stage(topology, token) expects a topology and a bigint");
    bool lossless = true;
    const uint64_t token = info[1].As<Napi::BigInt>().Uint64Value(&lossless);
    const TopologyPtr topology = TopologyFromJs(env, info[0].As<Napi::Object>());
    WithDicapError(env, "DICAP_ERR_BPF", [&] { Open(env).Stage(topology, token); });
    return env.Undefined();
  }

  // attachXdp(interface, mode?: 'native' | 'generic') -> the mode in use
  Napi::Value AttachXdp(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    DICAP_REQUIRE(env, info.Length() >= 1 && info[0].IsString(), "attachXdp(interface) expects a name");
    const XdpMode mode = WithDicapError(env, "DICAP_ERR_BPF", [&] {
      return Open(env).AttachXdp(info[0].As<Napi::String>().Utf8Value(), XdpModeFromJs(info[1]));
    });
    return Napi::String::New(env, XdpModeName(mode));
  }

  Napi::Value DetachXdp(const Napi::CallbackInfo& info) {
    if (selection_) selection_->DetachXdp();
    return info.Env().Undefined();
  }

  // testRunXdp(frames: Buffer[]) -> Uint8Array, 1 where the program passed the frame
  Napi::Value TestRunXdp(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    DICAP_REQUIRE(env, info.Length() == 1 && info[0].IsArray(),
                  "testRunXdp(frames) expects an array of Buffers");
    const Napi::Array frames = info[0].As<Napi::Array>();
    Napi::Uint8Array out = Napi::Uint8Array::New(env, frames.Length());
    KernelSelection& selection = Open(env);
    for (uint32_t i = 0; i < frames.Length(); ++i) {
      const Napi::Value frame = frames.Get(i);
      DICAP_REQUIRE(env, frame.IsBuffer(), "testRunXdp(frames): every frame must be a Buffer");
      const auto bytes = frame.As<Napi::Buffer<uint8_t>>();
      const bool passed = WithDicapError(env, "DICAP_ERR_BPF", [&] {
        return selection.TestRunXdp(bytes.Data(), static_cast<uint32_t>(bytes.Length()));
      });
      out[i] = passed ? 1 : 0;
    }
    return out;
  }

  Napi::Value Counters(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return KernelCountersToJs(env, Open(env).Counters());
  }

  // Detaches and unloads; the engine keeps its own reference until it is stopped.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (selection_) selection_->DetachXdp();
    selection_.reset();
    return info.Env().Undefined();
  }

  static Napi::Value RemoveStaleXdp(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    DICAP_REQUIRE(env, info.Length() == 1 && info[0].IsString(), "removeStaleXdp(interface) expects a name");
    const bool removed = WithDicapError(env, "DICAP_ERR_BPF", [&] {
      return KernelSelection::RemoveStaleXdp(info[0].As<Napi::String>().Utf8Value());
    });
    return Napi::Boolean::New(env, removed);
  }

  std::shared_ptr<KernelSelection> selection_;
};

}  // namespace

Napi::Object KernelCountersToJs(Napi::Env env, const KernelCounters& c) {
  auto number = [](uint64_t v) { return static_cast<double>(v); };
  Napi::Object o = Napi::Object::New(env);
  Napi::Array epochs = Napi::Array::New(env, c.epochs.size());
  for (uint32_t i = 0; i < c.epochs.size(); ++i) {
    Napi::Object e = Napi::Object::New(env);
    e.Set("epoch", c.epochs[i].epoch);
    e.Set("seen", number(c.epochs[i].seen));
    e.Set("owned", number(c.epochs[i].owned));
    e.Set("notOwned", number(c.epochs[i].not_owned));
    epochs.Set(i, e);
  }
  o.Set("epochs", epochs);
  o.Set("undecided", number(c.undecided));
  o.Set("inband", number(c.inband));
  o.Set("switches", number(c.switches));
  return o;
}

std::shared_ptr<KernelSelection> KernelSelectionOf(Napi::Env env, const Napi::Value& value) {
  DICAP_REQUIRE(
      env,
      value.IsObject() && constructor != nullptr && value.As<Napi::Object>().InstanceOf(constructor->Value()),
      "kernelSelection must be a KernelSelection");
  std::shared_ptr<KernelSelection> selection =
      KernelSelectionWrap::Unwrap(value.As<Napi::Object>())->selection();
  DICAP_REQUIRE(env, selection != nullptr, "the kernel selection is closed");
  return selection;
}

void RegisterKernelSelectionBindings(Napi::Env env, Napi::Object exports) {
  Napi::Function function = KernelSelectionWrap::Define(env);
  constructor = new Napi::FunctionReference(Napi::Persistent(function));
  env.SetInstanceData(constructor);
  exports.Set("KernelSelection", function);
}

}  // namespace dicap
