#include "floe/transfer/session.hpp"

#include "floe/core/error.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace floe {

std::string_view to_string(ProgressEvent::Kind kind) {
    using K = ProgressEvent::Kind;
    switch (kind) {
    case K::queued:
        return "queued";
    case K::started:
        return "started";
    case K::bytes:
        return "bytes";
    case K::retried:
        return "retried";
    case K::resumed:
        return "resumed";
    case K::skipped:
        return "skipped";
    case K::mounted:
        return "mounted";
    case K::verified:
        return "verified";
    case K::done:
        return "done";
    case K::failed:
        return "failed";
    case K::circuit:
        return "circuit";
    case K::failover:
        return "failover";
    case K::operation:
        return "operation";
    }
    return "unknown";
}

} // namespace floe

namespace floe::transfer {
namespace {

using namespace boost::asio::experimental::awaitable_operators;
using K = ProgressEvent::Kind;

class CountingReader final : public BlobReader {
  public:
    CountingReader(Session& session, Descriptor blob, std::unique_ptr<BlobReader> inner,
                   std::uint64_t offset)
        : session_(session), blob_(std::move(blob)), inner_(std::move(inner)), so_far_(offset) {}
    Task<std::size_t> read(std::span<std::byte> buf) override {
        auto n = co_await inner_->read(buf);
        so_far_ += n;
        if (n)
            session_.moved(blob_, so_far_, n);
        co_return n;
    }

  private:
    Session& session_;
    Descriptor blob_;
    std::unique_ptr<BlobReader> inner_;
    std::uint64_t so_far_;
};

} // namespace

std::unique_ptr<BlobReader>
Session::counted(const Descriptor& blob, std::unique_ptr<BlobReader> inner, std::uint64_t offset) {
    return std::make_unique<CountingReader>(*this, blob, std::move(inner), offset);
}

Session::Session(SessionOptions options) : options_(std::move(options)) {}

void Session::emit(K kind, const Descriptor& blob, std::uint64_t bytes, std::string detail) {
    if (!options_.progress)
        return;
    ProgressEvent e;
    e.kind = kind;
    e.blob = blob;
    e.bytes = bytes;
    e.detail = std::move(detail);
    options_.progress(e);
    ProgressEvent op;
    op.kind = K::operation;
    op.total_bytes = total_bytes_;
    op.done_bytes = done_bytes_;
    op.total_blobs = total_blobs_;
    op.done_blobs = done_blobs_;
    op.in_flight = in_flight_;
    auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    op.bytes_per_second = secs > 0 ? double(moved_bytes_) / secs : 0;
    options_.progress(op);
}

void Session::queue(const Descriptor& blob) {
    if (!blob.digest.empty() && !queued_.insert(blob.digest).second)
        return;
    total_bytes_ += blob.size;
    ++total_blobs_;
    emit(K::queued, blob);
}
void Session::skipped(const Descriptor& blob) {
    if (!finished_.insert(blob.digest).second)
        return; // sent earlier in this operation: already counted
    done_bytes_ += blob.size;
    ++done_blobs_;
    emit(K::skipped, blob);
}
void Session::mounted(const Descriptor& blob) {
    --in_flight_;
    done_bytes_ += blob.size;
    ++done_blobs_;
    emit(K::mounted, blob);
}
void Session::started(const Descriptor& blob) {
    ++in_flight_;
    emit(K::started, blob);
}
std::uint64_t Session::advance(const Descriptor& blob, std::uint64_t so_far) {
    auto& reached = reached_[blob.digest.empty() ? "title:" + blob.title() : blob.digest.str()];
    auto gained = so_far > reached ? so_far - reached : 0;
    reached = std::max(reached, so_far);
    return gained;
}

void Session::resumed_at(const Descriptor& blob, std::uint64_t offset) {
    done_bytes_ += advance(blob, offset);
    emit(K::resumed, blob, offset);
}
void Session::retried(const Descriptor& blob, const std::string& why) {
    emit(K::retried, blob, 0, why);
}
void Session::done(const Descriptor& blob) {
    finished_.insert(blob.digest);
    queued_.insert(blob.digest);
    --in_flight_;
    ++done_blobs_;
    emit(K::verified, blob, blob.size);
    emit(K::done, blob, blob.size);
}
void Session::failed(const Descriptor& blob, const std::string& why) {
    --in_flight_;
    emit(K::failed, blob, 0, why);
}
void Session::moved(const Descriptor& blob, std::uint64_t so_far, std::uint64_t delta) {
    moved_bytes_ += delta;
    auto gained = advance(blob, so_far);
    done_bytes_ += gained;
    // Bytes read again (a restart, or rebuilding a hash locally) do not move the bar back.
    if (options_.progress && gained > 0)
        emit(K::bytes, blob, so_far);
}

Session::Slot::~Slot() {
    if (session_)
        session_->release_slot();
}

Task<Session::Slot> Session::slot() {
    if (free_slots_ < 0)
        free_slots_ = std::max(1, options_.concurrency);
    if (free_slots_ > 0) {
        --free_slots_;
        co_return Slot(this);
    }
    // Wait in line; release_slot() hands the slot over by cancelling our timer.
    auto executor = co_await boost::asio::this_coro::executor;
    auto waiter = std::make_shared<SlotWaiter>(executor);
    slot_waiters_.push_back(waiter);
    co_await waiter->timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    if (!waiter->handed) { // the operation was cancelled while we waited
        std::erase(slot_waiters_, waiter);
        fail(Errc::cancelled, "cancelled while waiting for a transfer slot");
    }
    co_return Slot(this);
}

void Session::release_slot() {
    if (!slot_waiters_.empty()) {
        auto next = std::move(slot_waiters_.front());
        slot_waiters_.pop_front();
        next->handed = true;
        next->timer.cancel(); // the slot passes to the first waiter
        return;
    }
    ++free_slots_;
}

Task<void> Session::for_each(const std::vector<Descriptor>& items,
                             std::function<Task<void>(const Descriptor&)> fn) {
    co_await for_each_index(items.size(), [&](std::size_t i) { return fn(items[i]); });
}

Task<void> Session::for_each_index(std::size_t count, std::function<Task<void>(std::size_t)> fn) {
    std::size_t next = 0;
    std::exception_ptr failure;
    // Workers take items from a shared cursor. The first failure is kept and rethrown: the
    // parallel group then cancels the other workers, whose own errors ("cancelled") are dropped.
    auto worker = [&]() -> Task<void> {
        while (next < count && !failure) {
            auto item = next++;
            try {
                co_await fn(item);
            } catch (...) {
                if (!failure)
                    failure = std::current_exception();
                throw;
            }
        }
    };
    std::function<Task<void>(int)> run = [&](int n) -> Task<void> {
        if (n <= 1)
            co_await worker();
        else
            co_await (worker() && run(n - 1));
    };
    int workers = std::max(1, std::min<int>(options_.concurrency, static_cast<int>(count)));
    try {
        if (count > 0)
            co_await run(workers);
    } catch (...) {
        if (!failure)
            throw;
    }
    if (failure)
        std::rethrow_exception(failure);
}

} // namespace floe::transfer
