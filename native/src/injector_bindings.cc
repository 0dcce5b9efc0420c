// JS class `FrameInjector`: sends single frames out of an interface (the coordinator's
// in-band topology frames, SPEC.md §2). A handful of frames per minute, so it runs on
// the JS thread; it reuses the traffic generator's AF_PACKET sender.
#include <cstring>
#include <memory>
#include <string>

#include "bindings.h"
#include "errors.h"
#include "traffic_sender.h"

namespace dicap {

namespace {

class FrameInjectorWrap : public Napi::ObjectWrap<FrameInjectorWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "FrameInjector",
                       {InstanceMethod("send", &FrameInjectorWrap::Send),
                        InstanceMethod("close", &FrameInjectorWrap::Close)});
  }

  // new FrameInjector(interfaceName)
  explicit FrameInjectorWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<FrameInjectorWrap>(info) {
    Napi::Env env = info.Env();
    DICAP_REQUIRE(env, info.Length() == 1 && info[0].IsString(),
                  "new FrameInjector(interfaceName) expects a string");
    sender_ = std::make_unique<PacketSender>();
    try {
      // Through the qdisc: injected frames take the interface's normal path, like the traffic.
      sender_->Open(info[0].As<Napi::String>().Utf8Value(), false);
    } catch (const std::exception& error) {
      sender_.reset();
      ThrowDicapError(env, "DICAP_ERR_INJECTOR", error.what());
    }
  }

  ~FrameInjectorWrap() override {
    if (sender_) sender_->Close();
  }

 private:
  // send(frame: Buffer): true when the kernel took it.
  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    DICAP_REQUIRE(env, sender_ != nullptr, "the injector is closed");
    DICAP_REQUIRE(env, info.Length() == 1 && info[0].IsBuffer(), "send(frame) expects a Buffer");
    Napi::Buffer<uint8_t> frame = info[0].As<Napi::Buffer<uint8_t>>();
    DICAP_REQUIRE(env, frame.Length() >= 14 && frame.Length() <= kGenMaxFrameLen,
                  "frame must be 14..1514 bytes");
    std::memcpy(sender_->Frame(0), frame.Data(), frame.Length());
    const uint16_t length = static_cast<uint16_t>(frame.Length());
    const SendOutcome outcome =
        WithDicapError(env, "DICAP_ERR_INJECTOR", [&] { return sender_->Send(&length, 1); });
    return Napi::Boolean::New(env, outcome.sent == 1);
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (sender_) sender_->Close();
    sender_.reset();
    return info.Env().Undefined();
  }

  std::unique_ptr<PacketSender> sender_;
};

}  // namespace

void RegisterInjectorBindings(Napi::Env env, Napi::Object exports) {
  exports.Set("FrameInjector", FrameInjectorWrap::Define(env));
}

}  // namespace dicap
