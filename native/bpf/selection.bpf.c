// dicap's selection in the kernel: protocol/SPEC.md §4 (the three modes, the same hashes
// and keys as native/src/frame_key.cc and selector.cc) and §6.10 (staged topologies, the
// in-band switch frame), built twice from one classifier:
//   - dicap_xdp:    XDP on the passive interface; another node's frames are dropped before
//                   any socket sees them (--distribute, --selection xdp)
//   - dicap_socket: a socket filter on the agent's ring (SO_ATTACH_BPF); returns the bytes to
//                   keep, 0 for another node's frames (--selection socket)
// Compiled by clang -target bpf at build time (binding.gyp), loaded with libbpf.
// linux/bpf.h first: the helper declarations need its types (kept apart from the sorted block).
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

#include "selection_abi.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, DICAP_SLOTS);
  // User space writes a slot in place (mmap), its state last, so the program never sees a
  // half-written topology in force.
  __uint(map_flags, BPF_F_MMAPABLE);
  __type(key, __u32);
  __type(value, struct dicap_slot);
} dicap_slots SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, DICAP_SLOTS);
  __type(key, __u32);
  __type(value, struct dicap_owners);
} dicap_owners SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct dicap_settings);
} dicap_settings SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, DICAP_SLOTS + 1);
  __type(key, __u32);
  __type(value, struct dicap_counters);
} dicap_counters SEC(".maps");

#define ETH_HLEN_ 14
#define INBAND_ETHERTYPE 0x88B5
// What the program reads of an in-band TOPOLOGY_UPDATE (SPEC §6.10): magic 0x4443, version 1,
// TYP 3, LEN, then TOKEN_HI (AVP 96) and TOKEN_LO (AVP 97) as the first two AVPs.
#define SWITCH_PAYLOAD_LEN 16

enum verdict { VERDICT_DROP, VERDICT_SNAPLEN, VERDICT_WHOLE };

// Reads n bytes at off; the caller has checked off + n <= the selection length. One
// classifier serves both program types: `xdp` is a constant after inlining.
static __always_inline int load(void* ctx, int xdp, __u32 off, void* to, __u32 n) {
  return xdp ? bpf_xdp_load_bytes(ctx, off, to, n) : bpf_skb_load_bytes(ctx, off, to, n);
}

static __always_inline __u16 be16(const __u8* p) {
  return ((__u16)p[0] << 8) | p[1];
}

static __always_inline __u32 be32(const __u8* p) {
  return ((__u32)p[0] << 24) | ((__u32)p[1] << 16) | ((__u32)p[2] << 8) | p[3];
}

static __always_inline int is_vlan_tpid(__u16 type) {
  return type == 0x8100 || type == 0x88A8 || type == 0x9100;
}

static __always_inline int has_ports(__u32 proto) {
  return proto == 6 || proto == 17 || proto == 132 || proto == 136;
}

static __always_inline int walked_extension(__u8 type) {
  return type == 0 || type == 43 || type == 60 || type == 51 || type == 44;
}

struct frame_key {
  __u32 a, p, proto;
  __u32 has_ipv4_id;
  __u32 ipv4_id;
};

static __always_inline __u32 port_word(void* ctx, int xdp, __u32 off, __u32 len, __u32 proto, int fragment) {
  __u8 ports[4];
  if (fragment || !has_ports(proto) || off > len || len - off < 4) return 0;
  if (load(ctx, xdp, off, ports, 4)) return 0;
  return be16(ports) ^ be16(ports + 2);
}

// SPEC §4 "Parsing a frame" on the first `len` bytes (len >= 14), as ParseFrameKey.
static __always_inline void parse(void* ctx, int xdp, __u32 len, const __u8* eth, struct frame_key* key) {
  __u32 type_off = 12;
  __u16 type = be16(eth + 12);
#pragma unroll
  for (int tags = 0; tags < 2; tags++) {
    if (!is_vlan_tpid(type) || type_off + 6 > len) break;
    __u8 next[2];
    type_off += 4;
    if (load(ctx, xdp, type_off, next, 2)) break;
    type = be16(next);
  }
  const __u32 l3 = type_off + 2;

  if (type == 0x0800 && len - l3 >= 20) {
    __u8 ip[20];
    if (load(ctx, xdp, l3, ip, 20) == 0 && (ip[0] >> 4) == 4) {
      const __u32 header_len = (ip[0] & 0x0F) * 4;
      if (header_len >= 20 && header_len <= len - l3) {
        const int fragment = (be16(ip + 6) & 0x3FFF) != 0;
        key->a = be32(ip + 12) ^ be32(ip + 16);
        key->proto = ip[9];
        key->p = port_word(ctx, xdp, l3 + header_len, len, key->proto, fragment);
        key->has_ipv4_id = 1;
        key->ipv4_id = be16(ip + 4);
        return;
      }
    }
  }
  if (type == 0x86DD && len - l3 >= 40) {
    __u8 ip[40];
    if (load(ctx, xdp, l3, ip, 40) == 0 && (ip[0] >> 4) == 6) {
      __u32 a = 0;
#pragma unroll
      for (int word = 8; word < 40; word += 4) a ^= be32(ip + word);
      key->a = a;
      __u8 next = ip[6];
      __u32 off = l3 + 40;
      int fragment = 0;
      for (int walked = 0; walked < 8; walked++) {
        if (!walked_extension(next)) break;
        __u8 ext[2];
        __u32 ext_len = 0;
        if (off + 2 <= len && load(ctx, xdp, off, ext, 2) == 0) {
          if (next == 51)
            ext_len = ((__u32)ext[1] + 2) * 4;
          else if (next == 44)
            ext_len = 8;
          else
            ext_len = ((__u32)ext[1] + 1) * 8;
        }
        if (ext_len == 0 || ext_len > len - off) {
          // Cut off: the walk stops here, this header names the protocol, no ports.
          key->proto = next;
          key->p = 0;
          return;
        }
        if (next == 44) fragment = 1;
        next = ext[0];
        off += ext_len;
      }
      key->proto = next;
      key->p = port_word(ctx, xdp, off, len, next, fragment);
      return;
    }
  }
  // Anything else: the three words of the MAC addresses and the EtherType.
  key->a = be32(eth) ^ be32(eth + 4) ^ be32(eth + 8);
  key->p = 0;
  key->proto = type;
}

static __always_inline struct dicap_counters* counters(__u32 index) {
  return bpf_map_lookup_elem(&dicap_counters, &index);
}

// An in-band TOPOLOGY_UPDATE carrying the token of a staged topology brings that topology into
// force (§6.10). The program cannot check the HMAC; the token, handed over on the
// authenticated control channel and spent at its first use, stands in for it.
static __always_inline void try_switch(void* ctx, int xdp, __u32 len) {
  __u8 payload[SWITCH_PAYLOAD_LEN];
  if (len < ETH_HLEN_ + SWITCH_PAYLOAD_LEN || load(ctx, xdp, ETH_HLEN_, payload, SWITCH_PAYLOAD_LEN)) return;
  if (be16(payload) != 0x4443 || payload[2] != 1 || payload[3] != 3 || payload[6] != 96 || payload[11] != 97)
    return;
  const __u64 token = ((__u64)be32(payload + 7) << 32) | be32(payload + 12);
  if (token == 0) return;
#pragma unroll
  for (__u32 i = 0; i < DICAP_SLOTS; i++) {
    __u32 index = i;
    struct dicap_slot* slot = bpf_map_lookup_elem(&dicap_slots, &index);
    if (!slot || slot->state != DICAP_SLOT_AWAITING || slot->token != token) continue;
    // One frame, one switch: the compare-and-swap lets exactly one CPU spend the token.
    if (__sync_val_compare_and_swap(&slot->state, DICAP_SLOT_AWAITING, DICAP_SLOT_SWITCHED) !=
        DICAP_SLOT_AWAITING)
      continue;
    slot->round_robin = 0;
    struct dicap_counters* global = counters(DICAP_GLOBAL_COUNTERS);
    if (global) global->switches++;
  }
}

static __always_inline int newer(const struct dicap_slot* a, const struct dicap_slot* b) {
  return a->term != b->term ? a->term > b->term : a->epoch > b->epoch;
}

static __always_inline enum verdict classify(void* ctx, int xdp, __u32 wire_len, int tagged) {
  __u32 zero = 0;
  const struct dicap_settings* settings = bpf_map_lookup_elem(&dicap_settings, &zero);
  if (!settings) return VERDICT_WHOLE;
  const __u32 len = wire_len < settings->snaplen ? wire_len : settings->snaplen;

  __u8 eth[ETH_HLEN_];
  const int runt = len < ETH_HLEN_ || load(ctx, xdp, 0, eth, ETH_HLEN_) != 0;
  if (!runt && !tagged && be16(eth + 12) == INBAND_ETHERTYPE) {
    struct dicap_counters* global = counters(DICAP_GLOBAL_COUNTERS);
    if (global) global->inband++;
    // Its first 30 bytes decide; read them whatever the snaplen. In-band frames are outside
    // round-robin's C on every node (§6.10), and user space judges each one (§2).
    try_switch(ctx, xdp, wire_len);
    return VERDICT_WHOLE;
  }

  // The topology in force: the newest (term, epoch) that has come into force.
  const __u64 now = bpf_ktime_get_tai_ns();
  struct dicap_slot* current = 0;
  __u32 current_index = 0;
  int near_start = 0;
#pragma unroll
  for (__u32 i = 0; i < DICAP_SLOTS; i++) {
    __u32 index = i;
    struct dicap_slot* slot = bpf_map_lookup_elem(&dicap_slots, &index);
    if (!slot || slot->node_count == 0) continue;
    int in_force = slot->state == DICAP_SLOT_SWITCHED;
    if (slot->state == DICAP_SLOT_TIMED) {
      in_force = now >= slot->start_tai_ns;
      const __u64 distance = in_force ? now - slot->start_tai_ns : slot->start_tai_ns - now;
      if (distance < settings->guard_ns) near_start = 1;
    }
    if (in_force && (!current || newer(slot, current))) {
      current = slot;
      current_index = i;
    }
  }
  if (!current || near_start) {
    struct dicap_counters* global = counters(DICAP_GLOBAL_COUNTERS);
    if (global) global->undecided++;
    return VERDICT_SNAPLEN;
  }

  const __u32 n = current->node_count;
  __u32 position;
  if (current->mode == DICAP_MODE_ROUND_ROBIN) {
    // Every traffic frame advances C; a runt belongs to position 0 (SPEC §4, §6.6).
    const __u64 c = __sync_fetch_and_add(&current->round_robin, 1);
    position = runt ? 0 : (__u32)(c % n);
  } else if (runt) {
    position = 0;
  } else {
    struct frame_key key = {};
    parse(ctx, xdp, len, eth, &key);
    const __u32 flow_hash = dicap_fmix32(key.a ^ ((key.p << 16) | (key.proto & 0xFFFF)) ^ current->k0);
    if (current->mode == DICAP_MODE_FLOW) {
      const struct dicap_owners* owners = bpf_map_lookup_elem(&dicap_owners, &current_index);
      position = owners ? owners->position[flow_hash & (DICAP_BUCKETS - 1)] : 0;
    } else {
      const __u32 hash = key.has_ipv4_id ? dicap_fmix32(key.ipv4_id ^ current->k0) : flow_hash;
      position = hash % n;
    }
  }

  struct dicap_counters* mine = counters(current_index);
  const int owned = (__s32)position == current->position;
  if (mine) {
    mine->seen++;
    if (owned)
      mine->owned++;
    else
      mine->not_owned++;
  }
  return owned ? VERDICT_SNAPLEN : VERDICT_DROP;
}

SEC("xdp")
int dicap_xdp(struct xdp_md* ctx) {
  // XDP sees the frame as the driver has it; an outer VLAN tag the driver took out is not
  // visible here (nor to parsing, which skips tags anyway).
  return classify(ctx, 1, bpf_xdp_get_buff_len(ctx), 0) == VERDICT_DROP ? XDP_DROP : XDP_PASS;
}

SEC("socket")
int dicap_socket(struct __sk_buff* skb) {
  const enum verdict verdict = classify(skb, 0, skb->len, skb->vlan_present);
  if (verdict == VERDICT_DROP) return 0;
  if (verdict == VERDICT_WHOLE) return 0xFFFF;
  __u32 zero = 0;
  const struct dicap_settings* settings = bpf_map_lookup_elem(&dicap_settings, &zero);
  return settings ? settings->snaplen : 0xFFFF;
}
