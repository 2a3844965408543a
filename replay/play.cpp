// PlayRecording: a command whose /proc is a recording moving in time. A
// clock maps real time to recorded time (from + elapsed x speed, paused,
// stepped or moved by commands); a thread asks the FUSE server for the
// snapshot of that time, which it serves from its next quiet moment.
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "fuse_server.h"

namespace procsnap {

namespace {

using Steady = std::chrono::steady_clock;

constexpr const char* kFakeTimeLibrary = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

// Recorded time as a function of real time.
class PlayClock {
 public:
  PlayClock(std::vector<int64_t> times, size_t from, size_t to, double speed, bool loop, bool paused)
      : times_(std::move(times)), from_(from), to_(to), speed_(speed), loop_(loop), paused_(paused) {
    anchorVirtual_ = times_[from_];
    anchorReal_ = Steady::now();
    // After the last snapshot a loop waits one typical interval.
    gap_ = to_ > from_ ? (times_[to_] - times_[from_]) / int64_t(to_ - from_) : int64_t(1e9);
  }

  // The snapshot of the recorded time now.
  size_t current() {
    std::lock_guard<std::mutex> lock(mu_);
    int64_t v = virtualNow();
    if (loop_ && !paused_ && v >= times_[to_] + gap_) {  // again from the start
      anchorVirtual_ = times_[from_];
      anchorReal_ = Steady::now();
      v = anchorVirtual_;
    }
    return indexOf(v);
  }

  // One line of --control; an error message, or "" when done.
  std::string command(const std::string& line, const std::function<Result<size_t>(const std::string&)>& find) {
    std::lock_guard<std::mutex> lock(mu_);
    std::istringstream in(line);
    std::string verb, arg;
    in >> verb;
    std::getline(in, arg);
    arg.erase(0, arg.find_first_not_of(' '));
    const size_t now = indexOf(virtualNow());
    if (verb == "pause") {
      anchorVirtual_ = virtualNow(), paused_ = true;
    } else if (verb == "resume") {
      anchorReal_ = Steady::now(), paused_ = false;
    } else if (verb == "step" || verb == "back") {
      size_t next = verb == "step" ? std::min(now + 1, to_) : (now > from_ ? now - 1 : from_);
      anchorVirtual_ = times_[next], paused_ = true;
    } else if (verb == "seek") {
      auto i = find(arg);
      if (!i.ok()) return i.status().message();
      if (*i < from_ || *i > to_) return "seek: snapshot " + std::to_string(*i) + " is outside --from/--to";
      anchorVirtual_ = times_[*i], anchorReal_ = Steady::now();
    } else if (verb == "speed") {
      char* end = nullptr;
      const double f = std::strtod(arg.c_str(), &end);
      if (end == arg.c_str() || !(f > 0) || f > 1e6) return "speed: a number above 0, not '" + arg + "'";
      anchorVirtual_ = virtualNow(), anchorReal_ = Steady::now(), speed_ = f;
    } else if (!verb.empty()) {
      return "unknown command '" + verb + "' (pause, resume, step, back, seek TIME, speed F)";
    }
    return "";
  }

  bool paused() {
    std::lock_guard<std::mutex> lock(mu_);
    return paused_;
  }
  double speed() {
    std::lock_guard<std::mutex> lock(mu_);
    return speed_;
  }

 private:
  int64_t virtualNow() const {
    if (paused_) return anchorVirtual_;
    const double elapsed = std::chrono::duration<double, std::nano>(Steady::now() - anchorReal_).count();
    return anchorVirtual_ + int64_t(elapsed * speed_);
  }
  size_t indexOf(int64_t v) const {  // the newest snapshot taken at or before v
    auto it = std::upper_bound(times_.begin() + from_, times_.begin() + to_ + 1, v);
    return it == times_.begin() + from_ ? from_ : size_t(it - times_.begin()) - 1;
  }

  std::mutex mu_;
  std::vector<int64_t> times_;
  size_t from_, to_;
  double speed_;
  bool loop_, paused_;
  int64_t anchorVirtual_ = 0, gap_ = 0;
  Steady::time_point anchorReal_;
};

volatile sig_atomic_t gResized = 0;
void OnResize(int) { gResized = 1; }

// play owns the terminal: the command runs on a pseudo-terminal, every key
// is forwarded to it but those after the prefix (Ctrl-], as telnet's
// escape), which steer the clock. The terminal is raw while it runs.
class KeyboardRelay {
 public:
  static constexpr unsigned char kPrefix = 0x1d;  // Ctrl-]

  // Opens the pseudo-terminal with the terminal's modes and size; -1 when
  // standard input is no terminal.
  bool open() {
    if (!::isatty(0) || ::tcgetattr(0, &saved_) != 0) return false;
    struct winsize ws{};
    ::ioctl(0, TIOCGWINSZ, &ws);
    if (::openpty(&master_, &slave_, nullptr, &saved_, &ws) != 0) return false;
    ::fcntl(master_, F_SETFD, FD_CLOEXEC);
    struct termios raw = saved_;
    ::cfmakeraw(&raw);
    ::tcsetattr(0, TCSANOW, &raw);  // not TCSAFLUSH: keys typed ahead are the command's
    raw_ = true;
    struct sigaction act{};
    act.sa_handler = OnResize;
    ::sigaction(SIGWINCH, &act, &oldWinch_);
    return true;
  }
  int slave() const { return slave_; }

  // Relays until the command's side closes; `key` gets each key after the
  // prefix, and the keys after it while it returns true (a typed time).
  void run(const std::function<bool(char)>& key) {
    ::close(slave_);  // the child holds its own copy
    slave_ = -1;
    bool prefixed = false, typing = false;
    char buf[4096];
    for (;;) {
      if (gResized) {
        gResized = 0;
        struct winsize ws{};
        if (::ioctl(0, TIOCGWINSZ, &ws) == 0) ::ioctl(master_, TIOCSWINSZ, &ws);
      }
      struct pollfd p[2] = {{0, POLLIN, 0}, {master_, POLLIN, 0}};
      if (::poll(p, 2, 100) < 0 && errno != EINTR) break;
      if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
        const ssize_t n = ::read(master_, buf, sizeof buf);
        if (n <= 0) break;  // EIO: the command and its children closed the terminal
        for (ssize_t off = 0; off < n;) {
          const ssize_t w = ::write(1, buf + off, size_t(n - off));
          if (w <= 0) break;
          off += w;
        }
      }
      if (p[0].revents & POLLIN) {
        const ssize_t n = ::read(0, buf, sizeof buf);
        if (n <= 0) continue;
        std::string forward;
        for (ssize_t i = 0; i < n; ++i) {
          const unsigned char c = static_cast<unsigned char>(buf[i]);
          if (typing) {
            typing = key(char(c));
          } else if (prefixed) {
            prefixed = false;
            if (c == kPrefix) forward.push_back(char(c));  // the prefix twice: the key itself
            else typing = key(char(c));
          } else if (c == kPrefix) {
            prefixed = true;
          } else {
            forward.push_back(char(c));
          }
        }
        if (!forward.empty()) (void)!::write(master_, forward.data(), forward.size());
      }
    }
  }

  ~KeyboardRelay() {
    if (raw_) ::tcsetattr(0, TCSAFLUSH, &saved_);
    if (raw_) ::sigaction(SIGWINCH, &oldWinch_, nullptr);
    if (master_ >= 0) ::close(master_);
    if (slave_ >= 0) ::close(slave_);
  }

 private:
  struct termios saved_{};
  struct sigaction oldWinch_{};
  int master_ = -1, slave_ = -1;
  bool raw_ = false;
};

// "2026-11-23 07:11:05" in UTC, as libfaketime's start-at takes it: WallTime's
// ISO form without the T, the milliseconds and the Z.
std::string FakeTimeStamp(int64_t wallNs) {
  std::string t = WallTime(wallNs).substr(0, 19);
  t[10] = ' ';
  return t;
}

}  // namespace

bool FakeClockAvailable() { return ::access(kFakeTimeLibrary, R_OK) == 0; }

Result<PlayEnd> PlayRecording(std::shared_ptr<ArchiveReader> archive, const std::vector<std::string>& argv,
                              const PlayOptions& o) {
  const size_t count = archive->snapshotCount();
  if (count == 0) return Status::NotFound(archive->path() + ": holds no snapshot");
  const size_t to = std::min(o.to, count - 1);
  if (o.from > to)
    return Status::InvalidArgument("--from (snapshot " + std::to_string(o.from) + ") is after --to (snapshot " +
                                   std::to_string(to) + ")");
  if (!(o.speed > 0) || o.speed > 1e6) return Status::InvalidArgument("--speed takes a number above 0");
  std::vector<int64_t> times(count);
  for (size_t i = 0; i < count; ++i) times[i] = archive->summary(i).startWallNs;
  for (size_t i = 1; i < count; ++i) times[i] = std::max(times[i], times[i - 1]);  // recorded order decides
  PlayClock clock(times, o.from, to, o.speed, o.loop, o.paused);
  KeyboardRelay keyboard;
  const bool keys = o.keyboard && keyboard.open();

  int control = -1;
  if (!o.control.empty()) {
    // Read and write: the FIFO never reports end-of-file between two writers.
    control = ::open(o.control.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (control < 0) return Status::FromErrno(o.control + ": cannot open the control FIFO", errno);
  }
  std::vector<std::string> env;
  if (o.fakeClock && FakeClockAvailable()) {
    const char* preload = ::getenv("LD_PRELOAD");
    env.push_back(std::string("LD_PRELOAD=") + kFakeTimeLibrary + (preload && *preload ? std::string(":") + preload : ""));
    char speed[32];
    std::snprintf(speed, sizeof speed, "%g", o.speed);
    env.push_back("FAKETIME=@" + FakeTimeStamp(times[o.from]) + " x" + speed);
    env.push_back("FAKETIME_DONT_RESET=1");  // children go on with the clock rather than start it again
    env.push_back("TZ=UTC");
  }

  std::atomic<bool> done{false};
  std::thread driver;
  FuseServer* server = nullptr;
  auto find = [&](const std::string& at) { return FindSnapshot(*archive, at); };
  std::thread relay;
  auto ended = [&] {
    done = true;
    if (driver.joinable()) driver.join();
    if (relay.joinable()) relay.join();
  };
  // Keys after the prefix: space pause/resume, n step, p back, + and -
  // speed x2 and /2, 0 and $ the first and last snapshot, g a time typed
  // then Enter (shown in the title; Esc cancels), i a line saying where
  // the recording is. Returns whether it wants the next key too.
  std::string typed;
  bool typing = false;
  auto key = [&](char c) -> bool {
    std::string line;
    if (typing) {
      if (c == '\r' || c == '\n') {
        typing = false;
        line = "seek " + typed;
      } else if (c == 27 || c == 3) {  // Esc, Ctrl-C
        typing = false;
        if (o.title) o.title(clock.current(), clock.paused(), clock.speed(), "");
        return false;
      } else {
        if (c == 127 || c == 8) {
          if (!typed.empty()) typed.pop_back();
        } else if (typed.size() < 64 && c >= ' ') {
          typed.push_back(c);
        }
        if (o.title) o.title(clock.current(), clock.paused(), clock.speed(), "seek to: " + typed);
        return true;
      }
    } else {
      switch (c) {
        case ' ': line = clock.paused() ? "resume" : "pause"; break;
        case 'n': line = "step"; break;
        case 'p': line = "back"; break;
        case '+': line = "speed " + std::to_string(clock.speed() * 2); break;
        case '-': line = "speed " + std::to_string(clock.speed() / 2); break;
        case '0': line = "seek " + std::to_string(o.from); break;
        case '$': line = "seek " + std::to_string(to); break;
        case 'g':
          typing = true;
          typed.clear();
          if (o.title) o.title(clock.current(), clock.paused(), clock.speed(), "seek to (a time as --at, Enter): ");
          return true;
        case 'i': {
          const size_t i = clock.current();
          char msg[160];
          std::snprintf(msg, sizeof msg, "\r\n[procsnap play: snapshot %zu of %zu, %s%s, x%g]\r\n", i, count,
                        WallTime(times[i]).c_str(), clock.paused() ? ", paused" : "", clock.speed());
          (void)!::write(1, msg, std::strlen(msg));
          return false;
        }
        default: return false;
      }
    }
    if (std::string err = clock.command(line, find); !err.empty() && o.say) o.say("play: " + err);
    if (server) server->show(clock.current(), true);  // before the next key reaches the command
    if (o.title) o.title(clock.current(), clock.paused(), clock.speed(), "");
    return false;
  };
  auto started = [&](FuseServer& s) {
    server = &s;
    if (keys) relay = std::thread([&] { keyboard.run(key); });
    driver = std::thread([&] {
      std::string pending;
      size_t shown = SIZE_MAX;
      std::set<size_t> prefetched;
      Steady::time_point changed = Steady::now();
      while (!done.load()) {
        struct pollfd p = {control, POLLIN, 0};
        if (control >= 0 && ::poll(&p, 1, 10) > 0) {
          char buf[512];
          const ssize_t n = ::read(control, buf, sizeof buf);
          if (n > 0) pending.append(buf, size_t(n));
          for (size_t nl; (nl = pending.find('\n')) != std::string::npos;) {
            const std::string line = pending.substr(0, nl);
            pending.erase(0, nl + 1);
            const std::string err = clock.command(line, find);
            if (!err.empty() && o.say) o.say("play: --control: " + err);
            if (err.empty()) s.show(clock.current(), true);  // a command is a boundary of its own
            changed = Steady::now();
          }
          if (pending.size() > 4096) pending.clear();  // no line: nothing to keep
        } else if (control < 0) {
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        const size_t want = clock.current();
        s.show(want);
        // Decoded ahead on this thread: the next snapshot and its neighbour
        // back (where step and back lead), once each; not in the first
        // 100 ms of a moment, when the tool's own reads of it want the
        // reader (its chunk cache is shared).
        if (want != shown) changed = Steady::now();
        if (Steady::now() - changed > std::chrono::milliseconds(100)) {
          for (size_t ahead : {want + 1, want == 0 ? want : want - 1})
            if (ahead <= to && ahead >= o.from && prefetched.insert(ahead).second) s.prefetch(ahead);
          if (prefetched.size() > 64) prefetched.clear();
        }
        if (want != shown && o.title && !typing) o.title(want, clock.paused(), clock.speed(), "");
        shown = want;
      }
    });
  };
  size_t last = o.from;
  MountOptions mo;
  mo.allowOther = true;
  mo.sizes = o.sizes;
  mo.errors = o.errors;
  auto status = RunWithProc(
      [&]() -> Result<std::unique_ptr<FuseServer>> {
        return FuseServer::MountPlaying(archive, "/proc", mo, o.from, o.quiet, o.longest);
      },
      argv, env, started,
      [&] {
        ended();
        if (server) last = server->showing();
      },
      keys ? keyboard.slave() : -1);
  if (control >= 0) ::close(control);
  if (!status.ok()) return status.status();
  return PlayEnd{*status, last};
}

}  // namespace procsnap
