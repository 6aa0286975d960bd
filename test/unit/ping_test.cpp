// Health checks (floe registry ping): the pure decisions, the exit codes and the output.
#include "exit_codes.hpp"
#include "ping_output.hpp"

#include "floe/registry/health.hpp"

#include <doctest/doctest.h>

#include <ctime>
#include <set>

using namespace floe;
using namespace floe::registry;
using std::chrono::microseconds;

namespace {

std::chrono::system_clock::time_point day(int y, int m, int d) {
    std::tm tm{};
    tm.tm_year = y - 1900;
    tm.tm_mon = m - 1;
    tm.tm_mday = d;
    return std::chrono::system_clock::from_time_t(::timegm(&tm));
}

} // namespace

TEST_CASE("ping: latency is the median of the samples, whatever their order") {
    CHECK(median({}) == microseconds{0});
    CHECK(median({microseconds{7}}) == microseconds{7});
    // The first request pays for the connection; the median ignores it.
    CHECK(median({microseconds{900}, microseconds{3}, microseconds{5}, microseconds{4},
                  microseconds{6}}) == microseconds{5});
    CHECK(median({microseconds{10}, microseconds{2}, microseconds{4}, microseconds{100}}) ==
          microseconds{7});
}

TEST_CASE("ping: /v2/ answers classify into healthy, failing or not a registry") {
    CHECK_FALSE(v2_problem(200));
    CHECK_FALSE(v2_problem(401)); // a registry that wants credentials is still a registry
    auto failing = v2_problem(503);
    REQUIRE(failing);
    CHECK(failing->find("503") != std::string::npos);
    auto web_server = v2_problem(404);
    REQUIRE(web_server);
    CHECK(web_server->find("not a registry") != std::string::npos);
}

TEST_CASE("ping: the challenge says whether a token is obtained") {
    CHECK(auth_kind(R"(Bearer realm="https://auth.example/token",service="r")") == "token");
    CHECK(auth_kind(R"(Basic realm="registry")") == "basic");
}

TEST_CASE("ping: referrers support only from answers that prove it") {
    const std::string index = "application/vnd.oci.image.index.v1+json";
    CHECK(referrers_support(200, index, R"({"manifests":[]})") == ReferrersSupport::supported);
    CHECK(referrers_support(200, "text/html", "<html/>") == ReferrersSupport::unknown);
    // distribution 2.8 does not route the endpoint: a bare 404
    CHECK(referrers_support(404, "text/plain", "404 page not found") ==
          ReferrersSupport::unsupported);
    CHECK(referrers_support(405, "", "") == ReferrersSupport::unsupported);
    // A registry that routes it but does not know the repository: proves nothing.
    CHECK(referrers_support(404, "application/json",
                            R"({"errors":[{"code":"NAME_UNKNOWN","message":"x"}]})") ==
          ReferrersSupport::unknown);
    CHECK(referrers_support(401, "", "") == ReferrersSupport::unknown);
    CHECK(referrers_support(503, "", "") == ReferrersSupport::unknown);
}

TEST_CASE("ping: certificate problems are named, with the expiry date") {
    http::TlsFacts good;
    good.handshake_done = good.certificate_seen = true;
    good.not_after = day(2030, 6, 1);
    CHECK_FALSE(certificate_problem(good, "r.example"));

    auto expired = good;
    expired.expired = true;
    expired.not_after = day(2020, 1, 1);
    CHECK(certificate_problem(expired, "r.example") == "certificate expired on 2020-01-01");

    auto untrusted = good;
    untrusted.untrusted = true;
    untrusted.name_mismatch = true;
    auto both = certificate_problem(untrusted, "r.example");
    REQUIRE(both);
    CHECK(both->find("not trusted") != std::string::npos);
    CHECK(both->find("--ca-file") != std::string::npos);
    CHECK(both->find("not issued for r.example") != std::string::npos);
}

TEST_CASE("ping: a certificate close to its end is a warning, not a failure") {
    auto now = day(2026, 1, 1);
    CHECK(expiry_warning(day(2026, 6, 1), now).empty());
    CHECK(expiry_warning(day(2026, 1, 6), now) == "certificate expires on 2026-01-06 (in 5 days)");
}

TEST_CASE("ping: the worst result decides the exit code, each its own") {
    using cli::exit_code_for;
    CHECK(worst_status({}) == PingStatus::healthy);
    std::vector<PingResult> results(3);
    results[1].status = PingStatus::unauthorized;
    CHECK(worst_status(results) == PingStatus::unauthorized);
    results[2].status = PingStatus::unreachable;
    CHECK(worst_status(results) == PingStatus::unreachable);

    CHECK(exit_code_for(PingStatus::healthy) == 0);
    CHECK(exit_code_for(PingStatus::unreachable) == cli::exit_network);
    CHECK(exit_code_for(PingStatus::unauthorized) == cli::exit_auth);
    CHECK(exit_code_for(PingStatus::tls) == cli::exit_tls);
    CHECK(exit_code_for(PingStatus::unhealthy) == cli::exit_unhealthy);
    std::set<int> codes;
    for (auto s : {PingStatus::healthy, PingStatus::unhealthy, PingStatus::unauthorized,
                   PingStatus::tls, PingStatus::unreachable})
        codes.insert(exit_code_for(s));
    CHECK(codes.size() == 5);
}

TEST_CASE("ping: output shows the registry's words inert, in the table and in JSON") {
    cli::PingRow row;
    row.role = "mirror 1";
    row.result.registry = "r.example:5000";
    row.result.api_version = "registry/2.0\x1b[2J";
    row.result.auth = "anonymous";
    row.result.latency = microseconds{1500};
    row.result.certificate_expires = day(2030, 6, 1);
    auto table = cli::ping_table({row});
    CHECK(table.find('\x1b') == std::string::npos);
    CHECK(table.find("r.example:5000") != std::string::npos);
    CHECK(table.find("mirror 1") != std::string::npos);
    CHECK(table.find("2030-06-01") != std::string::npos);
    CHECK(table.find("1.5 ms") != std::string::npos);
    auto json = cli::ping_json({row});
    CHECK(json.find('\x1b') == std::string::npos);
    CHECK(json.find(R"("status":"healthy")") != std::string::npos);
    CHECK(json.find(R"("certificate_expires":"2030-06-01T00:00:00Z")") != std::string::npos);
    CHECK(json.find(R"("latency_ms":1.5)") != std::string::npos);
}
