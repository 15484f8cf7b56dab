// The crash test's workload language, shared by the child that runs it and the parent that
// checks what survived.
//
// The child prints "begin <op>" before each operation and "ack <op>" once the backend
// acknowledged it as stable ("fail <op>" when the backend refused it, changing nothing). An op
// is one line: "mkdir d", "create p", "write p offset length seed", "trunc p size",
// "move p q", "del p", "link p q". NamespaceModel applies acknowledged ops to the expected
// state. Thread-compatible.
//
// Example:
//   NamespaceModel model;
//   model.Apply("create d0/f1");
//   model.Apply("write d0/f1 0 5 42");

#ifndef CFS_TESTING_CRASH_CRASH_WORKLOAD_H_
#define CFS_TESTING_CRASH_CRASH_WORKLOAD_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace cfs::testing {

// Deterministic bytes for a write (both sides regenerate them from the seed).
std::string WorkloadData(uint64_t seed, size_t length);

struct NamespaceModel {
  std::set<std::string> dirs;
  std::map<std::string, int> path_group;     // file path -> link group (one inode)
  std::map<int, std::string> group_content;  // link group -> file bytes
  int next_group = 0;

  // Applies one op line; returns false for a line it does not understand.
  bool Apply(const std::string& op);
  // Paths an op names (the files whose content a torn write may leave undecided).
  static std::vector<std::string> PathsOf(const std::string& op);
  // Differences between this expected state and `actual` (empty when equal), ignoring the
  // content (not the existence) of files in `content_unknown`.
  std::vector<std::string> Diff(const NamespaceModel& actual,
                                const std::set<std::string>& content_unknown = {}) const;
};

}  // namespace cfs::testing

#endif  // CFS_TESTING_CRASH_CRASH_WORKLOAD_H_
