// Reader for classic pcap and pcapng capture files; see capture_file.h for what is read
// and which behaviour follows libpcap.
#include "capture_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <utility>

#include "named_values.h"

namespace dicap {
namespace {

constexpr uint32_t kLinkTypeEthernet = 1;
constexpr uint64_t kNanosPerSecond = 1000000000;

// Classic pcap (pcap-savefile(5)).
constexpr uint32_t kPcapMicrosecondMagic = 0xa1b2c3d4;
constexpr uint32_t kPcapNanosecondMagic = 0xa1b23c4d;
constexpr uint64_t kPcapFileHeaderSize = 24;
constexpr uint64_t kPcapRecordHeaderSize = 16;

// pcapng (draft-ietf-opsawg-pcapng).
constexpr uint32_t kSectionHeaderBlock = 0x0a0d0d0a;  // the same in both byte orders
constexpr uint32_t kInterfaceDescriptionBlock = 1;
constexpr uint32_t kObsoletePacketBlock = 2;
constexpr uint32_t kSimplePacketBlock = 3;
constexpr uint32_t kEnhancedPacketBlock = 6;
constexpr uint32_t kByteOrderMagic = 0x1a2b3c4d;
constexpr uint32_t kMinBlockLength = 12;            // type, length, trailing length
constexpr uint32_t kSectionHeaderFixedLength = 16;  // byte-order magic, version, section length
constexpr uint32_t kInterfaceFixedLength = 8;       // link type, reserved, snaplen
constexpr uint32_t kPacketFixedLength = 20;         // EPB and obsolete PB alike
// The largest block read into memory whole. Packet blocks are at most 28 bytes plus
// kMaxCapLen plus options; a larger block of a type dicap skips is streamed past instead,
// and a larger section header, interface description or packet block is corruption.
constexpr uint32_t kMaxBufferedBlock = 16u << 20;
constexpr uint32_t kSimplePacketFixedLength = 4;  // original length
constexpr uint16_t kOptionEnd = 0;
constexpr uint16_t kOptionTsresol = 9;
constexpr uint16_t kOptionTsoffset = 14;
constexpr uint64_t kDefaultTicksPerSecond = 1000000;  // pcapng default: microseconds

// The LINKTYPE_* names (tcpdump.org/linktypes.html) of link types people actually
// bring, so the refusal says what the capture is; anything else is shown as a number.
constexpr NamedValue<uint32_t> kLinkTypeNames[] = {
    {0, "NULL"},
    {1, "ETHERNET"},
    {6, "IEEE802_5"},
    {8, "SLIP"},
    {9, "PPP"},
    {10, "FDDI"},
    {50, "PPP_HDLC"},
    {51, "PPP_ETHER"},
    {100, "ATM_RFC1483"},
    {101, "RAW"},
    {104, "C_HDLC"},
    {105, "IEEE802_11"},
    {107, "FRELAY"},
    {108, "LOOP"},
    {113, "LINUX_SLL"},
    {119, "IEEE802_11_PRISM"},
    {123, "SUNATM"},
    {127, "IEEE802_11_RADIOTAP"},
    {129, "ARCNET_LINUX"},
    {132, "JUNIPER_ES"},
    {137, "JUNIPER_ATM1"},
    {163, "IEEE802_11_AVS"},
    {164, "JUNIPER_MONITOR"},
    {178, "JUNIPER_ETHER"},
    {182, "MFR"},
    {189, "USB_LINUX"},
    {192, "PPI"},
    {195, "IEEE802_15_4_WITHFCS"},
    {220, "USB_LINUX_MMAPPED"},
    {226, "IPNET"},
    {227, "CAN_SOCKETCAN"},
    {228, "IPV4"},
    {229, "IPV6"},
    {230, "IEEE802_15_4_NOFCS"},
    {231, "DBUS"},
    {239, "NFLOG"},
    {249, "USBPCAP"},
    {276, "LINUX_SLL2"},
    {281, "DSA_TAG_BRCM"},
    {282, "DSA_TAG_BRCM_PREPEND"},
    {284, "DSA_TAG_DSA"},
    {285, "DSA_TAG_EDSA"},
};

// libpcap's pcap_adjust_snapshot: 0 or an absurd value means "no limit".
uint32_t AdjustSnaplen(uint32_t snaplen) {
  return snaplen == 0 || snaplen > CaptureFile::kMaxCapLen ? CaptureFile::kMaxCapLen : snaplen;
}

std::string NotEthernet(uint32_t link_type) {
  std::string text = "link type " + std::to_string(link_type);
  if (const char* name = LinkTypeName(link_type)) text += std::string(" (") + name + ")";
  return text + " is not Ethernet; dicap reads Ethernet captures only";
}

uint32_t RawU32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

}  // namespace

const char* LinkTypeName(uint32_t link_type) {
  return NameOf(kLinkTypeNames, link_type, nullptr);
}

CaptureFile::~CaptureFile() {
  Close();
}

void CaptureFile::Close() {
  window_.Close();
  opened_size_ = 0;
  format_ = Format::kClosed;
  interfaces_.clear();
}

bool CaptureFile::Open(const std::string& path) {
  Close();
  path_ = path;
  error_.clear();
  finished_ = Status::kFrame;
  frames_read_ = 0;
  swapped_ = false;

  // O_NONBLOCK: opening a FIFO for reading would otherwise wait, for good, for a writer,
  // on the thread that called Open (the JavaScript thread). Regular files ignore the flag.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return FailOpen(std::string("cannot open: ") + std::strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    const int saved = errno;
    ::close(fd);
    return FailOpen(std::string("cannot stat: ") + std::strerror(saved));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    // A stream has no end the agent could wait for without blocking its capture thread
    // and its shutdown on a writer; a capture file is read as fast as the engine can.
    const char* what = S_ISFIFO(st.st_mode)   ? "a FIFO"
                       : S_ISDIR(st.st_mode)  ? "a directory"
                       : S_ISCHR(st.st_mode)  ? "a character device"
                       : S_ISBLK(st.st_mode)  ? "a block device"
                       : S_ISSOCK(st.st_mode) ? "a socket"
                                              : "not a regular file";
    return FailOpen(std::string("is ") + what +
                    ", not a regular file; dicap reads capture files only (save a stream to a file "
                    "first, e.g. `tcpdump -w FILE`, or capture live with --interface)");
  }
  opened_size_ = static_cast<uint64_t>(st.st_size);
  window_.Reset(fd);

  const size_t head = window_.Ensure(4);
  if (head < 4) {
    const std::string problem = ReadProblem();
    if (!problem.empty()) return FailOpen(problem);
    return FailOpen("only " + std::to_string(head) + " bytes long, too short to be a pcap or pcapng file");
  }
  const uint8_t* start = window_.data();
  const uint32_t magic = RawU32(start);
  if (magic == kSectionHeaderBlock) return OpenPcapng();
  if (magic == kPcapMicrosecondMagic || magic == kPcapNanosecondMagic ||
      magic == __builtin_bswap32(kPcapMicrosecondMagic) || magic == __builtin_bswap32(kPcapNanosecondMagic)) {
    return OpenPcap();
  }
  char first_bytes[32];
  std::snprintf(first_bytes, sizeof first_bytes, "%02x %02x %02x %02x", start[0], start[1], start[2],
                start[3]);
  return FailOpen(std::string("not a pcap or pcapng file (it starts with bytes ") + first_bytes +
                  "); if it is a capture in another format, convert it with `editcap -F pcap IN OUT`");
}

bool CaptureFile::OpenPcap() {
  const size_t have = window_.Ensure(kPcapFileHeaderSize);
  if (have < kPcapFileHeaderSize) {
    const std::string problem = ReadProblem();
    if (!problem.empty()) return FailOpen(problem);
    return FailOpen("truncated pcap file header: the file has " + std::to_string(have) + " of its 24 bytes");
  }
  const uint8_t* header = window_.data();
  const uint32_t raw_magic = RawU32(header);
  swapped_ = raw_magic != kPcapMicrosecondMagic && raw_magic != kPcapNanosecondMagic;
  nanosecond_ = U32(header) == kPcapNanosecondMagic;
  const uint16_t major = U16(header + 4);
  const uint16_t minor = U16(header + 6);
  if (major != 2 || minor > 4) {
    return FailOpen("pcap version " + std::to_string(major) + "." + std::to_string(minor) +
                    " is not supported (dicap reads 2.0 to 2.4); convert it with `editcap -F pcap IN OUT`");
  }
  length_order_ = minor < 3    ? LengthOrder::kWireFirst
                  : minor == 3 ? LengthOrder::kGuess
                               : LengthOrder::kCapturedFirst;
  snaplen_ = AdjustSnaplen(U32(header + 16));
  // The upper 16 bits of the link-type field carry FCS information, not the type.
  const uint32_t link_type = U32(header + 20) & 0xffff;
  if (link_type != kLinkTypeEthernet) return FailOpen(NotEthernet(link_type));
  window_.Consume(kPcapFileHeaderSize);
  format_ = Format::kPcap;
  return true;
}

bool CaptureFile::OpenPcapng() {
  format_ = Format::kPcapng;
  Block block;
  const Status status = SkipToPacketBlock(&block);
  if (status == Status::kError) {
    Close();
    return false;
  }
  if (status == Status::kFrame) {
    uint32_t interface_id;
    if (!PacketInterface(block, &interface_id) || !RequireEthernetInterface(block, interface_id)) {
      Close();
      return false;
    }
  } else if (!interfaces_.empty() && interfaces_.front().link_type != kLinkTypeEthernet) {
    return FailOpen(NotEthernet(interfaces_.front().link_type));
  }
  return true;
}

CaptureFile::Status CaptureFile::Next(CapturedFrame* frame) {
  if (finished_ != Status::kFrame) return finished_;
  if (format_ == Format::kClosed) {
    finished_ = Status::kError;
    error_ = path_.empty() ? "no capture file is open; call Open() first"
                           : path_ + ": the file was closed; call Open() to read it again";
    return finished_;
  }
  const Status status = format_ == Format::kPcap ? NextPcap(frame) : NextPcapng(frame);
  if (status == Status::kEnd) finished_ = Status::kEnd;
  return status;
}

CaptureFile::Status CaptureFile::NextPcap(CapturedFrame* frame) {
  const uint64_t at = window_.offset();
  const size_t have = window_.Ensure(kPcapRecordHeaderSize);
  if (have == 0) return Truncated("");
  if (have < kPcapRecordHeaderSize) {
    return Truncated("truncated record header " + Where(at) + ": " + std::to_string(have) +
                     " of 16 bytes; the capture was cut off, the frames before it are intact");
  }
  const uint8_t* header = window_.data();
  const uint32_t seconds = U32(header);
  const uint32_t fraction = U32(header + 4);
  uint32_t cap_len = U32(header + 8);
  uint32_t wire_len = U32(header + 12);
  if (length_order_ == LengthOrder::kWireFirst ||
      (length_order_ == LengthOrder::kGuess && cap_len > wire_len)) {
    std::swap(cap_len, wire_len);
  }
  if (cap_len > kMaxCapLen) {
    return Fail("record " + Where(at) + " claims " + std::to_string(cap_len) + " bytes, more than the " +
                std::to_string(kMaxCapLen) + " maximum; the file is corrupt");
  }
  const size_t record = kPcapRecordHeaderSize + cap_len;
  const size_t present = window_.Ensure(record);
  if (present < record) {
    return Truncated("truncated record " + Where(at) + ": it claims " + std::to_string(cap_len) +
                     " bytes, only " + std::to_string(present - kPcapRecordHeaderSize) +
                     " remain; the capture was cut off, the frames before it are intact");
  }
  frame->data = window_.data() + kPcapRecordHeaderSize;      // Ensure may have moved the record
  frame->cap_len = cap_len < snaplen_ ? cap_len : snaplen_;  // libpcap drops bytes past the snaplen
  frame->wire_len = wire_len;
  // Cannot overflow: at most 4294967295 s * 1e9 + 4294967295 * 1000 < 2^64.
  frame->ts_ns = uint64_t{seconds} * kNanosPerSecond + uint64_t{fraction} * (nanosecond_ ? 1 : 1000);
  window_.Consume(record);
  ++frames_read_;
  return Status::kFrame;
}

CaptureFile::Status CaptureFile::NextPcapng(CapturedFrame* frame) {
  Block block;
  const Status status = SkipToPacketBlock(&block);
  if (status != Status::kFrame) return status;
  return DecodePacketBlock(block, frame);
}

CaptureFile::Status CaptureFile::SkipToPacketBlock(Block* block) {
  for (;;) {
    if (window_.Ensure(1) == 0) return Truncated("");
    if (!ReadBlock(block)) return Status::kError;
    if (block->body == nullptr) continue;  // a large skipped block, already read past
    switch (block->type) {
      case kEnhancedPacketBlock:
      case kSimplePacketBlock:
      case kObsoletePacketBlock:
        return Status::kFrame;
      case kSectionHeaderBlock:
        if (!StartSection(*block)) return Status::kError;
        break;
      case kInterfaceDescriptionBlock:
        if (!AddInterface(*block)) return Status::kError;
        break;
      default:  // statistics, name resolution, journal, custom blocks…: no frames in them
        break;
    }
    window_.Consume(block->total_length);
  }
}

bool CaptureFile::ReadBlock(Block* block) {
  const uint64_t at = window_.offset();
  const size_t have = window_.Ensure(kMinBlockLength);
  if (have < kMinBlockLength) {
    Truncated(
        "truncated block header " + Where(at) + ": " + std::to_string(have) +
        " bytes left, a block takes at least 12; the capture was cut off, the frames before it are intact");
    return false;
  }
  const uint8_t* start = window_.data();
  if (RawU32(start) == kSectionHeaderBlock) {
    // Each section declares its own byte order, before its length can be read.
    const uint32_t byte_order_magic = RawU32(start + 8);
    if (byte_order_magic == kByteOrderMagic) {
      swapped_ = false;
    } else if (byte_order_magic == __builtin_bswap32(kByteOrderMagic)) {
      swapped_ = true;
    } else {
      char hex[16];
      std::snprintf(hex, sizeof hex, "0x%08x", byte_order_magic);
      Fail("section header " + Where(at) + " has byte-order magic " + hex +
           " instead of 0x1a2b3c4d; the file is corrupt or not pcapng");
      return false;
    }
  }
  const uint32_t type = U32(start);
  const uint32_t total_length = U32(start + 4);
  if (total_length < kMinBlockLength || total_length % 4 != 0) {
    Fail("block " + Where(at) + " has length " + std::to_string(total_length) +
         ", which is not a multiple of 4 of at least 12; the file is corrupt");
    return false;
  }
  const bool parsed = type == kSectionHeaderBlock || type == kInterfaceDescriptionBlock ||
                      type == kEnhancedPacketBlock || type == kSimplePacketBlock ||
                      type == kObsoletePacketBlock;
  block->offset = at;
  block->type = type;
  block->total_length = total_length;
  const std::string truncated =
      "truncated block " + Where(at) + ": its length is " + std::to_string(total_length) + " bytes, only ";
  const char* const cut_off = " remain; the capture was cut off, the frames before it are intact";
  if (total_length > kMaxBufferedBlock) {
    if (parsed) {
      Fail("block " + Where(at) + " of type " + std::to_string(type) + " has length " +
           std::to_string(total_length) + ", more than the " + std::to_string(kMaxBufferedBlock) +
           " bytes such a block can need; the file is corrupt");
      return false;
    }
    // Too large to hold, and nothing in it is needed: read past it to its trailing length.
    if (!window_.Skip(total_length - 4) || window_.Ensure(4) < 4) {
      Truncated(truncated + std::to_string(window_.offset() + window_.available() - at) + cut_off);
      return false;
    }
    block->body = nullptr;
    block->body_length = 0;
    const uint32_t trailing_length = U32(window_.data());
    window_.Consume(4);
    if (trailing_length != total_length) return FailLengths(*block, trailing_length);
    return true;
  }
  const size_t present = window_.Ensure(total_length);
  if (present < total_length) {
    Truncated(truncated + std::to_string(present) + cut_off);
    return false;
  }
  start = window_.data();  // Ensure may have moved the block
  const uint32_t trailing_length = U32(start + total_length - 4);
  if (trailing_length != total_length) return FailLengths(*block, trailing_length);
  block->body = start + 8;
  block->body_length = total_length - kMinBlockLength;
  return true;
}

bool CaptureFile::FailLengths(const Block& block, uint32_t trailing_length) {
  Fail("block " + Where(block.offset) + " says its length is " + std::to_string(block.total_length) +
       " at its start and " + std::to_string(trailing_length) + " at its end; the file is corrupt");
  return false;
}

bool CaptureFile::StartSection(const Block& block) {
  if (block.body_length < kSectionHeaderFixedLength) {
    Fail("section header " + Where(block.offset) + " is too short (" + std::to_string(block.total_length) +
         " bytes); the file is corrupt");
    return false;
  }
  const uint16_t major = U16(block.body + 4);
  if (major != 1) {
    Fail("section " + Where(block.offset) + " has pcapng version " + std::to_string(major) + "." +
         std::to_string(U16(block.body + 6)) +
         ", dicap reads version 1; convert it with `editcap -F pcapng IN OUT`");
    return false;
  }
  interfaces_.clear();  // interface ids are numbered anew in each section
  return true;
}

bool CaptureFile::AddInterface(const Block& block) {
  const std::string what = "interface description " + Where(block.offset);
  if (block.body_length < kInterfaceFixedLength) {
    Fail(what + " is too short (" + std::to_string(block.total_length) + " bytes); the file is corrupt");
    return false;
  }
  Interface itf{U16(block.body), AdjustSnaplen(U32(block.body + 4)), kDefaultTicksPerSecond, false, 0};
  bool saw_tsresol = false;
  bool saw_tsoffset = false;
  // if_tsresol and if_tsoffset may each stand once, with their one length.
  auto once_with_length = [&](bool* saw, uint16_t length, uint16_t required, const std::string& name,
                              const char* size) {
    if (length == required && !*saw) {
      *saw = true;
      return true;
    }
    Fail(what + " has " + (*saw ? "two " + name + " options" : "an " + name + " option that is not " + size) +
         "; the file is corrupt");
    return false;
  };
  const uint8_t* option = block.body + kInterfaceFixedLength;
  const uint8_t* const end = block.body + block.body_length;
  // Blocks and options are 4-byte aligned, so the loop ends exactly at `end`.
  while (end - option >= 4) {
    const uint16_t code = U16(option);
    const uint16_t length = U16(option + 2);
    const uint32_t padded = (uint32_t{length} + 3) & ~uint32_t{3};
    if (padded > static_cast<uint64_t>(end - option) - 4) {
      Fail(what + " has option " + std::to_string(code) + " of " + std::to_string(length) +
           " bytes that runs past the end of the block; the file is corrupt");
      return false;
    }
    const uint8_t* value = option + 4;
    option = value + padded;
    if (code == kOptionEnd) break;
    if (code == kOptionTsresol) {
      if (!once_with_length(&saw_tsresol, length, 1, "if_tsresol", "1 byte")) return false;
      const uint8_t exponent = value[0] & 0x7f;
      itf.binary_resolution = (value[0] & 0x80) != 0;
      // 2^-63 and 10^-19 are the finest resolutions whose ticks per second fit 64 bits.
      if (exponent > (itf.binary_resolution ? 63 : 19)) {
        Fail(what + " has time stamp resolution " + (itf.binary_resolution ? "2^-" : "10^-") +
             std::to_string(exponent) + ", finer than any clock; the file is corrupt");
        return false;
      }
      itf.ticks_per_second = 1;
      for (uint8_t i = 0; i < exponent; ++i) itf.ticks_per_second *= itf.binary_resolution ? 2 : 10;
    } else if (code == kOptionTsoffset) {
      if (!once_with_length(&saw_tsoffset, length, 8, "if_tsoffset", "8 bytes")) return false;
      itf.offset_seconds = static_cast<int64_t>(U64(value));
    }
  }
  interfaces_.push_back(itf);
  return true;
}

bool CaptureFile::PacketInterface(const Block& block, uint32_t* interface_id) {
  const uint32_t fixed = block.type == kSimplePacketBlock ? kSimplePacketFixedLength : kPacketFixedLength;
  if (block.body_length < fixed) {
    Fail("packet block " + Where(block.offset) + " is too short (" + std::to_string(block.total_length) +
         " bytes) for its fixed fields; the file is corrupt");
    return false;
  }
  switch (block.type) {
    case kEnhancedPacketBlock:
      *interface_id = U32(block.body);
      break;
    case kObsoletePacketBlock:
      *interface_id = U16(block.body);
      break;
    default:  // a Simple Packet Block belongs to the section's first interface
      *interface_id = 0;
      break;
  }
  return true;
}

bool CaptureFile::RequireEthernetInterface(const Block& block, uint32_t interface_id) {
  if (interface_id >= interfaces_.size()) {
    Fail("packet block " + Where(block.offset) + " refers to interface " + std::to_string(interface_id) +
         ", but its section describes " +
         (interfaces_.empty() ? std::string("no interfaces") : "only " + std::to_string(interfaces_.size())) +
         "; the file is corrupt");
    return false;
  }
  const uint16_t link_type = interfaces_[interface_id].link_type;
  if (link_type != kLinkTypeEthernet) {
    Fail("the packet block " + Where(block.offset) + " is from interface " + std::to_string(interface_id) +
         ", whose " + NotEthernet(link_type));
    return false;
  }
  return true;
}

CaptureFile::Status CaptureFile::DecodePacketBlock(const Block& block, CapturedFrame* frame) {
  uint32_t interface_id;
  if (!PacketInterface(block, &interface_id) || !RequireEthernetInterface(block, interface_id)) {
    return Status::kError;
  }
  const Interface& itf = interfaces_[interface_id];
  uint32_t cap_len;
  uint32_t wire_len;
  uint32_t data_offset;
  uint64_t ticks = 0;
  if (block.type == kSimplePacketBlock) {
    wire_len = U32(block.body);
    cap_len = wire_len < itf.snaplen ? wire_len : itf.snaplen;
    data_offset = kSimplePacketFixedLength;
  } else {
    // EPB: interface id (4); obsolete PB: interface id (2) and drop count (2).
    ticks = uint64_t{U32(block.body + 4)} << 32 | U32(block.body + 8);
    cap_len = U32(block.body + 12);
    wire_len = U32(block.body + 16);
    data_offset = kPacketFixedLength;
  }
  if (cap_len > kMaxCapLen) {
    return Fail("packet block " + Where(block.offset) + " claims " + std::to_string(cap_len) +
                " bytes, more than the " + std::to_string(kMaxCapLen) + " maximum; the file is corrupt");
  }
  if (cap_len > block.body_length - data_offset) {
    return Fail("packet block " + Where(block.offset) + " claims " + std::to_string(cap_len) +
                " bytes but holds only " + std::to_string(block.body_length - data_offset) +
                "; the file is corrupt");
  }
  if (cap_len > itf.snaplen) {
    return Fail("packet block " + Where(block.offset) + " has " + std::to_string(cap_len) +
                " bytes, more than the snapshot length " + std::to_string(itf.snaplen) + " of interface " +
                std::to_string(interface_id) + "; the file is corrupt");
  }
  uint64_t ts_ns = 0;  // Simple Packet Blocks have no time stamp
  if (block.type != kSimplePacketBlock && !TicksToNanoseconds(block, itf, ticks, &ts_ns))
    return Status::kError;
  frame->data = block.body + data_offset;
  frame->cap_len = cap_len;
  frame->wire_len = wire_len;
  frame->ts_ns = ts_ns;
  window_.Consume(block.total_length);
  ++frames_read_;
  return Status::kFrame;
}

bool CaptureFile::TicksToNanoseconds(const Block& block, const Interface& itf, uint64_t ticks,
                                     uint64_t* ts_ns) {
  const uint64_t whole_seconds = ticks / itf.ticks_per_second;
  const uint64_t rest = ticks % itf.ticks_per_second;
  // Truncates finer resolutions, as libpcap does when asked for nanoseconds.
  const uint64_t fraction_ns = kNanosPerSecond % itf.ticks_per_second == 0
                                   ? rest * (kNanosPerSecond / itf.ticks_per_second)
                                   : static_cast<uint64_t>(static_cast<unsigned __int128>(rest) *
                                                           kNanosPerSecond / itf.ticks_per_second);
  int64_t seconds = 0;
  uint64_t ns = 0;
  const bool representable =
      whole_seconds <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) &&
      !__builtin_add_overflow(static_cast<int64_t>(whole_seconds), itf.offset_seconds, &seconds) &&
      seconds >= 0 && !__builtin_mul_overflow(static_cast<uint64_t>(seconds), kNanosPerSecond, &ns) &&
      !__builtin_add_overflow(ns, fraction_ns, &ns);
  if (!representable) {
    Fail("packet block " + Where(block.offset) + " has a time stamp of " + std::to_string(whole_seconds) +
         " s plus an interface offset of " + std::to_string(itf.offset_seconds) +
         " s, outside the years 1970 to 2554 that dicap represents; the file is corrupt");
    return false;
  }
  *ts_ns = ns;
  return true;
}

uint16_t CaptureFile::U16(const uint8_t* p) const {
  uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return swapped_ ? __builtin_bswap16(v) : v;
}

uint32_t CaptureFile::U32(const uint8_t* p) const {
  const uint32_t v = RawU32(p);
  return swapped_ ? __builtin_bswap32(v) : v;
}

uint64_t CaptureFile::U64(const uint8_t* p) const {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return swapped_ ? __builtin_bswap64(v) : v;
}

bool CaptureFile::FailOpen(const std::string& problem) {
  Close();
  error_ = path_ + ": " + problem;
  finished_ = Status::kError;
  return false;
}

std::string CaptureFile::ReadProblem() const {
  if (window_.error_number() != 0) {
    return "cannot read " + Where(window_.offset()) + ": " + std::strerror(window_.error_number());
  }
  const uint64_t end = window_.offset() + window_.available();
  if (end < opened_size_) {
    return "the file shrank from " + std::to_string(opened_size_) + " to " + std::to_string(end) +
           " bytes while dicap was reading it (another process truncated or rewrote it); the frames before "
           "byte " +
           std::to_string(end) + " were delivered, read a copy that nothing writes to";
  }
  return "";
}

CaptureFile::Status CaptureFile::Truncated(const std::string& problem) {
  const std::string read_problem = ReadProblem();
  if (!read_problem.empty()) return Fail(read_problem);
  if (problem.empty()) return Status::kEnd;
  return Fail(problem);
}

CaptureFile::Status CaptureFile::Fail(const std::string& problem) {
  error_ = path_ + ": " + problem;
  finished_ = Status::kError;
  return Status::kError;
}

std::string CaptureFile::Where(uint64_t at) const {
  return "at byte " + std::to_string(at) +
         (frames_read_ == 0 ? std::string(" (before the first frame)")
                            : " (after frame " + std::to_string(frames_read_) + ")");
}

}  // namespace dicap
