// What every long-lived native object with its own threads needs at the JS boundary
// (the engine, the analyzer sink, the traffic generator):
//   - JsEventChannel: events from any native thread reach one JS callback through a
//     thread-safe function; it keeps the process alive only while the object runs.
//   - EnvCleanup: stops the object when the JS environment is torn down first (process exit),
//     and is removed again if the object goes away before that.
//   - RunnerHolder: the whole life of an object that runs threads and reports events
//     (created stopped, started once, stopped once, final counters readable after).
#pragma once

#include <napi.h>

#include <exception>
#include <functional>
#include <memory>
#include <utility>

#include "errors.h"

namespace dicap {

template <typename Event>
class JsEventChannel {
 public:
  using ToJs = Napi::Object (*)(Napi::Env, const Event&);

  JsEventChannel(Napi::Env env, Napi::Function callback, const char* name, ToJs to_js)
      : function_(Napi::ThreadSafeFunction::New(env, callback, name, 0, 1)), to_js_(to_js) {
    function_.Unref(env);  // an object that is not running never keeps the process alive
  }

  // From any thread. After Close() events are dropped.
  void Deliver(Event event) {
    auto* heap = new Event(std::move(event));
    const ToJs to_js = to_js_;
    const napi_status status =
        function_.BlockingCall(heap, [to_js](Napi::Env env, Napi::Function callback, Event* e) {
          std::unique_ptr<Event> owned(e);
          if (env == nullptr || callback.IsEmpty()) return;
          callback.Call({to_js(env, *e)});
        });
    if (status != napi_ok) delete heap;
  }

  // JS thread: keep the process alive while the object runs.
  void KeepAlive(Napi::Env env) { function_.Ref(env); }

  // Safe to call twice.
  void Close() {
    if (!closed_) function_.Release();
    closed_ = true;
  }

 private:
  Napi::ThreadSafeFunction function_;
  ToJs to_js_;
  bool closed_ = false;
};

class EnvCleanup {
 public:
  EnvCleanup(Napi::Env env, std::function<void()> stop) : env_(env), state_(std::make_shared<bool>(false)) {
    std::shared_ptr<bool> ran = state_;
    hook_ = env.AddCleanupHook(std::function<void()>([ran, stop = std::move(stop)] {
      *ran = true;
      stop();
    }));
  }

  ~EnvCleanup() {
    // A hook that has run has also freed itself: removing it again would corrupt the heap.
    if (!*state_) hook_.Remove(env_);
  }

  EnvCleanup(const EnvCleanup&) = delete;
  EnvCleanup& operator=(const EnvCleanup&) = delete;

 private:
  Napi::Env env_;
  std::shared_ptr<bool> state_;
  Napi::Env::CleanupHook<std::function<void()>> hook_;
};

// A native runner (Start(), Stop(), Counters(), and events through the callback it is
// built with) as its JS wrapper holds it. Stop() is safe to call twice; after it the final
// counters stay readable and running() is null.
template <typename Runner, typename Event>
class RunnerHolder {
 public:
  using Counters = decltype(std::declval<Runner&>().Counters());
  using EventSink = std::function<void(Event)>;

  // make(EventSink) builds the runner; a std::exception from it becomes a DicapError with
  // `setup_error_code`.
  template <typename Make>
  RunnerHolder(Napi::Env env, Napi::Function on_event, const char* name,
               typename JsEventChannel<Event>::ToJs to_js, Make make, const char* setup_error_code)
      : events_(env, on_event, name, to_js) {
    try {
      runner_ = make(EventSink([this](Event event) { events_.Deliver(std::move(event)); }));
    } catch (const std::exception& error) {
      events_.Close();
      ThrowDicapError(env, setup_error_code, error.what());
    }
    cleanup_ = std::make_unique<EnvCleanup>(env, [this] { Stop(); });
  }

  // `new X(options, onEvent(event))` of a runner built as Runner(options, sink): checks the
  // two arguments (`usage` is the error when they are wrong), reads the options with
  // `read(env, object)`, and builds the runner.
  template <typename ReadOptions>
  static std::unique_ptr<RunnerHolder> FromJs(const Napi::CallbackInfo& info, const char* usage,
                                              ReadOptions read, const char* name,
                                              typename JsEventChannel<Event>::ToJs to_js,
                                              const char* setup_error_code) {
    Napi::Env env = info.Env();
    DICAP_REQUIRE(env, info.Length() == 2 && info[0].IsObject() && info[1].IsFunction(), usage);
    const auto options = read(env, info[0].As<Napi::Object>());
    return std::make_unique<RunnerHolder>(
        env, info[1].As<Napi::Function>(), name, to_js,
        [&options](EventSink sink) { return std::make_unique<Runner>(options, std::move(sink)); },
        setup_error_code);
  }

  ~RunnerHolder() {
    cleanup_.reset();
    Stop();
  }

  RunnerHolder(const RunnerHolder&) = delete;
  RunnerHolder& operator=(const RunnerHolder&) = delete;

  // The runner while it may still run; null once stopped.
  Runner* running() { return runner_.get(); }

  void Start(Napi::Env env, const char* error_code) {
    DICAP_REQUIRE(env, runner_ != nullptr && !started_, "already started, or stopped");
    WithDicapError(env, error_code, [this] { runner_->Start(); });
    started_ = true;
    events_.KeepAlive(env);
  }

  void Stop() {
    if (runner_ == nullptr) return;
    runner_->Stop();
    final_counters_ = runner_->Counters();
    runner_.reset();
    events_.Close();
  }

  Counters counters() { return runner_ != nullptr ? runner_->Counters() : final_counters_; }

  // The JS methods start() and stop().
  Napi::Value StartJs(const Napi::CallbackInfo& info, const char* error_code) {
    Start(info.Env(), error_code);
    return info.Env().Undefined();
  }
  Napi::Value StopJs(const Napi::CallbackInfo& info) {
    Stop();
    return info.Env().Undefined();
  }

 private:
  JsEventChannel<Event> events_;
  std::unique_ptr<Runner> runner_;
  std::unique_ptr<EnvCleanup> cleanup_;
  Counters final_counters_{};
  bool started_ = false;
};

}  // namespace dicap
