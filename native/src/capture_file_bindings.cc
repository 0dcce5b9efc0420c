// readCaptureFile(path, maxFrames?): the whole of a capture file as JS values, for tests
// and tools that compare captures frame by frame. Not a packet path: it copies every
// frame into its own Buffer, which is fine for test-sized files only.
#include <cmath>
#include <string>

#include "bindings.h"
#include "capture_file.h"
#include "errors.h"

namespace dicap {
namespace {

// Returns { frames: [{ tsNs: bigint, wireLen: number, data: Buffer }], error: string | null }.
// error is non-null when the file could not be read to its end; the frames read before
// that are still returned. Each data Buffer is a copy the caller owns.
Napi::Value ReadCaptureFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  DICAP_REQUIRE(env, info.Length() >= 1 && info[0].IsString(), "readCaptureFile: path must be a string");
  uint64_t max_frames = UINT64_MAX;
  if (info.Length() >= 2 && !info[1].IsUndefined()) {
    DICAP_REQUIRE(env, info[1].IsNumber(), "readCaptureFile: maxFrames must be a number");
    const double requested = info[1].As<Napi::Number>().DoubleValue();
    DICAP_REQUIRE(env, requested >= 0 && std::floor(requested) == requested,
                  "readCaptureFile: maxFrames must be a non-negative integer");
    // Counts of 2^64 and more mean "no limit".
    if (requested < 18446744073709551616.0) max_frames = static_cast<uint64_t>(requested);
  }

  Napi::Array frames = Napi::Array::New(env);
  Napi::Value error = env.Null();
  CaptureFile file;
  if (!file.Open(info[0].As<Napi::String>().Utf8Value())) {
    error = Napi::String::New(env, file.error());
  } else {
    CapturedFrame frame;
    uint32_t index = 0;
    while (file.frames_read() < max_frames) {
      const CaptureFile::Status status = file.Next(&frame);
      if (status == CaptureFile::Status::kEnd) break;
      if (status == CaptureFile::Status::kError) {
        error = Napi::String::New(env, file.error());
        break;
      }
      Napi::Object entry = Napi::Object::New(env);
      entry.Set("tsNs", Napi::BigInt::New(env, frame.ts_ns));
      entry.Set("wireLen", Napi::Number::New(env, frame.wire_len));
      entry.Set("data", Napi::Buffer<uint8_t>::Copy(env, frame.data, frame.cap_len));
      frames.Set(index++, entry);
    }
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("frames", frames);
  result.Set("error", error);
  return result;
}

}  // namespace

void RegisterCaptureFileBindings(Napi::Env env, Napi::Object exports) {
  exports.Set("readCaptureFile", Napi::Function::New(env, ReadCaptureFile, "readCaptureFile"));
}

}  // namespace dicap
