// The /proc text parsers: each reads this machine's files and survives
// text that is truncated, reordered or not what it expects.
#define BOOST_TEST_MODULE procfs
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include "procfs/procfs.h"
#include "test_util.h"

using namespace procsnap;

namespace {
std::string Live(const std::string& path) { return testutil::ReadFile(path); }
}  // namespace

BOOST_AUTO_TEST_SUITE(procfs)

BOOST_AUTO_TEST_CASE(parsers_read_this_machine_and_survive_bad_text) {
  std::string problem;
  auto self = ParsePidStat(Live("/proc/self/stat"), &problem);
  BOOST_REQUIRE_MESSAGE(self.has_value(), problem);
  BOOST_TEST(self->pid == getpid());
  BOOST_TEST(self->threads >= 1);
  auto oddStat = ParsePidStat("12 (a) b) (c) R 1 12 12 0 -1 0 0 0 0 0 5 6 0 0 20 0 1 0 99 4096 7", &problem);
  BOOST_REQUIRE(oddStat.has_value());
  BOOST_TEST(oddStat->comm == "a) b) (c");
  BOOST_TEST(oddStat->starttime == 99u);
  for (const char* bad : {"", "garbage", "12 (x", "12 (x) R 1 2", "x (y) R 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21"})
    BOOST_TEST(!ParsePidStat(bad, &problem).has_value(), bad);

  auto limits = ParseLimits(Live("/proc/self/limits"));
  BOOST_TEST(limits.count("Max open files"));
  BOOST_TEST(limits["Max cpu time"].find("unlimited") == 0);
  BOOST_TEST(ParseLimits("header only").empty());
  BOOST_TEST(ParseLimits("Limit\nno-gap-line\n").empty());

  auto meminfo = ParseKeyValue(Live("/proc/meminfo"), ':');
  BOOST_TEST(meminfo.count("MemTotal"));
  auto vmstat = ParseKeyValue(Live("/proc/vmstat"), ' ');
  BOOST_TEST(vmstat.count("nr_free_pages"));
  BOOST_TEST(ParseKeyValue("no separator here\n:\n\n", ':').empty());

  std::vector<std::string> problems;
  auto tcp = ParseNetTable(Live("/proc/net/tcp"), "tcp", &problems);
  BOOST_TEST(problems.empty());
  auto sockets = ParseNetTable(
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
      "   0: 0100007F:115C 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1\n"
      "   1: zz\n",
      "tcp", &problems);
  BOOST_REQUIRE_EQUAL(sockets.size(), 1u);
  BOOST_TEST(sockets[0].local == "127.0.0.1:4444");
  BOOST_TEST(sockets[0].listening());
  BOOST_TEST(sockets[0].inode == 4242u);
  BOOST_TEST(problems.size() == 1u);
  auto v6 = ParseNetTable(
      "header\n   0: 00000000000000000000000001000000:0016 00000000000000000000000000000000:0000 0A 0:0 0:0 0 0 0 7 1\n",
      "tcp6", &problems);
  BOOST_REQUIRE_EQUAL(v6.size(), 1u);
  BOOST_TEST(v6[0].local == "[::1]:22");
  BOOST_TEST(JoinCmdline(std::string("a\0b c\0", 6)) == "a b c");

  auto maps = ParseMappedFiles(Live("/proc/self/maps"));
  BOOST_TEST(std::count(maps.begin(), maps.end(), testutil::ReadLink("/proc/self/exe")) == 1);
  BOOST_TEST(ParseMappedFiles("garbage\n7f00-7f01 r--p 0 0:0 0 [heap]\n").empty());
  auto devs = ParseNetDev(Live("/proc/net/dev"));
  BOOST_TEST(std::count_if(devs.begin(), devs.end(), [](auto& d) { return d.name == "lo"; }) == 1);
  auto unixSockets = ParseUnixListeners(
      "Num       RefCount Protocol Flags    Type St Inode Path\n"
      "0000000000000000: 00000002 00000000 00010000 0001 01 77 @listening\n"
      "0000000000000000: 00000002 00000000 00000000 0001 03 78 /run/connected\n"
      "bad\n",
      &problems);
  BOOST_REQUIRE_EQUAL(unixSockets.size(), 1u);
  BOOST_TEST(unixSockets[0].path == "@listening");
  BOOST_TEST(unixSockets[0].inode == 77u);

  problems.clear();
  auto mounts = ParseMountInfo(Live("/proc/self/mountinfo"), &problems);
  BOOST_TEST(problems.empty());
  BOOST_TEST(std::count_if(mounts.begin(), mounts.end(), [](auto& m) { return m.target == "/proc"; }) >= 1);
  auto odd = ParseMountInfo("36 35 98:0 / /mnt/with\\040space rw shared:1 - ext4 /dev/x rw\nshort line\n", &problems);
  BOOST_REQUIRE_EQUAL(odd.size(), 1u);
  BOOST_TEST(odd[0].target == "/mnt/with space");
  BOOST_TEST(odd[0].propagation == "shared:1");
  BOOST_TEST(odd[0].options == "rw");
  BOOST_TEST(odd[0].superOptions == "rw");
  BOOST_TEST(problems.size() == 1u);

  problems.clear();
  auto snmp = ParseSnmp(Live("/proc/net/snmp"), &problems);
  BOOST_TEST(snmp.count("Tcp.ActiveOpens"));
  problems.clear();
  auto bad = ParseSnmp("Tcp: A B\nTcp: 1 2 3\nUdp: 5\n", &problems);
  BOOST_TEST(bad.empty());
  BOOST_TEST(problems.size() == 2u);
  auto env = ParseEnviron(Live("/proc/self/environ"));
  BOOST_TEST(env.count("PATH") + env.count("HOME") >= 1u);
  BOOST_TEST(ParseEnviron(std::string("=x\0noequals\0A=1=2\0", 19)).at("A") == "1=2");
  BOOST_TEST(CountCpus(Live("/proc/cpuinfo")) == unsigned(sysconf(_SC_NPROCESSORS_CONF)));
  BOOST_TEST(CountCpus("garbage\n") == 0u);
  BOOST_TEST(ParseSwaps("Filename Type Size Used Priority\n/swapfile file 1024 0 -2\nx\n") ==
             std::vector<std::string>{"/swapfile (file)"});
  ParseSwaps(Live("/proc/swaps"));  // header only here, or real swaps: no exception either way
  BOOST_TEST(ParseLoadavg("0.10 0.20 0.30 1/90 1234\n") == "0.10 0.20 0.30");
  BOOST_TEST(ParseLoadavg(Live("/proc/loadavg")).size() >= 14u);
  BOOST_TEST(ParseLoadavg("") == "");

  auto stat = ParseProcStat(Live("/proc/stat"));
  BOOST_TEST(stat.count("ctxt"));
  BOOST_TEST(stat.count("btime"));
}

// The counters log turns into rates: CPU states, interface and disk bytes, load.
BOOST_AUTO_TEST_CASE(counters_for_rates_read_their_fields) {
  auto cpu = ParseCpuTimes("cpu  10 1 20 300 4 5 6 7 0 0\ncpu0 5 0 10 150 2 2 3 3 0 0\nintr 1\n");
  BOOST_REQUIRE(cpu.has_value());
  BOOST_TEST(cpu->user == 10u);
  BOOST_TEST(cpu->system == 20u);
  BOOST_TEST(cpu->iowait == 4u);
  BOOST_TEST(cpu->steal == 7u);
  BOOST_TEST(cpu->total() == 353u);
  BOOST_TEST(!ParseCpuTimes("cpu0 1 2 3 4\n").has_value());
  BOOST_TEST(ParseCpuTimes(Live("/proc/stat")).has_value());

  auto dev = ParseNetDev(
      "Inter-|   Receive                                                |  Transmit\n"
      " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n"
      "    lo:  1000      10    0    0    0     0          0         0     2000      20    0    0    0     0       0          0\n"
      "  eth0: 123456789 100 0 0 0 0 0 0 987654321 200 0 0 0 0 0 0\n");
  BOOST_REQUIRE_EQUAL(dev.size(), 2u);
  BOOST_TEST(dev[1].name == "eth0");
  BOOST_TEST(dev[1].rxBytes == 123456789u);
  BOOST_TEST(dev[1].txBytes == 987654321u);

  auto disks = ParseDiskStats(
      "   8       0 sda 100 0 8 0 50 0 16 0 0 0 0\n"
      "   8       1 sda1 90 0 6 0 40 0 12 0 0 0 0\n"
      " 259       0 nvme0n1 10 0 2 0 5 0 4 0 0 0 0\n"
      " 259       1 nvme0n1p1 10 0 2 0 5 0 4 0 0 0 0\n"
      "   7       0 loop0 1 0 2 0 0 0 0 0 0 0 0\n"
      " 253       0 dm-0 1 0 2 0 3 0 4 0 0 0 0\n");
  BOOST_REQUIRE_EQUAL(disks.size(), 2u);  // sda, nvme0n1: not partitions, loop or dm
  BOOST_TEST(disks[0].name == "sda");
  BOOST_TEST(disks[0].readBytes == 8u * 512);
  BOOST_TEST(disks[0].writtenBytes == 16u * 512);
  BOOST_TEST(disks[1].name == "nvme0n1");

  auto load = ParseLoadAvg("0.52 0.58 0.59 3/812 12345\n");
  BOOST_REQUIRE(load.has_value());
  BOOST_TEST(load->load1 == 0.52);
  BOOST_TEST(load->running == 3u);
  BOOST_TEST(load->tasks == 812u);
  BOOST_TEST(!ParseLoadAvg("0.5 x 1 1/2 3").has_value());
}

BOOST_AUTO_TEST_SUITE_END()
