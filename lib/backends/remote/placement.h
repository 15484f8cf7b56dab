// Placement: which data node holds which byte range of a file in a cfs-node cluster. Files are
// cut into stripes of a fixed size; stripe k of inode i lives on data node (i + k) mod n, so
// small files spread over the nodes too. Pure functions, shared by the metadata node (A2
// GetExtentMap) and the remote backend (where to send each A4 read and write).
//
// Example:
//   for (const Piece& p : Place(inode, offset, length, 1 << 20, 3)) { /* p.node gets p */ }

#ifndef CFS_LIB_BACKENDS_REMOTE_PLACEMENT_H_
#define CFS_LIB_BACKENDS_REMOTE_PLACEMENT_H_

#include <cstdint>
#include <vector>

#include "lib/backend/types.h"

namespace cfs::remote {

struct Piece {
  uint64_t offset = 0;  // in the file (and in the data node's local stripe file)
  uint64_t length = 0;
  size_t node = 0;  // index into the cluster's data servers
};

// The pieces of [offset, offset + length), in file order, one per stripe touched. Requires
// stripe_size > 0 and nodes > 0.
inline std::vector<Piece> Place(backend::InodeNumber inode, uint64_t offset, uint64_t length,
                                uint64_t stripe_size, size_t nodes) {
  std::vector<Piece> pieces;
  uint64_t end = offset + length;
  while (offset < end) {
    uint64_t stripe = offset / stripe_size;
    uint64_t stripe_end = (stripe + 1) * stripe_size;
    uint64_t piece_end = stripe_end < end ? stripe_end : end;
    pieces.push_back({offset, piece_end - offset, static_cast<size_t>((inode + stripe) % nodes)});
    offset = piece_end;
  }
  return pieces;
}

}  // namespace cfs::remote

#endif  // CFS_LIB_BACKENDS_REMOTE_PLACEMENT_H_
