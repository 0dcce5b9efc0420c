// Pins a native thread to one CPU (`--cpus`). Pinning is a request: a CPU the process may not
// use (cgroup, taskset) makes it fail, and the thread then runs where the scheduler puts it.
#pragma once

#include <pthread.h>
#include <sched.h>

#include <thread>

namespace dicap {

// `cpu` < 0: leave the thread alone. Returns false when the kernel refused.
inline bool PinThread(std::thread& thread, int cpu) {
  if (cpu < 0) return true;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return pthread_setaffinity_np(thread.native_handle(), sizeof set, &set) == 0;
}

}  // namespace dicap
