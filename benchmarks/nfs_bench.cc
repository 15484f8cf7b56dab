// nfs_bench: drives one NFSv3 server with the libnfs client and prints one line per figure:
//   <name> <value> <unit>
// Figures: sequential write and read of a large file (1 MiB requests), 4 KiB random reads,
// GETATTR ops/s (fstat of an open file), LOOKUP ops/s (stat of a path), and create+remove of
// many small files. Used by nfs_vs_ganesha.sh to run us and nfs-ganesha side by side.
//
//   nfs_bench --url='nfs://127.0.0.1/export?nfsport=12049&mountport=12048&version=3'
//             --file_mib=1024 --seconds=10 --files=10000

#include <fcntl.h>
#include <nfsc/libnfs.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"

ABSL_FLAG(std::string, url, "", "nfs:// URL of the export (with nfsport/mountport)");
ABSL_FLAG(int, file_mib, 1024, "size of the sequential file in MiB");
ABSL_FLAG(double, seconds, 10, "duration of each ops/s measurement");
ABSL_FLAG(int, files, 10000, "small files to create and remove");
ABSL_FLAG(std::string, dir, "nfs_bench", "directory (created) under the export");

namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

[[noreturn]] void Die(nfs_context* nfs, const std::string& what) {
  std::fprintf(stderr, "nfs_bench: %s: %s\n", what.c_str(), nfs_get_error(nfs));
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  nfs_context* nfs = nfs_init_context();
  nfs_url* url = nfs_parse_url_dir(nfs, absl::GetFlag(FLAGS_url).c_str());
  if (url == nullptr) Die(nfs, "url");
  if (nfs_mount(nfs, url->server, url->path) != 0) Die(nfs, "mount");
  const std::string dir = "/" + absl::GetFlag(FLAGS_dir);
  nfs_mkdir(nfs, dir.c_str());  // may exist
  const std::string big = dir + "/big.bin";
  const uint64_t size = static_cast<uint64_t>(absl::GetFlag(FLAGS_file_mib)) << 20;
  const double seconds = absl::GetFlag(FLAGS_seconds);

  // Sequential write (then COMMIT through fsync), 1 MiB requests.
  std::string block(1 << 20, 'w');
  nfsfh* fh = nullptr;
  if (nfs_open(nfs, big.c_str(), O_CREAT | O_TRUNC | O_WRONLY, &fh) != 0) Die(nfs, "create");
  double start = Now();
  for (uint64_t off = 0; off < size; off += block.size()) {
    if (nfs_pwrite(nfs, fh, off, block.size(), block.data()) < 0) Die(nfs, "write");
  }
  if (nfs_fsync(nfs, fh) != 0) Die(nfs, "fsync");
  double took = Now() - start;
  nfs_close(nfs, fh);
  std::printf("seq_write %.1f MiB/s\n", size / took / (1 << 20));

  // Sequential read.
  if (nfs_open(nfs, big.c_str(), O_RDONLY, &fh) != 0) Die(nfs, "open");
  start = Now();
  for (uint64_t off = 0; off < size; off += block.size()) {
    if (nfs_pread(nfs, fh, off, block.size(), block.data()) < 0) Die(nfs, "read");
  }
  took = Now() - start;
  std::printf("seq_read %.1f MiB/s\n", size / took / (1 << 20));

  // 4 KiB random reads.
  std::mt19937_64 rng(1);
  char small[4096];
  uint64_t ops = 0;
  start = Now();
  while (Now() - start < seconds) {
    uint64_t off = (rng() % (size / 4096)) * 4096;
    if (nfs_pread(nfs, fh, off, sizeof(small), small) < 0) Die(nfs, "random read");
    ++ops;
  }
  std::printf("rand_read_4k %.0f ops/s\n", ops / (Now() - start));

  // GETATTR: fstat of the open file.
  struct nfs_stat_64 st;
  ops = 0;
  start = Now();
  while (Now() - start < seconds) {
    if (nfs_fstat64(nfs, fh, &st) != 0) Die(nfs, "fstat");
    ++ops;
  }
  std::printf("getattr %.0f ops/s\n", ops / (Now() - start));
  nfs_close(nfs, fh);

  // LOOKUP: stat of a path (libnfs resolves it component by component).
  ops = 0;
  start = Now();
  while (Now() - start < seconds) {
    if (nfs_stat64(nfs, big.c_str(), &st) != 0) Die(nfs, "stat");
    ++ops;
  }
  std::printf("lookup %.0f ops/s\n", ops / (Now() - start));

  // Create and remove small files.
  const int files = absl::GetFlag(FLAGS_files);
  start = Now();
  for (int i = 0; i < files; ++i) {
    std::string path = absl::StrCat(dir, "/f", i);
    if (nfs_creat(nfs, path.c_str(), 0644, &fh) != 0) Die(nfs, "creat");
    nfs_close(nfs, fh);
  }
  for (int i = 0; i < files; ++i) {
    std::string path = absl::StrCat(dir, "/f", i);
    if (nfs_unlink(nfs, path.c_str()) != 0) Die(nfs, "unlink");
  }
  took = Now() - start;
  std::printf("create_remove %.0f files/s\n", files / took);

  nfs_unlink(nfs, big.c_str());
  nfs_rmdir(nfs, dir.c_str());
  nfs_destroy_url(url);
  nfs_destroy_context(nfs);
  return 0;
}
