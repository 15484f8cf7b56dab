#include "lib/backends/filters/change_feed.h"

namespace cfs::filters {

int ChangeFeed::Subscribe(Listener listener) {
  std::lock_guard<std::mutex> lock(mu_);
  auto next = std::make_shared<std::map<int, Listener>>(*listeners_);
  int id = next_id_++;
  (*next)[id] = std::move(listener);
  listeners_ = std::move(next);
  return id;
}

void ChangeFeed::Unsubscribe(int id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto next = std::make_shared<std::map<int, Listener>>(*listeners_);
  next->erase(id);
  listeners_ = std::move(next);
}

void ChangeFeed::Notify(const Access& access) {
  std::shared_ptr<const std::map<int, Listener>> listeners;
  {
    std::lock_guard<std::mutex> lock(mu_);
    listeners = listeners_;
  }
  for (const auto& [id, listener] : *listeners) listener(access);
}

void ChangeFeed::Read(const Ctx& c, Ino inode, uint64_t offset, uint64_t count,
                      Cb<backend::ReadResult> done) {
  Notify({inode, false, c.origin});
  ForwardingBackend::Read(c, inode, offset, count, std::move(done));
}

void ChangeFeed::Write(const Ctx& c, Ino inode, uint64_t offset, Buffer data,
                       backend::Stability stability, Cb<backend::WriteResult> done) {
  Notify({inode, true, c.origin});
  ForwardingBackend::Write(c, inode, offset, std::move(data), stability, std::move(done));
}

void ChangeFeed::SetAttr(const Ctx& c, Ino inode, const backend::SetAttributes& attrs,
                         Cb<backend::AttrChange> done) {
  if (attrs.size.has_value()) Notify({inode, true, c.origin});
  ForwardingBackend::SetAttr(c, inode, attrs, std::move(done));
}

}  // namespace cfs::filters
