// NFSv3 through an independent client: the libnfs C library against an in-process gateway on
// 127.0.0.1 (ports picked by the kernel, passed to libnfs; no portmapper involved).

#include <fcntl.h>
#include <nfsc/libnfs.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/gateway/gateway.h"
#include "testing/temp_dir.h"

namespace cfs::testing {
namespace {

// One libnfs client mounted on an export.
class NfsClient {
 public:
  NfsClient(int nfs_port, int mount_port, const std::string& export_path, int uid = 1000,
            int gid = 1000) {
    nfs_ = nfs_init_context();
    std::string url = absl::StrCat("nfs://127.0.0.1", export_path, "?nfsport=", nfs_port,
                                   "&mountport=", mount_port, "&version=3&uid=", uid, "&gid=", gid);
    nfs_url* parsed = nfs_parse_url_dir(nfs_, url.c_str());
    if (parsed == nullptr) {
      error_ = nfs_get_error(nfs_);
      return;
    }
    mount_rc_ = nfs_mount(nfs_, parsed->server, parsed->path);
    if (mount_rc_ != 0) error_ = nfs_get_error(nfs_);
    nfs_destroy_url(parsed);
  }
  ~NfsClient() { nfs_destroy_context(nfs_); }

  bool mounted() const { return mount_rc_ == 0; }
  const std::string& error() const { return error_; }
  nfs_context* get() { return nfs_; }

  int WriteFile(const std::string& path, const std::string& data, int mode = 0644) {
    nfsfh* fh = nullptr;
    int rc = nfs_creat(nfs_, path.c_str(), mode, &fh);
    if (rc != 0) return rc;
    size_t done = 0;
    while (done < data.size()) {
      size_t chunk = std::min<size_t>(data.size() - done, 1 << 20);
      rc = nfs_pwrite(nfs_, fh, done, chunk, data.data() + done);
      if (rc < 0) break;
      done += rc;
    }
    int sync_rc = nfs_fsync(nfs_, fh);
    nfs_close(nfs_, fh);
    return rc < 0 ? rc : sync_rc;
  }

  int ReadFile(const std::string& path, std::string* out) {
    nfsfh* fh = nullptr;
    int rc = nfs_open(nfs_, path.c_str(), O_RDONLY, &fh);
    if (rc != 0) return rc;
    out->clear();
    std::string buf(1 << 20, '\0');
    while (true) {
      rc = nfs_pread(nfs_, fh, out->size(), buf.size(), buf.data());
      if (rc <= 0) break;
      out->append(buf.data(), rc);
    }
    nfs_close(nfs_, fh);
    return rc < 0 ? rc : 0;
  }

  std::vector<std::string> List(const std::string& path) {
    std::vector<std::string> names;
    nfsdir* dir = nullptr;
    if (nfs_opendir(nfs_, path.c_str(), &dir) != 0) return names;
    while (nfsdirent* e = nfs_readdir(nfs_, dir)) names.push_back(e->name);
    nfs_closedir(nfs_, dir);
    return names;
  }

 private:
  nfs_context* nfs_;
  int mount_rc_ = -1;
  std::string error_;
};

class NfsLibnfsTest : public ::testing::Test {
 protected:
  void Start(std::vector<auth::Export> exports = {}) {
    gateway::GatewayOptions options;
    options.data_dir = dir_.path() + "/state";
    options.bind_address = "127.0.0.1";
    options.nfs_port = options.mount_port = options.s3_port = options.smb_port = 0;
    options.metrics_port = 0;
    options.control_port = 0;
    options.exports = std::move(exports);
    auto built = gateway::GatewayBuilder().SetOptions(options).Build();
    ASSERT_TRUE(built.ok()) << built.status();
    gateway_ = std::move(*built);
    ASSERT_TRUE(gateway_->Start().ok());
    nfs_port_ = gateway_->address("nfs")->port;
    mount_port_ = gateway_->address("mount")->port;
  }

  std::unique_ptr<NfsClient> Client(const std::string& path = "/export", int uid = 1000) {
    auto client = std::make_unique<NfsClient>(nfs_port_, mount_port_, path, uid, uid);
    EXPECT_TRUE(client->mounted()) << client->error();
    return client;
  }

  TempDir dir_;
  std::unique_ptr<gateway::Gateway> gateway_;
  int nfs_port_ = 0;
  int mount_port_ = 0;
};

TEST_F(NfsLibnfsTest, EveryCommonOperationWorks) {
  Start();
  auto c = Client();
  nfs_context* nfs = c->get();
  ASSERT_EQ(nfs_mkdir(nfs, "/work"), 0) << nfs_get_error(nfs);
  ASSERT_EQ(c->WriteFile("/work/a.txt", "hello nfs"), 0) << nfs_get_error(nfs);
  std::string back;
  ASSERT_EQ(c->ReadFile("/work/a.txt", &back), 0);
  EXPECT_EQ(back, "hello nfs");

  nfs_stat_64 st;
  ASSERT_EQ(nfs_stat64(nfs, "/work/a.txt", &st), 0);
  EXPECT_EQ(st.nfs_size, 9u);
  EXPECT_EQ(st.nfs_uid, 1000u);
  EXPECT_EQ(st.nfs_mode & 0777, 0644u);
  EXPECT_TRUE(S_ISREG(st.nfs_mode));

  ASSERT_EQ(nfs_chmod(nfs, "/work/a.txt", 0600), 0);
  ASSERT_EQ(nfs_stat64(nfs, "/work/a.txt", &st), 0);
  EXPECT_EQ(st.nfs_mode & 0777, 0600u);
  ASSERT_EQ(nfs_truncate(nfs, "/work/a.txt", 5), 0);
  ASSERT_EQ(c->ReadFile("/work/a.txt", &back), 0);
  EXPECT_EQ(back, "hello");

  ASSERT_EQ(nfs_rename(nfs, "/work/a.txt", "/work/b.txt"), 0);
  EXPECT_EQ(nfs_stat64(nfs, "/work/a.txt", &st), -ENOENT);
  ASSERT_EQ(nfs_link(nfs, "/work/b.txt", "/work/c.txt"), 0);
  ASSERT_EQ(nfs_stat64(nfs, "/work/c.txt", &st), 0);
  EXPECT_EQ(st.nfs_nlink, 2u);
  ASSERT_EQ(nfs_symlink(nfs, "b.txt", "/work/ln"), 0);
  char target[256] = {0};
  ASSERT_EQ(nfs_readlink(nfs, "/work/ln", target, sizeof(target)), 0);
  EXPECT_STREQ(target, "b.txt");
  ASSERT_EQ(nfs_mknod(nfs, "/work/fifo", S_IFIFO | 0644, 0), 0) << nfs_get_error(nfs);
  ASSERT_EQ(nfs_stat64(nfs, "/work/fifo", &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.nfs_mode));

  timeval times[2] = {{1000000000, 0}, {1100000000, 0}};
  ASSERT_EQ(nfs_utimes(nfs, "/work/b.txt", times), 0);
  ASSERT_EQ(nfs_stat64(nfs, "/work/b.txt", &st), 0);
  EXPECT_EQ(st.nfs_mtime, 1100000000u);

  EXPECT_EQ(nfs_access(nfs, "/work/b.txt", R_OK | W_OK), 0);
  std::set<std::string> names;
  for (const std::string& n : c->List("/work")) names.insert(n);
  EXPECT_EQ(names, (std::set<std::string>{".", "..", "b.txt", "c.txt", "ln", "fifo"}));

  struct nfs_statvfs_64 vfs;
  ASSERT_EQ(nfs_statvfs64(nfs, "/", &vfs), 0);
  EXPECT_GT(vfs.f_blocks, 0u);

  EXPECT_EQ(nfs_rmdir(nfs, "/work"), -ENOTEMPTY);
  for (const char* name : {"/work/b.txt", "/work/c.txt", "/work/ln", "/work/fifo"}) {
    ASSERT_EQ(nfs_unlink(nfs, name), 0) << name;
  }
  ASSERT_EQ(nfs_rmdir(nfs, "/work"), 0);
  EXPECT_EQ(nfs_stat64(nfs, "/work", &st), -ENOENT);
}

TEST_F(NfsLibnfsTest, ErrorsComeBackAsTheRightErrno) {
  Start();
  auto alice = Client("/export", 1000);
  auto bob = Client("/export", 2000);
  nfs_context* a = alice->get();
  ASSERT_EQ(nfs_mkdir(a, "/alice"), 0);
  EXPECT_EQ(nfs_mkdir(a, "/alice"), -EEXIST);
  EXPECT_EQ(nfs_mkdir(a, ("/" + std::string(256, 'n')).c_str()), -ENAMETOOLONG);
  ASSERT_EQ(alice->WriteFile("/alice/secret", "x", 0600), 0);
  std::string out;
  EXPECT_EQ(bob->ReadFile("/alice/secret", &out), -EACCES);
  EXPECT_EQ(nfs_chmod(bob->get(), "/alice/secret", 0666), -EPERM);
  EXPECT_EQ(nfs_mkdir(a, "/alice/secret/sub"), -ENOTDIR);
  nfs_stat_64 st;
  EXPECT_EQ(nfs_stat64(a, "/missing", &st), -ENOENT);
}

TEST_F(NfsLibnfsTest, BigFileCopiesInAndOutIntact) {
  Start();
  auto c = Client();
  std::string data(256 << 20, '\0');
  std::mt19937_64 rng(7);
  for (size_t i = 0; i + 8 <= data.size(); i += 8) {
    uint64_t v = rng();
    std::memcpy(&data[i], &v, 8);
  }
  ASSERT_EQ(c->WriteFile("/big.bin", data), 0) << nfs_get_error(c->get());
  std::string back;
  ASSERT_EQ(c->ReadFile("/big.bin", &back), 0);
  ASSERT_EQ(back.size(), data.size());
  EXPECT_TRUE(back == data) << "256 MiB came back different";
}

TEST_F(NfsLibnfsTest, ReaddirOfTenThousandEntries) {
  Start();
  auto c = Client();
  ASSERT_EQ(nfs_mkdir(c->get(), "/many"), 0);
  for (int i = 0; i < 10000; ++i) {
    nfsfh* fh = nullptr;
    ASSERT_EQ(nfs_creat(c->get(), absl::StrCat("/many/file-", i).c_str(), 0644, &fh), 0) << i;
    nfs_close(c->get(), fh);
  }
  std::vector<std::string> names = c->List("/many");
  std::set<std::string> unique(names.begin(), names.end());
  EXPECT_EQ(names.size(), 10002u) << "entries repeated or missing";
  EXPECT_EQ(unique.size(), 10002u);
  EXPECT_EQ(unique.count("file-9999"), 1u);
}

TEST_F(NfsLibnfsTest, ConcurrentClients) {
  Start();
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      NfsClient c(nfs_port_, mount_port_, "/export", 1000, 1000);
      if (!c.mounted()) return;
      std::string data(3 << 20, static_cast<char>('a' + t));
      std::string path = absl::StrCat("/client-", t);
      for (int round = 0; round < 3; ++round) {
        if (c.WriteFile(path, data) != 0) return;
        std::string back;
        if (c.ReadFile(path, &back) != 0 || back != data) return;
      }
      good.fetch_add(1);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), 4);
}

TEST_F(NfsLibnfsTest, ExportRulesApply) {
  auth::Export open_export;
  auth::Export read_only;
  read_only.id = 2;
  read_only.name = "ro";
  read_only.nfs_path = "/ro";
  read_only.smb_share = "ro";
  auth::ClientRule ro_rule;
  ro_rule.read_only = true;
  read_only.rules = {ro_rule};
  auth::Export elsewhere;
  elsewhere.id = 3;
  elsewhere.name = "lan";
  elsewhere.nfs_path = "/lan";
  elsewhere.smb_share = "lan";
  auth::ClientRule lan_rule;
  lan_rule.clients.push_back(*auth::Cidr::Parse("10.0.0.0/8"));
  elsewhere.rules = {lan_rule};
  Start({open_export, read_only, elsewhere});

  NfsClient outsider(nfs_port_, mount_port_, "/lan", 1000, 1000);
  EXPECT_FALSE(outsider.mounted()) << "a client outside the export's networks mounted it";
  NfsClient nowhere(nfs_port_, mount_port_, "/does-not-exist", 1000, 1000);
  EXPECT_FALSE(nowhere.mounted());

  auto writer = Client("/export");
  ASSERT_EQ(writer->WriteFile("/shared.txt", "visible"), 0);
  auto reader = Client("/ro");
  std::string back;
  ASSERT_EQ(reader->ReadFile("/shared.txt", &back), 0);
  EXPECT_EQ(back, "visible");
  nfsfh* fh = nullptr;
  EXPECT_EQ(nfs_creat(reader->get(), "/nope", 0644, &fh), -EROFS);
}

TEST_F(NfsLibnfsTest, RepeatedStatsHitTheAttributeCache) {
  Start();
  auto c = Client();
  ASSERT_EQ(c->WriteFile("/cached", "x"), 0);
  // The cache's hits as the gateway's metrics report them.
  auto hits = [this] {
    std::string text = gateway_->metrics().RenderText();
    const std::string name = "\ncfs_gateway_attribute_cache_hits_total ";
    size_t at = text.find(name);
    EXPECT_NE(at, std::string::npos) << "no attribute cache metrics";
    return at == std::string::npos ? 0 : std::stoull(text.substr(at + name.size()));
  };
  uint64_t hits_before = hits();
  nfs_stat_64 st;
  for (int i = 0; i < 50; ++i) ASSERT_EQ(nfs_stat64(c->get(), "/cached", &st), 0);
  EXPECT_GE(hits() - hits_before, 40u);
  // A change through the gateway is seen at once.
  ASSERT_EQ(nfs_chmod(c->get(), "/cached", 0640), 0);
  ASSERT_EQ(nfs_stat64(c->get(), "/cached", &st), 0);
  EXPECT_EQ(st.nfs_mode & 0777, 0640u);
}

TEST_F(NfsLibnfsTest, SubdirectoryExportsConfineTheClient) {
  // Create /projects/inside and /outside through the whole-namespace export first.
  auth::Export whole;
  auth::Export projects;
  projects.id = 2;
  projects.name = "projects";
  projects.path = "/projects";
  projects.nfs_path = "/projects";
  projects.smb_share = "projects";
  {
    gateway::GatewayOptions options;
    options.data_dir = dir_.path() + "/state";
    options.bind_address = "127.0.0.1";
    options.nfs_port = options.mount_port = options.s3_port = options.smb_port = 0;
    options.metrics_port = 0;
    options.control_port = 0;
    auto gw = gateway::GatewayBuilder().SetOptions(options).Build();
    ASSERT_TRUE(gw.ok());
    ASSERT_TRUE((*gw)->Start().ok());
    NfsClient c((*gw)->address("nfs")->port, (*gw)->address("mount")->port, "/export");
    ASSERT_TRUE(c.mounted());
    ASSERT_EQ(nfs_mkdir(c.get(), "/projects"), 0);
    ASSERT_EQ(nfs_chmod(c.get(), "/projects", 0777), 0);
    ASSERT_EQ(c.WriteFile("/projects/inside", "in"), 0);
    ASSERT_EQ(c.WriteFile("/outside", "out"), 0);
  }
  Start({whole, projects});
  auto c = Client("/projects");
  std::string back;
  ASSERT_EQ(c->ReadFile("/inside", &back), 0);
  EXPECT_EQ(back, "in");
  nfs_stat_64 st;
  // libnfs refuses to climb above the mount itself; the server-side clamp of LOOKUP ".." at an
  // export root is checked at the wire level in nfs_protocol_test.
  EXPECT_NE(nfs_stat64(c->get(), "/../outside", &st), 0);
  EXPECT_EQ(nfs_stat64(c->get(), "/outside", &st), -ENOENT);
}

// The owner of a file it opened for writing keeps writing after chmod 000, as on knfsd and
// nfs-ganesha (the client checked access at open; cthon04's "special" test does this); the
// mode still keeps everyone else out.
TEST_F(NfsLibnfsTest, TheOwnerWritesAndReadsAfterChmodToNothing) {
  Start();
  auto alice = Client("/export", 1000);
  nfsfh* fh = nullptr;
  ASSERT_EQ(nfs_creat(alice->get(), "/locked", 0644, &fh), 0) << nfs_get_error(alice->get());
  ASSERT_EQ(nfs_pwrite(alice->get(), fh, 0, 6, "before"), 6);
  ASSERT_EQ(nfs_chmod(alice->get(), "/locked", 0), 0) << nfs_get_error(alice->get());
  EXPECT_EQ(nfs_pwrite(alice->get(), fh, 6, 6, " after"), 6) << nfs_get_error(alice->get());
  ASSERT_EQ(nfs_fsync(alice->get(), fh), 0);
  char buf[32] = {0};
  EXPECT_EQ(nfs_pread(alice->get(), fh, 0, sizeof(buf), buf), 12) << nfs_get_error(alice->get());
  EXPECT_EQ(std::string(buf, 12), "before after");
  nfs_close(alice->get(), fh);
  // Another uid is still refused: opening for reading or writing, and by a handle it looked up.
  auto bob = Client("/export", 1001);
  std::string out;
  EXPECT_NE(bob->ReadFile("/locked", &out), 0);
  nfsfh* bobs = nullptr;
  EXPECT_NE(nfs_open(bob->get(), "/locked", O_WRONLY, &bobs), 0);
}

TEST_F(NfsLibnfsTest, RootIsSquashedByDefault) {
  Start();
  auto root = Client("/export", 0);
  ASSERT_EQ(root->WriteFile("/by-root", "x"), 0);
  nfs_stat_64 st;
  ASSERT_EQ(nfs_stat64(root->get(), "/by-root", &st), 0);
  EXPECT_EQ(st.nfs_uid, 65534u) << "root was not squashed";
}

// Quotas through a real client: a hard limit gives NFS3ERR_DQUOT on the
// WRITE or CREATE that would pass it, and writers racing for the last bytes never pass it.
TEST_F(NfsLibnfsTest, QuotasRefuseWithDquot) {
  Start();
  quota::QuotaSetting user;
  user.subject = {quota::QuotaKind::kUser, "1000"};
  user.limits.hard_bytes = 1 << 20;
  ASSERT_TRUE(gateway_->quotas()->SetQuota(user).ok());
  quota::QuotaSetting group;
  group.subject = {quota::QuotaKind::kGroup, "3000"};
  group.limits.hard_inodes = 2;
  ASSERT_TRUE(gateway_->quotas()->SetQuota(group).ok());

  auto c = Client();
  nfs_context* nfs = c->get();
  ASSERT_EQ(c->WriteFile("/first", std::string(700000, 'a')), 0) << nfs_get_error(nfs);
  ASSERT_EQ(c->WriteFile("/second", std::string(300000, 'b')), 0) << nfs_get_error(nfs);
  // One WRITE past the limit fails (this libnfs garbles its pwrite error text, so the
  // status is read from the gateway's per-procedure error counter; CREATE's below is libnfs's).
  nfsfh* fh = nullptr;
  ASSERT_EQ(nfs_open(nfs, "/second", O_WRONLY, &fh), 0);
  std::string more(64 * 1024, 'm');
  EXPECT_LT(nfs_pwrite(nfs, fh, 300000, more.size(), more.data()), 0);
  EXPECT_THAT(
      gateway_->metrics().RenderText(),
      ::testing::HasSubstr("cfs_gateway_protocol_errors_total{protocol=\"nfs\",op=\"WRITE\","
                           "code=\"NFS3ERR_DQUOT\"} 1"));
  nfs_close(nfs, fh);
  nfs_stat_64 st;
  ASSERT_EQ(nfs_stat64(nfs, "/second", &st), 0);
  EXPECT_EQ(st.nfs_size, 300000u);  // nothing of the refused write landed
  // A multi-RPC write fails too (libnfs then loses the status in its message).
  EXPECT_LT(c->WriteFile("/third", std::string(700000, 'c')), 0);
  // Freeing space makes room again.
  ASSERT_EQ(nfs_unlink(nfs, "/first"), 0);
  EXPECT_EQ(c->WriteFile("/fourth", std::string(600000, 'd')), 0) << nfs_get_error(nfs);

  // Group 3000 may hold two files.
  NfsClient staff(nfs_port_, mount_port_, "/export", 2000, 3000);
  ASSERT_TRUE(staff.mounted()) << staff.error();
  EXPECT_EQ(staff.WriteFile("/s1", "one"), 0);
  ASSERT_EQ(nfs_mkdir(staff.get(), "/s2"), 0);
  EXPECT_LT(staff.WriteFile("/s3", "three"), 0);
  EXPECT_THAT(std::string(nfs_get_error(staff.get())), ::testing::HasSubstr("NFS3ERR_DQUOT"));
  EXPECT_LT(nfs_mkdir(staff.get(), "/s4"), 0);
  EXPECT_THAT(std::string(nfs_get_error(staff.get())), ::testing::HasSubstr("NFS3ERR_DQUOT"));
  absl::StatusOr<quota::QuotaReport> report =
      gateway_->quotas()->GetQuota({quota::QuotaKind::kGroup, "3000"});
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->usage.inodes, 2u);
  EXPECT_TRUE(report->hard_reached);
}

TEST_F(NfsLibnfsTest, ConcurrentNfsWritersStayWithinTheHardLimit) {
  Start();
  constexpr uint64_t kLimit = 5 << 20;
  quota::QuotaSetting user;
  user.subject = {quota::QuotaKind::kUser, "1000"};
  user.limits.hard_bytes = kLimit;
  ASSERT_TRUE(gateway_->quotas()->SetQuota(user).ok());
  std::vector<std::thread> writers;
  std::atomic<int> refused{0};
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      NfsClient client(nfs_port_, mount_port_, "/export", 1000, 1000);
      if (!client.mounted()) return;
      if (client.WriteFile(absl::StrCat("/w", w), std::string(2 << 20, 'w')) < 0) {
        refused.fetch_add(1);
      }
    });
  }
  for (std::thread& t : writers) t.join();
  auto c = Client();
  uint64_t total = 0;
  for (int w = 0; w < 4; ++w) {
    nfs_stat_64 st;
    if (nfs_stat64(c->get(), absl::StrCat("/w", w).c_str(), &st) == 0) total += st.nfs_size;
  }
  EXPECT_LE(total, kLimit);
  EXPECT_GT(refused.load(), 0);
  absl::StatusOr<quota::QuotaReport> report =
      gateway_->quotas()->GetQuota({quota::QuotaKind::kUser, "1000"});
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->usage.bytes, total);
}

}  // namespace
}  // namespace cfs::testing
