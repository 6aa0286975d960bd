#include "progress_view.hpp"

#include "output.hpp"

#include "floe/core/error.hpp"
#include "floe/core/json_writer.hpp"
#include "floe/core/media_types.hpp"
#include "floe/core/printable.hpp"

#include <fmt/format.h>

namespace floe::cli {
namespace {

using K = ProgressEvent::Kind;
using clock = std::chrono::steady_clock;

std::string label_of(const Descriptor& d) {
    if (d.media_type == media_type::empty_json)
        return "(empty config)";
    auto title = printable(d.title());
    auto digest = d.digest.empty() ? std::string("(new blob)") : d.digest.str().substr(0, 19);
    return title.empty() ? digest : title;
}

std::string eta(std::uint64_t left, double rate) {
    if (rate <= 1)
        return "--";
    auto s = static_cast<long>(double(left) / rate);
    return s >= 60 ? fmt::format("{}m{:02}s", s / 60, s % 60) : fmt::format("{}s", s);
}

} // namespace

ProgressMode parse_progress_mode(const std::string& text, bool stderr_is_tty) {
    if (text == "auto")
        return stderr_is_tty ? ProgressMode::bars : ProgressMode::plain;
    if (text == "tty" || text == "bars")
        return ProgressMode::bars;
    if (text == "plain")
        return ProgressMode::plain;
    if (text == "json")
        return ProgressMode::json;
    if (text == "none")
        return ProgressMode::none;
    fail(Errc::invalid_argument, "--progress must be auto, tty, plain, json or none");
}

ProgressView::ProgressView(ProgressMode mode, std::FILE* out) : mode_(mode), out_(out) {}

ProgressView::~ProgressView() {
    finish();
}

void ProgressView::finish() {
    if (mode_ == ProgressMode::bars && drawn_lines_ > 0) {
        fmt::print(out_, "\x1b[{}F\x1b[J", drawn_lines_); // up and clear
        std::fflush(out_);
    }
    drawn_lines_ = 0;
    active_.clear();
}

ProgressCallback ProgressView::callback() {
    if (mode_ == ProgressMode::none)
        return {};
    return [this](const ProgressEvent& e) { on_event(e); };
}

void ProgressView::on_event(const ProgressEvent& e) {
    // A streamed upload learns its digest only at the end: until then its title names it.
    auto key = e.blob.digest.empty() ? "title:" + e.blob.title() : e.blob.digest.str();
    switch (e.kind) {
    case K::operation:
        last_operation_ = e;
        if (mode_ == ProgressMode::bars)
            render_bars(false);
        if (mode_ == ProgressMode::json) {
            // a few per second are plenty in a CI log, and the final totals always
            auto now = clock::now();
            bool final = e.total_blobs > 0 && e.done_blobs == e.total_blobs && e.in_flight == 0;
            if (final || now - last_draw_ > std::chrono::milliseconds(200)) {
                last_draw_ = now;
                print_json(e);
            }
        }
        return;
    case K::started:
        active_[key] = Blob{label_of(e.blob), e.blob.size, 0, 0};
        break;
    case K::bytes:
        if (auto it = active_.find(key); it != active_.end()) {
            it->second.bytes = e.bytes;
            if (mode_ == ProgressMode::json) {
                // every MiB and the last byte: enough to follow, cheap to log
                if (e.bytes - it->second.last_reported >= (1u << 20) || e.bytes == e.blob.size) {
                    it->second.last_reported = e.bytes;
                    print_json(e);
                }
            }
        }
        return;
    case K::done:
    case K::failed:
        active_.erase(key);
        active_.erase("title:" + e.blob.title()); // a streamed upload started without a digest
        break;
    default:
        break;
    }
    if (mode_ == ProgressMode::json) {
        if (e.kind != K::queued)
            print_json(e);
        return;
    }
    if (mode_ == ProgressMode::plain || mode_ == ProgressMode::bars) {
        std::string line;
        switch (e.kind) {
        case K::done:
            line = fmt::format("done     {}  {}", label_of(e.blob), human_size(e.blob.size));
            break;
        case K::skipped:
            line = fmt::format("exists   {}  {}", label_of(e.blob), human_size(e.blob.size));
            break;
        case K::mounted:
            line = fmt::format("mounted  {}  {}", label_of(e.blob), human_size(e.blob.size));
            break;
        case K::resumed:
            line = fmt::format("resumed  {}  from {}", label_of(e.blob), human_size(e.bytes));
            break;
        case K::retried:
            line = fmt::format("retrying {}: {}", label_of(e.blob), scrub(e.detail));
            break;
        // (no line for failed: the command's one-line error says it)
        default:
            break;
        }
        if (line.empty())
            return;
        if (mode_ == ProgressMode::bars && drawn_lines_ > 0) {
            fmt::print(out_, "\x1b[{}F\x1b[J", drawn_lines_);
            drawn_lines_ = 0;
        }
        fmt::print(out_, "  {}\n", line); // indented: progress, not the command's own message
        if (mode_ == ProgressMode::bars)
            render_bars(true);
        std::fflush(out_);
    }
}

void ProgressView::render_bars(bool force) {
    auto now = clock::now();
    if (!force && now - last_draw_ < std::chrono::milliseconds(100))
        return;
    last_draw_ = now;
    std::string screen;
    if (drawn_lines_ > 0)
        screen += fmt::format("\x1b[{}F\x1b[J", drawn_lines_);
    int lines = 0;
    double rate = last_operation_.bytes_per_second;
    for (auto& [digest, b] : active_) {
        double frac = b.size ? double(b.bytes) / double(b.size) : 1.0;
        int filled = static_cast<int>(frac * 24);
        screen += fmt::format("  {:<28.28} [{}{}] {:>3}% {:>10}\n", b.label,
                              std::string(filled, '#'), std::string(24 - filled, ' '),
                              static_cast<int>(frac * 100), human_size(b.bytes));
        ++lines;
    }
    auto& op = last_operation_;
    if (op.total_blobs > 0) {
        screen += fmt::format(
            "  {}/{} blobs  {} of {}  {}/s  ETA {}\n", op.done_blobs, op.total_blobs,
            human_size(op.done_bytes), human_size(op.total_bytes),
            human_size(static_cast<std::uint64_t>(rate)),
            eta(op.total_bytes > op.done_bytes ? op.total_bytes - op.done_bytes : 0, rate));
        ++lines;
    }
    drawn_lines_ = lines;
    fmt::print(out_, "{}", screen);
    std::fflush(out_);
}

void ProgressView::print_json(const ProgressEvent& e) {
    json::Writer w;
    w.begin_object();
    w.key("event").value(to_string(e.kind));
    w.key("t").value(std::chrono::duration<double>(clock::now() - start_).count());
    if (e.kind == K::operation) {
        w.key("totalBytes").value(e.total_bytes);
        w.key("doneBytes").value(e.done_bytes);
        w.key("totalBlobs").value(e.total_blobs);
        w.key("doneBlobs").value(e.done_blobs);
        w.key("inFlight").value(e.in_flight);
        w.key("bytesPerSecond").value(e.bytes_per_second);
    } else {
        if (!e.blob.digest.empty()) // unknown until a streamed upload ends
            w.key("digest").value(e.blob.digest.str());
        if (e.kind != K::circuit && e.kind != K::failover) // about a registry, not a blob
            w.key("size").value(e.blob.size);
        if (auto t = e.blob.title(); !t.empty())
            w.key("title").value(t);
        if (e.kind == K::bytes || e.kind == K::resumed || e.kind == K::done)
            w.key("bytes").value(e.bytes);
        if (!e.detail.empty())
            w.key("detail").value(redact_urls(redact_secrets(e.detail)));
    }
    w.end_object();
    fmt::print(out_, "{}\n", w.str());
    std::fflush(out_);
}

} // namespace floe::cli
