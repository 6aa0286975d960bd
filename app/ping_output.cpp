#include "ping_output.hpp"

#include "floe/core/json_writer.hpp"
#include "floe/core/printable.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <ctime>

namespace floe::cli {
namespace {

constexpr std::size_t columns = 9;
using Cells = std::array<std::string, columns>;

std::string or_dash(std::string s) {
    return s.empty() ? "-" : s;
}

// UTC, "2020-01-01" or (for machines) "2020-01-01T00:00:00Z".
std::string utc(std::chrono::system_clock::time_point t, bool with_time) {
    auto seconds = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    ::gmtime_r(&seconds, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, with_time ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%d", &tm);
    return buf;
}

std::string expiry_text(const PingResult& r) {
    return r.certificate_expires ? utc(*r.certificate_expires, false) : "-";
}

// The registry's own words, inert and short enough for a column.
std::string header_text(std::string_view value) {
    return or_dash(scrub(value.substr(0, 40)));
}

Cells cells_of(const PingRow& row) {
    auto& r = row.result;
    auto name = r.registry + (r.repository.empty() ? "" : "/" + r.repository);
    return {scrub(name),
            or_dash(row.role),
            std::string(to_string(r.status)),
            expiry_text(r),
            header_text(r.api_version),
            or_dash(r.auth),
            std::string(to_string(r.referrers)),
            latency_text(r.latency),
            scrub(r.reason)};
}

} // namespace

std::string latency_text(const std::optional<std::chrono::microseconds>& latency) {
    if (!latency)
        return "-";
    auto us = latency->count();
    return us < 10'000 ? fmt::format("{:.1f} ms", static_cast<double>(us) / 1000.0)
                       : fmt::format("{} ms", us / 1000);
}

std::string ping_table(const std::vector<PingRow>& rows) {
    std::vector<Cells> table{{"REGISTRY", "ROLE", "STATUS", "TLS EXPIRES", "API", "AUTH",
                              "REFERRERS", "LATENCY", "REASON"}};
    bool roles = std::any_of(rows.begin(), rows.end(), [](auto& r) { return !r.role.empty(); });
    for (auto& row : rows)
        table.push_back(cells_of(row));
    std::array<std::size_t, columns> width{};
    for (auto& cells : table)
        for (std::size_t c = 0; c < columns; ++c)
            width[c] = std::max(width[c], cells[c].size());
    std::string out;
    for (auto& cells : table) {
        std::string line;
        for (std::size_t c = 0; c < columns; ++c) {
            if (c == 1 && !roles)
                continue; // no ROLE column for registries named on the command line
            line += c + 1 == columns ? cells[c] : fmt::format("{:<{}}  ", cells[c], width[c]);
        }
        while (!line.empty() && line.back() == ' ')
            line.pop_back();
        out += line + "\n";
    }
    return out;
}

std::string ping_json(const std::vector<PingRow>& rows) {
    json::Writer w;
    w.begin_array();
    for (auto& row : rows) {
        auto& r = row.result;
        w.begin_object();
        w.key("registry").value(scrub(r.registry));
        w.key("repository").value(scrub(r.repository));
        w.key("role").value(row.role);
        w.key("status").value(to_string(r.status));
        w.key("reason").value(scrub(r.reason));
        w.key("scheme").value(r.scheme);
        w.key("certificate_expires");
        if (r.certificate_expires)
            w.value(utc(*r.certificate_expires, true));
        else
            w.null();
        w.key("v2_status").value(r.v2_status);
        w.key("api_version").value(scrub(r.api_version.substr(0, 200)));
        w.key("auth").value(r.auth);
        w.key("referrers").value(to_string(r.referrers));
        w.key("latency_ms");
        if (r.latency)
            w.value(static_cast<double>(r.latency->count()) / 1000.0);
        else
            w.null();
        w.end_object();
    }
    w.end_array();
    return w.take() + "\n";
}

} // namespace floe::cli
