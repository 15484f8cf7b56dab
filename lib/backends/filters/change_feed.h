// ChangeFeed: the gateway's backend::ChangeSource; tells listeners that a file's data is about to
// be read or changed, whichever protocol asks. The SMB frontend listens to break the oplocks its
// clients hold when another client (over SMB, NFS or S3) reads or writes the file. The outermost
// filter, so every frontend's calls pass through it. Listeners run on the caller's thread before
// the call goes on and must not block. Thread-safe.
//
// Example:
//   int id = feed.Subscribe([](const backend::DataAccess& a) { ... });
//   feed.Unsubscribe(id);
#ifndef CFS_LIB_BACKENDS_FILTERS_CHANGE_FEED_H_
#define CFS_LIB_BACKENDS_FILTERS_CHANGE_FEED_H_

#include <functional>
#include <map>
#include <memory>
#include <mutex>  // std::mutex: visible to ThreadSanitizer (Debian's Abseil is not instrumented)

#include "lib/backend/change_listener.h"
#include "lib/backends/filters/forwarding_backend.h"

namespace cfs::filters {

class ChangeFeed : public ForwardingBackend, public backend::ChangeSource {
 public:
  using Access = backend::DataAccess;
  using Listener = backend::ChangeListener;

  using ForwardingBackend::ForwardingBackend;

  int Subscribe(Listener listener) override;
  void Unsubscribe(int id) override;

  void Read(const Ctx& c, Ino inode, uint64_t offset, uint64_t count,
            Cb<backend::ReadResult> done) override;
  void Write(const Ctx& c, Ino inode, uint64_t offset, Buffer data, backend::Stability stability,
             Cb<backend::WriteResult> done) override;
  void SetAttr(const Ctx& c, Ino inode, const backend::SetAttributes& attrs,
               Cb<backend::AttrChange> done) override;

 private:
  void Notify(const Access& access);

  std::mutex mu_;
  int next_id_ = 1;
  // Shared, so a notification runs without the lock held while others subscribe.
  std::shared_ptr<const std::map<int, Listener>> listeners_ =
      std::make_shared<const std::map<int, Listener>>();
};

}  // namespace cfs::filters

#endif  // CFS_LIB_BACKENDS_FILTERS_CHANGE_FEED_H_
