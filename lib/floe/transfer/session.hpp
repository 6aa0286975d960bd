// One transfer operation's shared state: the concurrency bound, the progress callback and its
// totals, and readers that survive a lost connection by asking again from the byte they reached.
#pragma once

#include "floe/core/progress.hpp"
#include "floe/target/target.hpp"

#include <boost/asio/thread_pool.hpp>

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
    int max_resumes = 5; // per blob, after a lost connection
    ProgressCallback progress;
    // A blob of at least range_threshold bytes is fetched as this many concurrent ranges
    // (when the source answers Range requests); 1 turns it off.
    int range_parts = 1;
    std::uint64_t range_threshold = 64 * 1024 * 1024;
};

class Session {
  public:
    explicit Session(SessionOptions options);
    ~Session();
    Session(Session&&) = default;

    const SessionOptions& options() const { return options_; }

    // Reports that these blobs belong to the operation (totals for the progress display).
    void queue(const Descriptor& blob);
    void skipped(const Descriptor& blob);
    void mounted(const Descriptor& blob); // after started(): leaves the in-flight count
    void started(const Descriptor& blob);
    void resumed(const Descriptor& blob, std::uint64_t offset);
    // A previous run left `bytes` of the blob on disk: they count as done.
    void resumed_from_disk(const Descriptor& blob, std::uint64_t bytes);
    void retried(const Descriptor& blob, const std::string& why);
    void done(const Descriptor& blob);
    void failed(const Descriptor& blob, const std::string& why);
    void moved(const Descriptor& blob, std::uint64_t so_far, std::uint64_t delta);

    // A reader of `blob` from `offset` on that, when the connection is lost, fetches again from
    // the byte it reached (Range), up to max_resumes times, and reports its bytes.
    Task<std::unique_ptr<BlobReader>> open(Target& src, const Descriptor& blob,
                                           std::uint64_t offset = 0);

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
    // work, lets in-flight items finish, and is rethrown.
    Task<void> for_each(const std::vector<Descriptor>& items,
                        std::function<Task<void>(const Descriptor&)> fn);
    // The same over the indexes 0..count-1.
    Task<void> for_each_index(std::size_t count, std::function<Task<void>(std::size_t)> fn);

    std::uint64_t bytes_moved() const { return moved_bytes_; }

    // A thread for CPU work (hashing, writing) that can overlap the network on the I/O thread.
    boost::asio::thread_pool& workers();

  private:
    void emit(ProgressEvent::Kind kind, const Descriptor& blob, std::uint64_t bytes = 0,
              std::string detail = {});

    SessionOptions options_;
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    std::uint64_t total_bytes_ = 0, done_bytes_ = 0, total_blobs_ = 0, done_blobs_ = 0;
    std::uint64_t in_flight_ = 0, moved_bytes_ = 0;
    std::unique_ptr<boost::asio::thread_pool> workers_;
    // A blob counts once in the totals however many steps of the operation meet it.
    std::set<Digest> queued_, finished_;
    // Furthest byte reached per blob (by digest, or title while the digest is unknown): bytes
    // sent again after a restart are not counted as done twice.
    std::map<std::string, std::uint64_t> reached_;
    std::uint64_t advance(const Descriptor& blob, std::uint64_t so_far);
    void release_slot();
    int free_slots_ = -1; // set from options on first use
    std::deque<std::shared_ptr<boost::asio::steady_timer>> slot_waiters_;
};

} // namespace floe::transfer
