// Replay driver for fuzz targets built without libFuzzer: runs every input file (or every file
// in a named directory) through LLVMFuzzerTestOneInput once and reports how many ran.

#include <dirent.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

bool ReplayFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    return false;
  }
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  int replayed = 0;
  for (int i = 1; i < argc; ++i) {
    std::string path = argv[i];
    struct stat st;
    if (stat(path.c_str(), &st) != 0) {
      std::fprintf(stderr, "missing input %s\n", path.c_str());
      return 1;
    }
    if (S_ISDIR(st.st_mode)) {
      DIR* dir = opendir(path.c_str());
      if (dir == nullptr) return 1;
      while (dirent* entry = readdir(dir)) {
        std::string name = entry->d_name;
        if (name == "." || name == "..") continue;
        if (!ReplayFile(path + "/" + name)) return 1;
        ++replayed;
      }
      closedir(dir);
    } else {
      if (!ReplayFile(path)) return 1;
      ++replayed;
    }
  }
  std::printf("replayed %d inputs\n", replayed);
  return replayed > 0 ? 0 : 1;
}
