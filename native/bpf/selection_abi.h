// The maps of the kernel selection program (selection.bpf.c) as both sides see them, and
// the hash both compute: the BPF program, its user-space loader (native/src/kernel_selection.cc)
// and the user-space selection (native/src/frame_key.h) include this header. Only
// fixed-width kernel types, so the layout is the same for clang -target bpf and g++.
#pragma once

#include <linux/types.h>

// MurmurHash3's 32-bit finaliser: the only mixing function of the protocol (SPEC.md §4).
static inline __attribute__((always_inline)) __u32 dicap_fmix32(__u32 x) {
  x ^= x >> 16;
  x *= 0x85EBCA6Bu;
  x ^= x >> 13;
  x *= 0xC2B2AE35u;
  x ^= x >> 16;
  return x;
}

// Topologies the program holds at once: the one in force, the next ones staged, and an old
// one the agent has not yet cleared. A slot is reused only after its epoch is long over.
#define DICAP_SLOTS 4
// SPEC.md §4 flow buckets.
#define DICAP_BUCKETS 4096
// Index in `dicap_counters` of the counters that belong to no topology.
#define DICAP_GLOBAL_COUNTERS DICAP_SLOTS

// dicap_slot.state
#define DICAP_SLOT_EMPTY 0
#define DICAP_SLOT_TIMED 1     // in force from start_tai_ns on (CLOCK_TAI, the program's clock)
#define DICAP_SLOT_AWAITING 2  // staged; comes into force at the in-band switch frame with `token`
#define DICAP_SLOT_SWITCHED 3  // its switch frame has passed: in force, the token is spent

// dicap_slot.mode: SELECTION_TYPE of SPEC.md §1.
#define DICAP_MODE_ROUND_ROBIN 1
#define DICAP_MODE_IPID 2
#define DICAP_MODE_FLOW 3

struct dicap_slot {
  __u32 state;
  __u32 term, epoch;
  __u32 mode;
  __u32 node_count;  // 1..65536
  __s32 position;    // this node's position, -1 when it is not a member (it owns nothing)
  __u32 k0, k1;
  __u64 start_tai_ns;  // DICAP_SLOT_TIMED
  __u64 token;         // DICAP_SLOT_AWAITING
  __u64 round_robin;   // C: traffic frames since the topology came into force (round-robin)
};

struct dicap_owners {
  __u16 position[DICAP_BUCKETS];  // flow mode: bucket -> owner position (FlowOwnerTable)
};

struct dicap_settings {
  __u32 snaplen;  // selection reads the first snaplen bytes (SPEC 6.6); the socket filter keeps them
  __u32 reserved;
  // Within guard_ns of a timed start the program cannot tell on which side of it a frame was
  // stamped, so it passes the frame up undecided and user space, which has the time stamp,
  // decides. 0 in distribution mode: local consumers get the kernel's verdict by its clock.
  __u64 guard_ns;
};

// Per CPU; entries 0..DICAP_SLOTS-1 count under that slot's topology, DICAP_GLOBAL_COUNTERS the rest.
struct dicap_counters {
  __u64 seen;       // traffic frames classified under this topology (slot entries)
  __u64 owned;      // of those, this node's: passed up
  __u64 not_owned;  // of those, another node's: dropped in the kernel
  __u64 undecided;  // passed up without a verdict (guard window, no topology in force)
  __u64 inband;     // EtherType 0x88B5 frames, always passed up (global entry)
  __u64 switches;   // switch frames that brought a staged topology into force (global entry)
};
