// The offline frame source of the capture engine: reads Ethernet frames from a capture
// file (classic pcap or pcapng) so the engine, the tests and the benchmarks can replay
// real traffic without a network interface.
//
// Speed: the file is read front to back with large read() calls into one buffer
// (ReadWindow) and frames are handed out as pointers into it, so reading allocates nothing
// per frame (pcapng allocates a little per Interface Description Block, never per packet).
// It is not mapped: a mapped file that another process truncates kills the process with
// SIGBUS; read() just sees the file end early, which ends reading with kError.
//
// What is read, and the decisions where formats or readers differ:
// - Classic pcap in either byte order, microsecond (0xa1b2c3d4) and nanosecond
//   (0xa1b23c4d) magic, versions 2.0 to 2.4. As in libpcap (sf-pcap.c), versions before
//   2.3 store wire length and captured length the other way round, and 2.3 files are
//   taken as swapped when captured length > wire length.
// - pcapng: every Section Header Block in its own byte order, any number of sections and
//   Interface Description Blocks (if_tsresol as a power of 10 or of 2, if_tsoffset),
//   Enhanced Packet Blocks, Simple Packet Blocks, obsolete Packet Blocks (type 2); every
//   other block type is skipped.
// - Simple Packet Blocks carry no time stamp: their frames get ts_ns = 0, meaning "no
//   time stamp" (libpcap reports if_tsoffset seconds there; we do not invent a time).
//   Their captured length is min(wire length, snapshot length of interface 0).
// - Ethernet only (LINKTYPE_ETHERNET = 1). Classic pcap: Open() refuses any other link
//   type. pcapng can mix interfaces: a packet from a non-Ethernet interface ends reading
//   with kError, and Open() checks the first packet (in a file without packets, the
//   first interface of the last section) so a capture of another link type is refused
//   at once. Unused non-Ethernet interfaces are harmless.
// - cap_len > wire_len is passed through unchanged, as libpcap does for current files
//   (tcpdump prints such frames): consumers must not assume cap_len <= wire_len.
// - cap_len > the file's snapshot length: classic pcap hands out the first snapshot
//   length bytes and skips the rest, as libpcap does (old Solaris writers produced such
//   files); pcapng treats it as corruption, as libpcap does. A snapshot length of 0 or
//   above kMaxCapLen means kMaxCapLen.
// - cap_len > kMaxCapLen (262144, libpcap's limit for Ethernet) is corruption.
// - A record with cap_len 0 is a valid frame of 0 bytes.
// - A classic pcap fraction field of a second or more (seen only in fuzzed files) carries
//   into the seconds; libpcap passes it through and readers disagree on what it means.
// - Time stamps are Unix nanoseconds in a uint64_t (up to the year 2554). A pcapng time
//   stamp outside that range (for example a negative if_tsoffset pushing it before 1970)
//   ends reading with kError rather than being wrapped silently.
// - A damaged or truncated file ends with kError; the frames before the damage were
//   delivered. Reading never touches memory outside what was read, whatever the bytes.
//   A file that shrinks while it is read (another process truncates it) ends with kError
//   saying so, even when it was cut at a record boundary.
// - Regular files only: a FIFO, device, directory or socket is refused by Open() without
//   waiting (a FIFO is opened non-blocking, so Open() never waits for a writer). Reading
//   a stream would block the capture thread, and with it the agent's shutdown, on the
//   writer; a capture file is read as fast as the engine can take it.
// - pcapng blocks are read whole, up to 16 MiB; a larger block of a type that is skipped
//   is read past, a larger one of a type that is parsed is corruption.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "read_window.h"

namespace dicap {

struct CapturedFrame {
  const uint8_t* data;  // valid until the next Next() call or Close()
  uint32_t cap_len;     // bytes present in data
  uint32_t wire_len;    // original length on the wire
  uint64_t ts_ns;       // Unix time in nanoseconds
};

class CaptureFile {
 public:
  // libpcap's largest accepted captured length for Ethernet (MAXIMUM_SNAPLEN).
  static constexpr uint32_t kMaxCapLen = 262144;

  // `read_chunk`: see ReadWindow (tests and fuzzers use tiny ones).
  explicit CaptureFile(size_t read_chunk = ReadWindow::kDefaultChunk) : window_(read_chunk) {}
  ~CaptureFile();
  CaptureFile(const CaptureFile&) = delete;
  CaptureFile& operator=(const CaptureFile&) = delete;

  // Opens the file and checks its header (for pcapng: everything up to the first packet
  // block). Closes a file that was open before. false → error() says why.
  bool Open(const std::string& path);

  enum class Status { kFrame, kEnd, kError };
  // kFrame fills *frame. kEnd and kError are sticky: later calls return them again.
  // kError → error() names the problem, its byte offset and how many frames came before.
  Status Next(CapturedFrame* frame);

  // Closes the file; safe to call twice. Next() after Close() returns kError.
  void Close();

  // One line: the file's path, the problem, and the fix where there is one.
  const std::string& error() const { return error_; }
  // Frames returned by Next() so far.
  uint64_t frames_read() const { return frames_read_; }
  // Offset of the next unread record or block; after kError, where the bad one starts.
  uint64_t byte_offset() const { return window_.offset(); }

 private:
  enum class Format { kClosed, kPcap, kPcapng };
  // How a classic pcap record orders its two length fields (see the file comment).
  enum class LengthOrder { kCapturedFirst, kWireFirst, kGuess };

  // One pcapng interface: what its packets are and how to read their time stamps.
  struct Interface {
    uint16_t link_type;
    uint32_t snaplen;           // already adjusted: 0 or too big → kMaxCapLen
    uint64_t ticks_per_second;  // 10^n or 2^n, from if_tsresol (default 10^6)
    bool binary_resolution;     // ticks_per_second is a power of 2
    int64_t offset_seconds;     // if_tsoffset
  };

  // A pcapng block whose length fields were checked and that lies inside the file.
  struct Block {
    uint64_t offset;
    uint32_t type;
    uint32_t total_length;
    const uint8_t* body;  // after type and length, before the trailing length
    uint32_t body_length;
  };

  bool OpenPcap();
  bool OpenPcapng();
  Status NextPcap(CapturedFrame* frame);
  Status NextPcapng(CapturedFrame* frame);

  // After the file ended early: kEnd when it ended at a record boundary and has all the
  // bytes it had when opened, else kError with `problem` (or the read error, or "the file
  // shrank"). ReadProblem(): that error, or "" when there is none.
  Status Truncated(const std::string& problem);
  std::string ReadProblem() const;

  // pcapng: handles section headers, interface descriptions and blocks to skip until a
  // packet block, which is returned in *block but not consumed.
  Status SkipToPacketBlock(Block* block);
  // Checks and reads the block at the current position. A block larger than
  // 16 MiB that is skipped anyway is read past at once: body is nullptr then.
  bool ReadBlock(Block* block);
  bool FailLengths(const Block& block, uint32_t trailing_length);
  bool StartSection(const Block& block);
  bool AddInterface(const Block& block);
  bool PacketInterface(const Block& block, uint32_t* interface_id);
  bool RequireEthernetInterface(const Block& block, uint32_t interface_id);
  Status DecodePacketBlock(const Block& block, CapturedFrame* frame);
  bool TicksToNanoseconds(const Block& block, const Interface& itf, uint64_t ticks, uint64_t* ts_ns);

  uint16_t U16(const uint8_t* p) const;
  uint32_t U32(const uint8_t* p) const;
  uint64_t U64(const uint8_t* p) const;

  // Both record `path: problem` in error_ and make reading stop with kError.
  bool FailOpen(const std::string& problem);  // also closes
  Status Fail(const std::string& problem);
  // "at byte N (after frame M)", the location every error message carries.
  std::string Where(uint64_t at) const;

  std::string path_;
  std::string error_;
  Format format_ = Format::kClosed;
  Status finished_ = Status::kFrame;  // kEnd or kError once reading has stopped
  ReadWindow window_;
  uint64_t opened_size_ = 0;  // the file's size when it was opened
  uint64_t frames_read_ = 0;
  bool swapped_ = false;  // the file (or pcapng section) is in the other byte order

  // Classic pcap.
  uint32_t snaplen_ = kMaxCapLen;
  bool nanosecond_ = false;
  LengthOrder length_order_ = LengthOrder::kCapturedFirst;

  // pcapng: the interfaces of the current section, by interface id.
  std::vector<Interface> interfaces_;
};

// "IEEE802_11_RADIOTAP" for 127, nullptr for a link type not in dicap's small table.
const char* LinkTypeName(uint32_t link_type);

}  // namespace dicap
