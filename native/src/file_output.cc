#include "file_output.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <utility>

#include "monotonic_clock.h"

namespace dicap {

namespace {

constexpr mode_t kCaptureFileMode = 0640;  // captures hold other people's traffic

std::string Errno(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

// The highest N of an existing `path`.N, or 0.
uint64_t HighestSuffix(const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const std::string prefix = (slash == std::string::npos ? path : path.substr(slash + 1)) + ".";
  uint64_t highest = 0;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return 0;
  while (dirent* entry = readdir(d)) {
    const char* name = entry->d_name;
    if (std::strncmp(name, prefix.c_str(), prefix.size()) != 0) continue;
    const char* digits = name + prefix.size();
    char* end = nullptr;
    const unsigned long long n = std::strtoull(digits, &end, 10);
    if (*digits >= '0' && *digits <= '9' && *end == '\0' && n > highest) highest = n;
  }
  closedir(d);
  return highest;
}

// rename() that never replaces `to`: EEXIST when it exists.
int RenameNoReplace(const std::string& from, const std::string& to) {
  if (renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS) return -1;
  // A file system without RENAME_NOREPLACE: link() refuses an existing target too.
  if (link(from.c_str(), to.c_str()) != 0) return -1;
  return unlink(from.c_str());
}

}  // namespace

FileOutput::FileOutput(std::string path, CaptureFormat format, uint32_t snaplen, size_t buffer_bytes,
                       RotationPolicy rotation)
    : path_(std::move(path)), rotation_(rotation), writer_(buffer_bytes, format, snaplen) {}

std::string FileOutput::MoveAside() {
  for (;;) {
    const std::string aside = path_ + "." + std::to_string(next_suffix_++);
    if (RenameNoReplace(path_, aside) == 0) return aside;
    if (errno == ENOENT) return "";
    if (errno != EEXIST) throw OutputOpenError(Errno("rename " + path_ + " to " + aside));
  }
}

int FileOutput::CreateRegular(std::vector<std::string>* notices) {
  struct stat st;
  if (stat(path_.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
    const std::string aside = MoveAside();
    if (notices != nullptr && !aside.empty())
      notices->push_back("moved the existing " + path_ + " aside to " + aside +
                         " (a capture is never overwritten)");
  }
  int fd = open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, kCaptureFileMode);
  if (fd < 0 && errno == EEXIST && stat(path_.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0) {
    fd = open(path_.c_str(), O_WRONLY | O_CLOEXEC);  // an empty file holds no capture to keep
  }
  if (fd < 0) {
    throw OutputOpenError(
        errno == EEXIST
            ? path_ +
                  " appeared while the analyzer moved the previous capture aside; refusing to overwrite it"
            : Errno("open " + path_));
  }
  return fd;
}

void FileOutput::Open(std::vector<std::string>* notices) {
  int fd;
  struct stat st;
  if (path_ == "-") {
    // Our own descriptor for stdout, closed by the writer; fd 1 itself stays open.
    fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
    if (fd < 0) throw OutputOpenError(Errno("dup standard output"));
    kind_ = Kind::kAsIs;
  } else if (stat(path_.c_str(), &st) == 0 && S_ISFIFO(st.st_mode)) {
    kind_ = Kind::kFifo;
    if (!TryOpenFifo()) {
      if (errno != ENXIO) throw OutputOpenError(Errno("open FIFO " + path_));
      writer_.SetNoReader();
      if (notices != nullptr)
        notices->push_back("the FIFO " + path_ +
                           " has no reader yet; records are counted unwritten until one opens it");
    }
    return;
  } else if (stat(path_.c_str(), &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
    fd = open(path_.c_str(), O_WRONLY | O_CLOEXEC);  // a character device such as /dev/null
    if (fd < 0) throw OutputOpenError(Errno("open " + path_));
    kind_ = Kind::kAsIs;
  } else {
    kind_ = Kind::kRegular;
    next_suffix_ = HighestSuffix(path_) + 1;
    fd = CreateRegular(notices);
  }
  writer_.Open(fd);
  files_.Increment();
  opened_at_ns_ = MonotonicNs();
}

bool FileOutput::TryOpenFifo() {
  const int fd = open(path_.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return false;
  writer_.Open(fd);
  files_.Increment();
  return true;
}

void FileOutput::Write(const OutputFrame& frame) {
  if (!writer_.is_open()) {
    writer_.CountUnwritten(1);  // a FIFO without reader
    return;
  }
  writer_.Append(frame);
  AfterWrite();
}

void FileOutput::Flush() {
  writer_.Flush();
  AfterWrite();
}

void FileOutput::AfterWrite() {
  if (kind_ == Kind::kFifo && writer_.state() == OutputState::kReaderClosed) {
    // The reader left: keep going, and look for the next one.
    writer_.Close();
    writer_.SetNoReader();
    next_fifo_try_ns_ = MonotonicNs() + kFifoRetryMs * 1000000;
    return;
  }
  if (kind_ == Kind::kRegular && rotation_.max_bytes != 0 && writer_.file_bytes() >= rotation_.max_bytes &&
      writer_.state() == OutputState::kOpen) {
    Rotate();
  }
}

uint64_t FileOutput::Tick(uint64_t now_ns) {
  if (kind_ == Kind::kFifo && !writer_.is_open()) {
    if (now_ns >= next_fifo_try_ns_ && !TryOpenFifo()) next_fifo_try_ns_ = now_ns + kFifoRetryMs * 1000000;
    return writer_.is_open() ? UINT64_MAX : next_fifo_try_ns_;
  }
  if (kind_ != Kind::kRegular || rotation_.interval_ns == 0 || writer_.state() != OutputState::kOpen)
    return UINT64_MAX;
  if (now_ns >= opened_at_ns_ + rotation_.interval_ns) Rotate();
  return opened_at_ns_ + rotation_.interval_ns;
}

void FileOutput::Reopen() {
  if (kind_ == Kind::kRegular && writer_.state() == OutputState::kOpen) Rotate();
}

void FileOutput::Rotate() {
  writer_.Close();
  try {
    // Someone (logrotate) may have moved the file already: then there is nothing to move.
    const std::string aside = MoveAside();
    if (!aside.empty()) rotated_.push_back(aside);
    while (rotation_.keep != 0 && rotated_.size() + 1 > rotation_.keep) {
      unlink(rotated_.front().c_str());
      rotated_.pop_front();
    }
    writer_.Open(CreateRegular(nullptr));
    files_.Increment();
    opened_at_ns_ = MonotonicNs();
  } catch (const OutputOpenError&) {
    writer_.SetFailed(errno != 0 ? errno : EIO);
  }
}

OutputStatus FileOutput::Status() const {
  OutputStatus s = writer_.Status();
  s.files = files_.Get();
  return s;
}

}  // namespace dicap
