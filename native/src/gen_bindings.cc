// JS class `TrafficGenerator` over dicap::TrafficGenerator. Options arrive validated by
// native/traffic-generator.ts; the guards here only catch misuse. The generator's two
// possible events (error, end) cross to the JS thread through one thread-safe function;
// the generator thread never touches napi_env.
#include <functional>
#include <memory>
#include <string>

#include "bindings.h"
#include "errors.h"
#include "js_lifecycle.h"
#include "traffic_gen.h"

namespace dicap {

namespace {

std::string StringOption(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string();
}

// A non-negative whole number below 2^53 (the range JS numbers hold exactly).
uint64_t CountOption(Napi::Env env, const Napi::Object& o, const char* key, uint64_t fallback) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  DICAP_REQUIRE(env, v.IsNumber(), (std::string(key) + " must be a number").c_str());
  const double d = v.As<Napi::Number>().DoubleValue();
  DICAP_REQUIRE(env, d >= 0 && d <= 9007199254740991.0 && d == static_cast<double>(static_cast<uint64_t>(d)),
                (std::string(key) + " must be a whole number from 0 to 2^53-1").c_str());
  return static_cast<uint64_t>(d);
}

TrafficGeneratorOptions ReadOptions(Napi::Env env, const Napi::Object& o) {
  TrafficGeneratorOptions options;
  options.interface = StringOption(o, "interface");
  options.write_path = StringOption(o, "write");
  DICAP_REQUIRE(env, options.interface.empty() != options.write_path.empty(),
                "exactly one of `interface` and `write` must be given");
  options.qdisc_bypass = o.Get("qdiscBypass").IsUndefined() || o.Get("qdiscBypass").ToBoolean();
  options.rate = CountOption(env, o, "rate", 0);
  options.count = CountOption(env, o, "count", 0);
  options.duration_ns = CountOption(env, o, "durationMs", 0) * 1000000;
  options.model.seed = CountOption(env, o, "seed", options.model.seed);
  const uint64_t flows = CountOption(env, o, "flows", options.model.flows);
  DICAP_REQUIRE(env, flows >= 1 && flows <= 1000000, "flows must be 1..1000000");
  options.model.flows = static_cast<uint32_t>(flows);
  Napi::Value mix = o.Get("ipidMix");
  if (!mix.IsUndefined()) {
    DICAP_REQUIRE(env, mix.IsObject(), "ipidMix must be an object { counter, random, zeroDf }");
    const Napi::Object shares = mix.As<Napi::Object>();
    options.model.ipid.counter = static_cast<uint32_t>(CountOption(env, shares, "counter", 0));
    options.model.ipid.random = static_cast<uint32_t>(CountOption(env, shares, "random", 0));
    options.model.ipid.zero_df = static_cast<uint32_t>(CountOption(env, shares, "zeroDf", 0));
    DICAP_REQUIRE(env,
                  options.model.ipid.counter + options.model.ipid.random + options.model.ipid.zero_df > 0,
                  "ipidMix needs at least one non-zero share");
  }
  return options;
}

Napi::Object CountersToJs(Napi::Env env, const TrafficGeneratorCounters& c) {
  auto number = [](uint64_t v) { return static_cast<double>(v); };
  Napi::Object o = Napi::Object::New(env);
  o.Set("frames", number(c.frames));
  o.Set("bytes", number(c.bytes));
  o.Set("sendRefusals", number(c.send_refusals));
  o.Set("framesFailed", number(c.frames_failed));
  o.Set("lastErrno", c.last_errno);
  o.Set("elapsedNs", number(c.elapsed_ns));
  o.Set("cpuNs", number(c.cpu_ns));
  o.Set("running", c.running);
  return o;
}

Napi::Object EventToJs(Napi::Env env, const TrafficGeneratorEvent& e) {
  Napi::Object js = Napi::Object::New(env);
  if (e.kind == TrafficGeneratorEvent::Kind::kEnd) {
    js.Set("type", "end");
  } else {
    js.Set("type", "error");
    js.Set("message", e.message);
  }
  return js;
}

class TrafficGeneratorWrap : public Napi::ObjectWrap<TrafficGeneratorWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "TrafficGenerator",
                       {InstanceMethod("start", &TrafficGeneratorWrap::Start),
                        InstanceMethod("stop", &TrafficGeneratorWrap::Stop),
                        InstanceMethod("counters", &TrafficGeneratorWrap::Counters)});
  }

  // new TrafficGenerator(options, onEvent(event))
  explicit TrafficGeneratorWrap(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<TrafficGeneratorWrap>(info),
        generator_(RunnerHolder<TrafficGenerator, TrafficGeneratorEvent>::FromJs(
            info, "new TrafficGenerator(options, onEvent) expects an options object and a function",
            ReadOptions, "dicap-gen-events", EventToJs, "DICAP_ERR_ARGUMENT")) {}

 private:
  Napi::Value Start(const Napi::CallbackInfo& info) {
    return generator_->StartJs(info, "DICAP_ERR_GEN_OUTPUT");
  }
  Napi::Value Stop(const Napi::CallbackInfo& info) { return generator_->StopJs(info); }

  Napi::Value Counters(const Napi::CallbackInfo& info) {
    return CountersToJs(info.Env(), generator_->counters());
  }

  std::unique_ptr<RunnerHolder<TrafficGenerator, TrafficGeneratorEvent>> generator_;
};

}  // namespace

void RegisterGenBindings(Napi::Env env, Napi::Object exports) {
  exports.Set("TrafficGenerator", TrafficGeneratorWrap::Define(env));
}

}  // namespace dicap
