// Dropping root after start (issue 11 case 9): a component opens its privileged sockets as
// root, then becomes an unprivileged user keeping only the capabilities it still needs.
//
// dropPrivileges(user, keep) — user: a name from the passwd database; keep: capability
// numbers (linux/capability.h) the calling thread keeps, effective and permitted; every other
// capability is gone from every thread. How: PR_SET_KEEPCAPS on this thread, then
// setgroups/setresgid/setresuid, which glibc applies to every thread of the process (the
// kernel clears the permitted set of each thread that does not keep its capabilities), then
// capset() on this thread (the one JavaScript runs on) to exactly `keep`, and
// PR_SET_NO_NEW_PRIVS so no exec can ever regain more. Throws one line naming the problem.
#include <grp.h>
#include <linux/capability.h>
#include <napi.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "bindings.h"

namespace dicap {
namespace {

std::string Failed(const std::string& what) {
  return what + " failed (" + std::strerror(errno) + ")";
}

Napi::Value DropPrivileges(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 2 || !info[0].IsString() || !info[1].IsArray())
    throw Napi::TypeError::New(env,
                               "dropPrivileges(user, keep): a user name and an array of capability numbers");
  const std::string user = info[0].As<Napi::String>();
  const Napi::Array keep = info[1].As<Napi::Array>();
  __u32 mask[2] = {0, 0};
  for (uint32_t i = 0; i < keep.Length(); ++i) {
    const uint32_t cap = keep.Get(i).As<Napi::Number>().Uint32Value();
    if (cap > CAP_LAST_CAP)
      throw Napi::RangeError::New(env, "capability " + std::to_string(cap) + " is unknown");
    mask[cap / 32] |= 1u << (cap % 32);
  }
  if (geteuid() != 0) throw Napi::Error::New(env, "--user " + user + " needs the process to start as root");

  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* found = nullptr;
  const int lookup = getpwnam_r(user.c_str(), &entry, buffer.data(), buffer.size(), &found);
  if (lookup != 0 || found == nullptr)
    throw Napi::Error::New(env,
                           "--user " + user + ": no such user; create it (useradd --system " + user + ")");
  if (found->pw_uid == 0)
    throw Napi::Error::New(env, "--user " + user + " is root (uid 0); give an unprivileged user");
  const uid_t uid = found->pw_uid;
  const gid_t gid = found->pw_gid;

  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) throw Napi::Error::New(env, Failed("prctl(PR_SET_KEEPCAPS)"));
  if (setgroups(1, &gid) != 0) throw Napi::Error::New(env, Failed("setgroups"));
  if (setresgid(gid, gid, gid) != 0) throw Napi::Error::New(env, Failed("setresgid"));
  if (setresuid(uid, uid, uid) != 0) throw Napi::Error::New(env, Failed("setresuid"));
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {{mask[0], mask[0], 0}, {mask[1], mask[1], 0}};
  if (syscall(SYS_capset, &header, data) != 0) throw Napi::Error::New(env, Failed("capset"));
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0)
    throw Napi::Error::New(env, Failed("prctl(PR_SET_KEEPCAPS, 0)"));
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    throw Napi::Error::New(env, Failed("prctl(PR_SET_NO_NEW_PRIVS)"));

  Napi::Object result = Napi::Object::New(env);
  result.Set("uid", Napi::Number::New(env, uid));
  result.Set("gid", Napi::Number::New(env, gid));
  return result;
}

}  // namespace

void RegisterPrivilegesBindings(Napi::Env env, Napi::Object exports) {
  exports.Set("dropPrivileges", Napi::Function::New(env, DropPrivileges, "dropPrivileges"));
}

}  // namespace dicap
