// Two pieces every long-lived native object with its own threads needs at the JS boundary
// (the engine, the analyzer sink, the traffic generator):
//   - JsEventChannel: events from any native thread reach one JS callback through a
//     thread-safe function; it keeps the process alive only while the object runs.
//   - EnvCleanup: stops the object when the JS environment is torn down first (process exit),
//     and is removed again if the object goes away before that.
#pragma once

#include <napi.h>

#include <functional>
#include <memory>
#include <utility>

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
    const napi_status status = function_.BlockingCall(heap, [to_js](Napi::Env env, Napi::Function callback, Event* e) {
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
  EnvCleanup(Napi::Env env, std::function<void()> stop)
      : env_(env), state_(std::make_shared<bool>(false)) {
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

}  // namespace dicap
