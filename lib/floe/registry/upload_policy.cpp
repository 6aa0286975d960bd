#include "floe/registry/upload_policy.hpp"

#include <algorithm>
#include <charconv>
#include <limits>

namespace floe::registry {

std::uint64_t effective_chunk_size(std::uint64_t requested,
                                   std::optional<std::string_view> min_length_header) {
    std::uint64_t min = 0;
    if (min_length_header) {
        auto v = *min_length_header;
        std::from_chars(v.data(), v.data() + v.size(), min);
        min = std::min(min, max_chunk_size); // a registry cannot make floe hold gigabytes
    }
    if (requested == 0)
        return 0;
    return std::max(requested, min);
}

std::optional<std::uint64_t> bytes_received(std::optional<std::string_view> range_header) {
    if (!range_header || range_header->empty())
        return 0;
    auto v = *range_header;
    if (v.starts_with("bytes="))
        v.remove_prefix(6);
    auto dash = v.find('-');
    if (dash == std::string_view::npos)
        return std::nullopt;
    std::uint64_t start = 0, end = 0;
    auto a = std::from_chars(v.data(), v.data() + dash, start);
    auto b = std::from_chars(v.data() + dash + 1, v.data() + v.size(), end);
    if (a.ec != std::errc() || b.ec != std::errc() || a.ptr != v.data() + dash ||
        b.ptr != v.data() + v.size() || start != 0 || end < start)
        return std::nullopt;
    if (end == std::numeric_limits<std::uint64_t>::max())
        return std::nullopt;
    // Distribution answers "0-0" for an empty session as well as for one byte; an empty
    // session is the safer reading (re-sending one byte costs nothing, skipping one corrupts).
    return end == 0 ? 0 : end + 1;
}

} // namespace floe::registry

namespace floe::registry {

std::optional<ContentRange> parse_content_range(std::string_view v) {
    if (!v.starts_with("bytes "))
        return std::nullopt;
    v.remove_prefix(6);
    auto dash = v.find('-');
    auto slash = v.find('/');
    if (dash == std::string_view::npos || slash == std::string_view::npos || slash < dash)
        return std::nullopt;
    ContentRange r;
    auto number = [](std::string_view s, std::uint64_t& out) {
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
        return ec == std::errc() && p == s.data() + s.size() && !s.empty();
    };
    if (!number(v.substr(0, dash), r.first) ||
        !number(v.substr(dash + 1, slash - dash - 1), r.last) || r.last < r.first)
        return std::nullopt;
    auto total = v.substr(slash + 1);
    if (total != "*") {
        std::uint64_t t = 0;
        if (!number(total, t))
            return std::nullopt;
        r.total = t;
    }
    return r;
}

UploadMachine::UploadMachine(std::optional<std::uint64_t> size, std::uint64_t chunk_size,
                             bool digest_known)
    : size_(size), chunk_size_(chunk_size), digest_known_(digest_known) {}

void UploadMachine::opened(std::uint64_t chunk_size) {
    chunk_size_ = chunk_size;
    if (!size_) // each chunk of a source of unknown length is held in memory
        chunk_size_ = chunk_size_ == 0 ? unknown_size_chunk : std::min(chunk_size_, max_chunk_size);
    offset_ = 0;
    source_ended_ = false;
    state_ =
        monolithic() ? State::closing : (all_sent() && size_ ? State::closing : State::sending);
}

UploadMachine::Step UploadMachine::next() const {
    Step s;
    switch (state_) {
    case State::opening:
        s.op = Op::open;
        break;
    case State::sending:
        s.op = Op::send;
        s.offset = offset_;
        if (chunk_size_ > 0) {
            s.length = size_ ? std::min(chunk_size_, *size_ - offset_) : chunk_size_;
            s.content_range = true;
        } else {
            s.length = *size_ - offset_; // streamed: the rest in one body
            s.content_range = offset_ > 0;
        }
        break;
    case State::closing:
        s.op = Op::close;
        s.body_on_close = monolithic();
        s.length = monolithic() ? size_ : std::nullopt;
        break;
    case State::asking:
        s.op = Op::ask;
        break;
    case State::done:
        s.op = Op::done;
        break;
    }
    return s;
}

void UploadMachine::sent(std::uint64_t bytes, bool source_ended) {
    offset_ += bytes;
    source_ended_ = source_ended;
    if (all_sent())
        state_ = State::closing;
}

void UploadMachine::failed() {
    offset_at_failure_ = offset_;
    // The furthest byte the registry may hold now: what was acknowledged plus the lost step (a
    // lost status check changes nothing).
    auto step = next();
    if (step.op == Op::send)
        attempted_end_ = step.offset + step.length.value_or(0);
    else if (step.op != Op::ask)
        attempted_end_ = offset_;
    switch (state_) {
    case State::opening:
        break; // open again
    case State::closing:
        // A monolithic PUT has no session left to ask about; a closing PUT after PATCHes may
        // have landed or not: ask.
        state_ = monolithic() ? State::opening : State::asking;
        break;
    default:
        state_ = State::asking;
        break;
    }
}

void UploadMachine::told(std::optional<std::uint64_t> held) {
    if (!held || *held > std::max(offset_, attempted_end_)) {
        state_ = State::opening; // gone, or an answer that cannot be true: start over
        offset_ = 0;
        source_ended_ = false;
        return;
    }
    offset_ = *held;
    // A source of unknown length that had ended is read again from `held` on.
    source_ended_ = false;
    state_ = (size_ && offset_ >= *size_) ? State::closing : State::sending;
}

} // namespace floe::registry
