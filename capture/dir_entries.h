// Directory listings for the walk: one getdents64 loop, no DIR stream.
#pragma once

#include <dirent.h>
#include <sys/types.h>

#include <cerrno>
#include <cstring>
#include <string_view>

namespace procsnap {

// Calls each(name, d_type) for every entry of the open directory `fd` but
// "." and "..", as getdents64 gives them: fdopendir and readdir cost an
// fstat, an fcntl and a 32 KiB buffer per directory (~180 directories a
// light tick idle). 0, or the errno of the read that failed (the entries
// before it were given).
template <class Each>
int ForEachEntry(int fd, Each&& each) {
  alignas(8) char buf[8192];
  for (;;) {
    ssize_t n = ::getdents64(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) return 0;
    for (ssize_t at = 0; at < n;) {
      const auto* e = reinterpret_cast<const struct dirent64*>(buf + at);
      at += e->d_reclen;
      const char* name = e->d_name;
      if (name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0))) continue;
      each(std::string_view(name, std::strlen(name)), e->d_type);
    }
  }
}

}  // namespace procsnap
