#include "testing/crash/crash_workload.h"

#include <sstream>

#include "absl/strings/str_cat.h"

namespace cfs::testing {

std::string WorkloadData(uint64_t seed, size_t length) {
  std::string out(length, '\0');
  uint64_t x = seed * 6364136223846793005ULL + 1442695040888963407ULL;
  for (size_t i = 0; i < length; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    out[i] = static_cast<char>(x >> 56);
  }
  return out;
}

bool NamespaceModel::Apply(const std::string& op) {
  std::istringstream in(op);
  std::string verb, p, q;
  in >> verb >> p;
  if (verb == "mkdir") {
    dirs.insert(p);
  } else if (verb == "create") {
    if (path_group.count(p) == 0) {
      path_group[p] = next_group;
      group_content[next_group++] = "";
    }
  } else if (verb == "write") {
    uint64_t offset, length, seed;
    in >> offset >> length >> seed;
    std::string& content = group_content[path_group.at(p)];
    if (content.size() < offset + length) content.resize(offset + length, '\0');
    content.replace(offset, length, WorkloadData(seed, length));
  } else if (verb == "trunc") {
    uint64_t size;
    in >> size;
    group_content[path_group.at(p)].resize(size, '\0');
  } else if (verb == "move") {
    in >> q;
    if (p == q || (path_group.count(q) != 0 && path_group[q] == path_group.at(p))) return true;
    path_group[q] = path_group.at(p);
    path_group.erase(p);
  } else if (verb == "del") {
    path_group.erase(p);
  } else if (verb == "link") {
    in >> q;
    path_group[q] = path_group.at(p);
  } else {
    return false;
  }
  return true;
}

std::vector<std::string> NamespaceModel::PathsOf(const std::string& op) {
  std::istringstream in(op);
  std::string verb, p, q;
  in >> verb >> p;
  std::vector<std::string> paths = {p};
  if (verb == "move" || verb == "link") {
    in >> q;
    paths.push_back(q);
  }
  return paths;
}

std::vector<std::string> NamespaceModel::Diff(const NamespaceModel& actual,
                                              const std::set<std::string>& content_unknown) const {
  std::vector<std::string> diffs;
  for (const std::string& d : dirs) {
    if (actual.dirs.count(d) == 0) diffs.push_back(absl::StrCat("directory ", d, " is missing"));
  }
  for (const std::string& d : actual.dirs) {
    if (dirs.count(d) == 0) diffs.push_back(absl::StrCat("directory ", d, " should not exist"));
  }
  for (const auto& [path, group] : path_group) {
    auto it = actual.path_group.find(path);
    if (it == actual.path_group.end()) {
      diffs.push_back(absl::StrCat("file ", path, " is missing"));
      continue;
    }
    if (content_unknown.count(path) == 0 &&
        actual.group_content.at(it->second) != group_content.at(group)) {
      diffs.push_back(
          absl::StrCat("file ", path, " has ", actual.group_content.at(it->second).size(),
                       " bytes that differ from the expected ", group_content.at(group).size()));
    }
    // Paths linked together in the model must be one inode in reality.
    for (const auto& [other, other_group] : path_group) {
      if (other_group != group || other <= path) continue;
      auto other_actual = actual.path_group.find(other);
      if (other_actual != actual.path_group.end() && other_actual->second != it->second) {
        diffs.push_back(absl::StrCat(path, " and ", other, " should be one file"));
      }
    }
  }
  for (const auto& [path, group] : actual.path_group) {
    if (path_group.count(path) == 0)
      diffs.push_back(absl::StrCat("file ", path, " should not exist"));
  }
  return diffs;
}

}  // namespace cfs::testing
