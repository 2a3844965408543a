// Network namespaces: /proc/PID/net is read once per namespace; other
// processes get aliases that replay to the same bytes.
#define BOOST_TEST_MODULE netns
#include <boost/test/unit_test.hpp>

#include <sched.h>
#include <signal.h>
#include <sys/wait.h>

#include "capture/capture.h"
#include "format/archive.h"
#include "replay/replay.h"
#include "test_util.h"

using namespace procsnap;
using testutil::TempDir;

BOOST_AUTO_TEST_SUITE(netns)

BOOST_AUTO_TEST_CASE(own_namespace_gets_own_tables_shared_ones_get_aliases) {
  if (geteuid() != 0) {
    std::puts("SKIPPED: creating a network namespace needs root");
    return;
  }
  testutil::Child isolated({CHILD_HELPER, "--netns", "--threads", "2"}, {});
  testutil::Child shared1({CHILD_HELPER, "--threads", "2"}, {});
  testutil::Child shared2({CHILD_HELPER, "--threads", "1"}, {});
  TempDir out;
  std::string archive = out / "ns.psnap";
  {
    auto w = ArchiveWriter::Create(archive);
    CaptureOptions o;
    BOOST_REQUIRE(Capture(o, **w).ok());
    BOOST_REQUIRE((*w)->finish().ok());
  }
  auto view = View::Open(archive);
  const Snapshot& s = view->snapshot();
  auto netOf = [&](pid_t pid) {
    auto id = view->resolve("/proc/" + std::to_string(pid) + "/net", false);
    BOOST_REQUIRE(id.ok());
    return s.resolveAlias(*id);
  };
  NodeId iso = netOf(isolated.pid()), a = netOf(shared1.pid()), b = netOf(shared2.pid());
  BOOST_TEST(a == b);    // one directory stands for the whole namespace
  BOOST_TEST(iso != a);  // the isolated child has its own
  BOOST_TEST(s.metadata().counts.aliases > 0u);

  // The isolated namespace has only lo, and its TCP table has the listener.
  std::string isoPid = "/proc/" + std::to_string(isolated.pid());
  std::string dev = *view->read(isoPid + "/net/dev");
  BOOST_TEST(dev == testutil::ReadFile(isoPid + "/net/dev"));
  BOOST_TEST(dev.find("lo:") != std::string::npos);
  BOOST_TEST(dev.find("eth0") == std::string::npos);
  BOOST_TEST(*view->read(isoPid + "/net/tcp") == testutil::ReadFile(isoPid + "/net/tcp"));
  // Threads of a process share its namespace, and so its net directory.
  std::string task = isoPid + "/task/" + std::to_string(isolated.pid()) + "/net";
  BOOST_TEST(s.resolveAlias(*view->resolve(task, false)) == iso);
  // Aliased paths read back the bytes of the directory they stand for.
  for (const char* f : {"dev", "unix", "tcp", "snmp"}) {
    auto x = view->read("/proc/" + std::to_string(shared1.pid()) + "/net/" + f);
    auto y = view->read("/proc/" + std::to_string(shared2.pid()) + "/net/" + f);
    BOOST_REQUIRE(x.ok());
    BOOST_TEST(*x == *y);
  }
}

BOOST_AUTO_TEST_CASE(a_namespace_whose_first_process_exits_is_read_from_the_next) {
  if (geteuid() != 0) {
    std::puts("SKIPPED: creating a network namespace needs root");
    return;
  }
  // Two processes share a new network namespace. Whichever the capture
  // reaches first exits just as its net/ is to be read: the namespace must
  // then be read from the other, not recorded empty for both.
  testutil::Child first({CHILD_HELPER, "--netns-pair", "--threads", "1"}, {});
  const std::string firstPid = std::to_string(first.pid());
  pid_t second = std::atoi(testutil::ReadFile("/proc/" + firstPid + "/task/" + firstPid + "/children").c_str());
  BOOST_REQUIRE(second > 0);
  const std::string dev = testutil::ReadFile("/proc/" + firstPid + "/net/dev");
  TempDir out;
  std::string archive = out / "exit.psnap";
  pid_t victim = 0;
  {
    auto w = ArchiveWriter::Create(archive);
    CaptureOptions o;
    o.beforeNetnsRead = [&](const std::string& rel) {
      for (pid_t p : {first.pid(), second}) {
        if (victim || rel != std::to_string(p) + "/net") continue;
        victim = p;
        kill(p, SIGKILL);
        if (p == first.pid()) {
          waitpid(p, nullptr, 0);
        } else {  // not our child: poll until it is a zombie
          for (;;) {
            std::string stat = testutil::ReadFile("/proc/" + std::to_string(p) + "/stat");
            size_t close = stat.rfind(')');
            if (close == std::string::npos || stat.compare(close + 2, 1, "Z") == 0) break;
            usleep(1000);
          }
        }
      }
    };
    BOOST_REQUIRE(Capture(o, **w).ok());
    BOOST_REQUIRE((*w)->finish().ok());
  }
  BOOST_REQUIRE(victim != 0);
  const pid_t survivor = victim == second ? first.pid() : second;
  kill(second, SIGKILL);
  auto view = View::Open(archive);
  BOOST_REQUIRE(view.ok());
  const Snapshot& s = view->snapshot();
  auto net = view->resolve("/proc/" + std::to_string(survivor) + "/net", false);
  BOOST_REQUIRE(net.ok());
  NodeId dir = s.resolveAlias(*net);
  BOOST_TEST(s.children(dir).second > s.children(dir).first);  // not an empty directory
  auto read = view->read("/proc/" + std::to_string(survivor) + "/net/dev");
  BOOST_REQUIRE_MESSAGE(read.ok(), read.status().message());
  BOOST_TEST(*read == dev);
}

// /proc/sys/net shows the reader's namespace: capture reads each other
// namespace's from inside it, replays do not show that directory, and diff
// and events name the namespace of a changed sysctl.
BOOST_AUTO_TEST_CASE(net_sysctls_of_every_namespace_are_captured_and_diffed) {
  if (geteuid() != 0) {
    std::puts("SKIPPED: creating and entering a network namespace needs root");
    return;
  }
  testutil::Spawned isolated({CHILD_HELPER, "--netns"}, {});
  const std::string pid = std::to_string(isolated.pid());
  const std::string link = testutil::ReadLink("/proc/" + pid + "/ns/net");
  const std::string inode = link.substr(5, link.size() - 6);  // net:[N]
  auto sysctl = [&](const std::string& value) {
    auto r = testutil::Run({"/usr/bin/nsenter", "-t", pid, "-n", "/usr/sbin/sysctl", "-q", "-w",
                            "net.ipv4.ip_default_ttl=" + value});
    BOOST_REQUIRE_MESSAGE(r.exitCode == 0, r.err);
  };
  sysctl("77");
  TempDir out;
  const std::string bin = PROCSNAP_BIN, rec = out / "rec";
  auto snap = [&] {
    auto r = testutil::Run({bin, "record", "-q", "-o", rec, "--count", "1"});
    BOOST_REQUIRE_MESSAGE(r.exitCode == 0, r.err);
  };
  snap();
  sysctl("99");
  snap();
  const std::string live = testutil::ReadFile("/proc/sys/net/ipv4/ip_default_ttl");
  auto cat = testutil::Run({bin, "cat", "--at", "0", rec, std::string(kNetnsSysctlsDir) + "/" + inode + "/net/ipv4/ip_default_ttl",
                            "sys/net/ipv4/ip_default_ttl"});
  BOOST_TEST(cat.out == "77\n" + live, cat.out << cat.err);
  auto events = testutil::Run({bin, "events", rec});
  BOOST_TEST(events.out.find("net.ipv4.ip_default_ttl in net:[" + inode + "]  77 -> 99") != std::string::npos,
             events.out);
  auto diff = testutil::Run({bin, "diff", rec + "@0", rec + "@1", "--only", "sysctls"});
  BOOST_TEST(diff.out.find("net.ipv4.ip_default_ttl in net:[" + inode + "]: 77 -> 99") != std::string::npos,
             diff.out);
  // Not a /proc entry: a replay lists what /proc listed, an export notes it in its manifest.
  if (testutil::CanMount()) {
    auto ls = testutil::Run({bin, "run", rec, "--", "/bin/ls", "-a", "/proc"});
    BOOST_TEST(ls.exitCode == 0);
    BOOST_TEST(ls.out.find(std::string(kNetnsSysctlsDir)) == std::string::npos);
  }
  auto exported = testutil::Run({bin, "export", rec, out / "tree"});
  BOOST_TEST(exported.exitCode == 0, exported.err);
  BOOST_TEST(!std::filesystem::exists(out / "tree/" + std::string(kNetnsSysctlsDir)));
}

BOOST_AUTO_TEST_SUITE_END()
