// One transfer operation's shared state: the concurrency bound (slots, and for_each that cancels
// the siblings of a failure), and the progress hooks with their totals. The copy engine calls the
// hooks (queue, started, skipped, mounted, resumed_at, retried, done, failed); the progress
// display, the counts and -v hang from them.
#pragma once

#include "floe/core/progress.hpp"
#include "floe/target/target.hpp"

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>

#include <deque>
#include <map>
#include <memory>
#include <set>
#include <utility>
#include <vector>

namespace floe::transfer {

struct SessionOptions {
    int concurrency = 4; // blobs in flight
    ProgressCallback progress;
    // A large blob is fetched as this many concurrent ranges (when the source answers Range
    // requests); 1 turns it off.
    int range_parts = 1;
};

class Session {
  public:
    explicit Session(SessionOptions options);
    Session(Session&&) = default;

    const SessionOptions& options() const { return options_; }

    // Reports that these blobs belong to the operation (totals for the progress display).
    void queue(const Descriptor& blob);
    void skipped(const Descriptor& blob);
    void mounted(const Descriptor& blob); // after started(): leaves the in-flight count
    void started(const Descriptor& blob);
    // The transfer continues from byte `offset` (a partial file left by an earlier run, or what
    // the destination already holds): those bytes count as done.
    void resumed_at(const Descriptor& blob, std::uint64_t offset);
    void retried(const Descriptor& blob, const std::string& why);
    void done(const Descriptor& blob);
    void failed(const Descriptor& blob, const std::string& why);
    void moved(const Descriptor& blob, std::uint64_t so_far, std::uint64_t delta);

    // A reader that reports its bytes as progress of `blob` (for sources read directly).
    // `offset`: where `inner` starts within the blob.
    std::unique_ptr<BlobReader> counted(const Descriptor& blob, std::unique_ptr<BlobReader> inner,
                                        std::uint64_t offset = 0);

    // One of the operation's `concurrency` transfer slots, held for the life of the object.
    // Every blob transfer takes one, so the bound holds across nested and parallel steps (for
    // instance several artifacts pushed at once).
    class Slot {
      public:
        explicit Slot(Session* s) : session_(s) {}
        Slot(Slot&& o) noexcept : session_(std::exchange(o.session_, nullptr)) {}
        Slot& operator=(Slot&&) = delete;
        ~Slot();

      private:
        Session* session_;
    };
    Task<Slot> slot();

    // Runs fn over items with at most `concurrency` in flight. The first failure stops new
    // work, cancels the items in flight (through Asio's cancellation slots), and is rethrown.
    Task<void> for_each(const std::vector<Descriptor>& items,
                        std::function<Task<void>(const Descriptor&)> fn);
    // The same over the indexes 0..count-1.
    Task<void> for_each_index(std::size_t count, std::function<Task<void>(std::size_t)> fn);

    std::uint64_t bytes_moved() const { return moved_bytes_; }

  private:
    void emit(ProgressEvent::Kind kind, const Descriptor& blob, std::uint64_t bytes = 0,
              std::string detail = {});

    SessionOptions options_;
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    std::uint64_t total_bytes_ = 0, done_bytes_ = 0, total_blobs_ = 0, done_blobs_ = 0;
    std::uint64_t in_flight_ = 0, moved_bytes_ = 0;
    // A blob counts once in the totals however many steps of the operation meet it.
    std::set<Digest> queued_, finished_;
    // Furthest byte reached per blob (by digest, or title while the digest is unknown): bytes
    // sent again after a restart are not counted as done twice.
    std::map<std::string, std::uint64_t> reached_;
    std::uint64_t advance(const Descriptor& blob, std::uint64_t so_far);
    void release_slot();
    int free_slots_ = -1; // set from options on first use
    struct SlotWaiter {
        explicit SlotWaiter(const boost::asio::any_io_executor& ex)
            : timer(ex, boost::asio::steady_timer::time_point::max()) {}
        boost::asio::steady_timer timer;
        bool handed = false; // the slot passed to it (else its wait was cancelled)
    };
    std::deque<std::shared_ptr<SlotWaiter>> slot_waiters_;
};

} // namespace floe::transfer
