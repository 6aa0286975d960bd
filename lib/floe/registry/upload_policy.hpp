// Decisions of the transfer protocol as pure code (no I/O): how big a chunk is, where the registry
// says an upload stands, what range a 206 holds, and the upload state machine that says which
// request comes next.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace floe::registry {

// The largest chunk floe agrees to: a chunk of a source of unknown length is held in memory.
inline constexpr std::uint64_t max_chunk_size = 64 * 1024 * 1024;

// The chunk size to use: what was asked for, raised to the registry's OCI-Chunk-Min-Length
// (itself capped at max_chunk_size). 0 asked stays 0: one body for the whole blob, which meets
// any minimum.
std::uint64_t effective_chunk_size(std::uint64_t requested,
                                   std::optional<std::string_view> min_length_header);

// Bytes the registry holds for an upload session, from its Range header ("0-1023" means 1024;
// "bytes=0-1023" is accepted too; absent or "0-0" with nothing stored means 0). nullopt for a
// malformed header.
std::optional<std::uint64_t> bytes_received(std::optional<std::string_view> range_header);

// The Content-Range of a 206 answer: "bytes <first>-<last>/<total>" (total may be "*").
struct ContentRange {
    std::uint64_t first = 0, last = 0;
    std::optional<std::uint64_t> total;
};
std::optional<ContentRange> parse_content_range(std::string_view header);

// One blob upload (distribution spec, "pushing blobs"): the caller performs the step next()
// returns and reports how it went; the machine decides what follows.
//
//   monolithic (digest and size known, no chunk size): POST, then PUT ?digest= with the body.
//   streamed (digest unknown, no chunk size): POST, one PATCH with the whole body (hashed on
//     the way), PUT ?digest=.
//   chunked (a chunk size, or a size not known in advance): POST, PATCH chunks with
//     Content-Range, PUT ?digest=.
// After a lost step the machine asks the registry where the upload stands (GET on the session)
// and continues from the bytes it holds; a session the registry forgot starts over.
class UploadMachine {
  public:
    enum class Op {
        open,  // POST /v2/<name>/blobs/uploads/
        send,  // PATCH bytes [offset, offset+length) (length nullopt: to the source's end)
        close, // PUT <location>?digest= (with the whole body when body_on_close)
        ask,   // GET <location>: how many bytes does the registry hold?
        done,
    };
    struct Step {
        Op op = Op::open;
        std::uint64_t offset = 0;
        std::optional<std::uint64_t> length;
        bool content_range = false; // send: say where the bytes belong
        bool body_on_close = false; // close: the PUT carries the whole blob
    };

    // `size`: nullopt when the source's length is unknown. `chunk_size`: 0 for none.
    UploadMachine(std::optional<std::uint64_t> size, std::uint64_t chunk_size, bool digest_known);

    Step next() const;

    // POST answered 202; `chunk_size` is the effective one (the registry may demand a minimum).
    void opened(std::uint64_t chunk_size);
    // PATCH answered 202 for `bytes` bytes; `source_ended`: the source has no more after them.
    void sent(std::uint64_t bytes, bool source_ended);
    // PUT answered 201.
    void closed() { state_ = State::done; }
    // A step was lost (connection, timeout, 416, a busy answer): find out where things stand.
    void failed();
    // The answer to ask: bytes held, or nullopt when the session is gone.
    void told(std::optional<std::uint64_t> held);

    // Bytes the registry has acknowledged.
    std::uint64_t offset() const { return offset_; }
    // Whether the transfer moved forward since the last failure (for the retry budget).
    bool progressed() const { return offset_ > offset_at_failure_; }

  private:
    enum class State { opening, sending, closing, asking, done };
    bool monolithic() const { return chunk_size_ == 0 && digest_known_ && size_.has_value(); }
    bool all_sent() const { return size_ ? offset_ >= *size_ : source_ended_; }

    std::optional<std::uint64_t> size_;
    std::uint64_t chunk_size_;
    bool digest_known_;
    State state_ = State::opening;
    std::uint64_t offset_ = 0;
    std::uint64_t offset_at_failure_ = 0;
    std::uint64_t attempted_end_ = 0;
    bool source_ended_ = false;
};

// Chunk size for a source of unknown length when none was asked for: each PATCH body must be
// held in memory to know its length, so it stays modest.
inline constexpr std::uint64_t unknown_size_chunk = 8 * 1024 * 1024;

} // namespace floe::registry
