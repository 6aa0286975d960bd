// Renders the library's progress events on stderr: live bars on a terminal, one plain line per
// finished blob otherwise, or JSON lines for CI logs.
#pragma once

#include "floe/core/progress.hpp"

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <string>

namespace floe::cli {

enum class ProgressMode { none, bars, plain, json };

// "auto" picks bars on a terminal and plain lines elsewhere.
ProgressMode parse_progress_mode(const std::string& text, bool stderr_is_tty);

class ProgressView {
  public:
    ProgressView(ProgressMode mode, std::FILE* out);
    ~ProgressView();
    ProgressCallback callback();
    // Clears the live bars, so that what is printed next stays on screen.
    void finish();

  private:
    void on_event(const ProgressEvent& e);
    void render_bars(bool force);
    void print_json(const ProgressEvent& e);

    struct Blob {
        std::string label;
        std::uint64_t size = 0;
        std::uint64_t bytes = 0;
        std::uint64_t last_reported = 0;
    };
    ProgressMode mode_;
    std::FILE* out_;
    std::map<std::string, Blob> active_; // by digest
    ProgressEvent last_operation_;
    std::chrono::steady_clock::time_point last_draw_{};
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
    int drawn_lines_ = 0;
};

} // namespace floe::cli
