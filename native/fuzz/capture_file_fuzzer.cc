// libFuzzer target: the capture file reader (capture_file.h), pcap and pcapng, through its
// real read() path. The input is written to a memfd and opened by its /proc path; the
// first byte picks the read chunk (16 bytes to 4 KiB) so records straddle refills and the
// buffer grows, as they do in large files. Every frame's bytes are read, so
// AddressSanitizer sees any frame pointing outside what was read.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "capture_file.h"

namespace {

void Require(bool condition) {
  if (!condition) std::abort();
}

volatile uint64_t frame_byte_sum;  // keeps the reads of every frame byte from being optimised away

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const size_t chunk = size_t{16} << (data[0] % 9);
  const int fd = memfd_create("capture", MFD_CLOEXEC);
  if (fd < 0) std::abort();
  for (size_t written = 1; written < size;) {
    const ssize_t n = write(fd, data + written, size - written);
    if (n <= 0) std::abort();
    written += static_cast<size_t>(n);
  }
  dicap::CaptureFile file(chunk);
  if (file.Open("/proc/self/fd/" + std::to_string(fd))) {
    dicap::CapturedFrame frame;
    dicap::CaptureFile::Status status;
    uint64_t sum = 0;
    while ((status = file.Next(&frame)) == dicap::CaptureFile::Status::kFrame) {
      Require(frame.cap_len <= dicap::CaptureFile::kMaxCapLen);
      for (uint32_t i = 0; i < frame.cap_len; ++i) sum += frame.data[i];
    }
    frame_byte_sum = sum;
    Require(file.frames_read() <= size);
    Require(status == dicap::CaptureFile::Status::kEnd ||
            (!file.error().empty() && file.error().find('\n') == std::string::npos));
    Require(file.Next(&frame) == status);  // sticky
  } else {
    Require(!file.error().empty() && file.error().find('\n') == std::string::npos);
  }
  close(fd);
  return 0;
}
