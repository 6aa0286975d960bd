// `floe registry ping` results: a table for people, a JSON array for machines (README, "Health
// checks"). Every value a registry controls goes through scrub().
#pragma once

#include "floe/client.hpp"

#include <string>
#include <vector>

namespace floe::cli {

struct PingRow {
    std::string role; // "primary", "mirror 1", ... with --env; "" for registries named
    PingResult result;
};

std::string ping_table(const std::vector<PingRow>& rows);
std::string ping_json(const std::vector<PingRow>& rows);
// "0.4 ms", "12 ms"; "-" for none.
std::string latency_text(const std::optional<std::chrono::microseconds>& latency);

} // namespace floe::cli
