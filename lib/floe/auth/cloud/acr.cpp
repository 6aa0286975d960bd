#include "floe/auth/cloud/acr.hpp"

#include "floe/auth/cloud/token_request.hpp"
#include "floe/core/base64.hpp"
#include "floe/core/error.hpp"
#include "floe/core/printable.hpp"
#include "floe/http/client.hpp"
#include "floe/target/flight.hpp"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <chrono>

namespace floe::auth {
namespace {

using steady = std::chrono::steady_clock;
using cloud::env;
using cloud::string_member;

bool is_single_label(std::string_view s) {
    return !s.empty() && s.find('.') == std::string_view::npos;
}

// Tenant and client ids go into URLs and forms: GUIDs or domain names, nothing else.
bool is_plain_id(std::string_view s) {
    return !s.empty() && s.size() <= 256 && std::all_of(s.begin(), s.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '-' || c == '.' || c == '_';
    });
}

// A dotted-quad IPv4 literal, as four numbers; false for anything else (names included).
bool ipv4(std::string_view host, int (&octets)[4]) {
    const char* p = host.data();
    const char* end = host.data() + host.size();
    for (int i = 0; i < 4; ++i) {
        auto [next, ec] = std::from_chars(p, end, octets[i]);
        if (ec != std::errc() || next == p || octets[i] < 0 || octets[i] > 255)
            return false;
        p = next;
        if (i < 3) {
            if (p == end || *p != '.')
                return false;
            ++p;
        }
    }
    return p == end;
}

// The managed-identity agent of App Service, Functions and Container Apps listens on plain http
// at an address of the host itself (loopback, link-local or a private one): the platform's own
// design, so the identity header may go there; a public name may not see it unencrypted.
bool platform_local(const http::Url& url) {
    if (url.is_https() || http::is_loopback_host(url.host))
        return true;
    int o[4];
    if (!ipv4(url.host, o))
        return false;
    return o[0] == 10 || (o[0] == 169 && o[1] == 254) || (o[0] == 172 && o[1] >= 16 && o[1] < 32) ||
           (o[0] == 192 && o[1] == 168);
}

// A number, or a string of digits (IMDS and App Service send their times as strings).
std::int64_t number_member(simdjson::dom::object& obj, const char* name) {
    std::int64_t n = 0;
    if (obj[name].get(n) == simdjson::SUCCESS)
        return n;
    std::string_view s;
    if (obj[name].get(s) != simdjson::SUCCESS)
        return 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    return ec == std::errc() && end == s.data() + s.size() ? n : 0;
}

std::string trim(std::string s) {
    auto space = [](unsigned char c) { return std::isspace(c); };
    s.erase(std::find_if_not(s.rbegin(), s.rend(), space).base(), s.end());
    s.erase(s.begin(), std::find_if_not(s.begin(), s.end(), space));
    return s;
}

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

} // namespace

bool is_acr_host(std::string_view registry) {
    std::string host = cloud::bare_host(registry);
    std::string_view h = host;
    for (std::string_view suffix : {".azurecr.io", ".azurecr.cn", ".azurecr.us"})
        if (h.ends_with(suffix))
            return is_single_label(h.substr(0, h.size() - suffix.size()));
    return false;
}

namespace azure {

std::string token_endpoint(std::string_view authority, std::string_view tenant) {
    if (!is_plain_id(tenant))
        fail(Errc::invalid_argument, "AZURE_TENANT_ID is not a tenant id or domain name");
    std::string base(authority.empty() ? default_authority : authority);
    if (!base.ends_with('/'))
        base += '/';
    http::Url url;
    try {
        url = http::Url::parse(base + std::string(tenant) + "/oauth2/v2.0/token");
    } catch (const Error&) {
        fail(Errc::invalid_argument, "AZURE_AUTHORITY_HOST is not an http(s) URL");
    }
    if (!cloud::may_carry_secret(url))
        fail(Errc::invalid_argument,
             "AZURE_AUTHORITY_HOST must be https (plain http only to loopback)");
    return url.str();
}

std::string workload_identity_form(std::string_view client_id, std::string_view assertion) {
    return "client_id=" + http::percent_encode(client_id) +
           "&grant_type=client_credentials"
           "&client_assertion_type=" +
           http::percent_encode("urn:ietf:params:oauth:client-assertion-type:jwt-bearer") +
           "&client_assertion=" + http::percent_encode(assertion) +
           "&scope=" + http::percent_encode(arm_scope);
}

std::string managed_identity_url(std::string_view endpoint, std::string_view client_id) {
    auto url = http::Url::parse(endpoint);
    url.add_query("api-version", "2019-08-01");
    url.add_query("resource", arm_resource);
    if (!client_id.empty())
        url.add_query("client_id", client_id);
    return url.str();
}

std::string imds_url(std::string_view host, std::string_view client_id) {
    std::string base(host);
    while (base.ends_with('/'))
        base.pop_back();
    auto url = http::Url::parse(base + "/metadata/identity/oauth2/token");
    url.add_query("api-version", "2018-02-01");
    url.add_query("resource", arm_resource);
    if (!client_id.empty())
        url.add_query("client_id", client_id);
    return url.str();
}

EntraToken parse_entra_token(std::string_view json, std::int64_t now) {
    simdjson::dom::parser parser;
    simdjson::dom::object obj;
    if (parser.parse(json.data(), json.size()).get(obj) != simdjson::SUCCESS)
        fail(Errc::protocol, "the Entra ID token endpoint answered something that is not JSON");
    EntraToken t{string_member(obj, "access_token"), 0};
    if (t.token.empty())
        fail(Errc::protocol, "the Entra ID token endpoint's answer has no access_token");
    remember_secret(t.token);
    if (auto in = number_member(obj, "expires_in"); in > 0)
        t.expires_in = in;
    else if (auto on = number_member(obj, "expires_on"); on > now)
        t.expires_in = on - now;
    return t;
}

std::string tenant_of(std::string_view access_token) {
    auto first = access_token.find('.');
    auto second = first == std::string_view::npos ? first : access_token.find('.', first + 1);
    if (second == std::string_view::npos)
        return {};
    auto claims = base64url_decode(access_token.substr(first + 1, second - first - 1));
    if (!claims)
        return {};
    simdjson::dom::parser parser;
    simdjson::dom::object obj;
    if (parser.parse(claims->data(), claims->size()).get(obj) != simdjson::SUCCESS)
        return {};
    auto tid = string_member(obj, "tid");
    return is_plain_id(tid) ? tid : std::string();
}

std::string exchange_url(std::string_view registry, std::string_view override_url) {
    if (!override_url.empty())
        return std::string(override_url);
    return "https://" + std::string(registry) + "/oauth2/exchange";
}

std::string exchange_form(std::string_view registry, std::string_view tenant,
                          std::string_view access_token) {
    std::string form = "grant_type=access_token&service=" + http::percent_encode(registry);
    if (!tenant.empty())
        form += "&tenant=" + http::percent_encode(tenant);
    return form + "&access_token=" + http::percent_encode(access_token);
}

std::string parse_exchange_answer(std::string_view json) {
    simdjson::dom::parser parser;
    simdjson::dom::object obj;
    if (parser.parse(json.data(), json.size()).get(obj) != simdjson::SUCCESS)
        fail(Errc::protocol, "the registry's token exchange answered something that is not JSON");
    auto refresh = string_member(obj, "refresh_token");
    if (refresh.empty())
        fail(Errc::protocol, "the registry's token exchange answer has no refresh_token");
    remember_secret(refresh);
    return refresh;
}

} // namespace azure

// An Entra ID access token and what it came from.
struct Identity {
    std::string token;
    std::string tenant; // for the exchange; "" when unknown
    std::string source; // "ACR (workload identity CLIENT_ID)"
};

struct AcrKeychain::State {
    std::unique_ptr<http::Client> client; // created on first use; outlives its responses
    std::optional<Identity> cached;
    steady::time_point good_until;
    std::shared_ptr<Flight> fetching;
};

AcrKeychain::AcrKeychain(SourceContext context)
    : context_(std::move(context)), state_(std::make_unique<State>()) {}

AcrKeychain::~AcrKeychain() = default;

namespace {

struct Fetched {
    Identity identity;
    std::int64_t expires_in = 0;
};

Task<Fetched> from_workload_identity(http::Client& client, const SourceContext& context,
                                     const std::string& token_file) {
    auto client_id = env("AZURE_CLIENT_ID");
    auto tenant = env("AZURE_TENANT_ID");
    std::string source = "ACR (workload identity " + printable(client_id) + ")";
    if (client_id.empty() || tenant.empty())
        fail(Errc::invalid_argument, "ACR: AZURE_FEDERATED_TOKEN_FILE is set, but workload "
                                     "identity also needs AZURE_CLIENT_ID and AZURE_TENANT_ID");
    std::string assertion;
    std::string endpoint;
    try {
        // Read on every fetch: the kubelet rotates the projected token.
        assertion = trim(cloud::read_small_file(token_file, "the federated token file"));
        endpoint = azure::token_endpoint(env("AZURE_AUTHORITY_HOST"), tenant);
    } catch (const Error& e) {
        fail(e.errc(), source + ": " + e.what());
    }
    if (assertion.empty())
        fail(Errc::invalid_argument,
             source + ": the federated token file " + printable(token_file) + " is empty");
    remember_secret(assertion);
    http::Request request;
    request.method = "POST";
    request.url = http::Url::parse(endpoint);
    request.headers.set("Content-Type", "application/x-www-form-urlencoded");
    request.body = azure::workload_identity_form(client_id, assertion);
    auto reply = co_await cloud::send_token_request(client, context, std::move(request));
    if (reply.status != 200)
        cloud::refused(source + ": the Entra ID token endpoint", reply);
    auto token = azure::parse_entra_token(reply.body, unix_now());
    co_return Fetched{{token.token, tenant, source}, token.expires_in};
}

Task<Fetched> from_managed_identity(http::Client& client, const SourceContext& context,
                                    const std::string& endpoint, const std::string& secret) {
    auto client_id = env("AZURE_CLIENT_ID");
    std::string source =
        "ACR (managed identity" + (client_id.empty() ? "" : " " + printable(client_id)) + ")";
    remember_secret(secret);
    http::Request request;
    try {
        request.url = http::Url::parse(azure::managed_identity_url(endpoint, client_id));
    } catch (const Error&) {
        fail(Errc::invalid_argument, source + ": IDENTITY_ENDPOINT is not an http(s) URL");
    }
    if (!platform_local(request.url))
        fail(Errc::invalid_argument, source + ": IDENTITY_ENDPOINT must be https, or plain http "
                                              "to a loopback, link-local or private address");
    request.headers.set("X-IDENTITY-HEADER", secret);
    auto reply = co_await cloud::send_token_request(client, context, std::move(request));
    if (reply.status != 200)
        cloud::refused(source + ": the managed-identity endpoint", reply);
    auto token = azure::parse_entra_token(reply.body, unix_now());
    co_return Fetched{{token.token, azure::tenant_of(token.token), source}, token.expires_in};
}

Task<Fetched> from_imds(http::Client& client, const SourceContext& context,
                        const std::string& host) {
    auto client_id = env("AZURE_CLIENT_ID");
    std::string source =
        "ACR (IMDS managed identity" + (client_id.empty() ? "" : " " + printable(client_id)) + ")";
    http::Request request;
    try {
        request.url = http::Url::parse(azure::imds_url(host, client_id));
    } catch (const Error&) {
        fail(Errc::invalid_argument,
             source + ": AZURE_POD_IDENTITY_AUTHORITY_HOST is not an http(s) URL");
    }
    request.headers.set("Metadata", "true");
    auto reply = co_await cloud::send_token_request(client, context, std::move(request));
    if (reply.status != 200)
        cloud::refused(source + ": the instance metadata service", reply);
    auto token = azure::parse_entra_token(reply.body, unix_now());
    co_return Fetched{{token.token, azure::tenant_of(token.token), source}, token.expires_in};
}

bool imds_enabled() {
    return !env("AZURE_POD_IDENTITY_AUTHORITY_HOST").empty() || env("FLOE_AZURE_IMDS") == "1";
}

// Whether the environment names an identity to fetch (not a token to use as it is).
bool identity_configured() {
    return !env("AZURE_FEDERATED_TOKEN_FILE").empty() ||
           (!env("IDENTITY_ENDPOINT").empty() && !env("IDENTITY_HEADER").empty()) || imds_enabled();
}

// The Entra ID identity the environment configures (identity_configured()), fetched.
Task<Fetched> fetch_identity(http::Client& client, const SourceContext& context) {
    if (auto file = env("AZURE_FEDERATED_TOKEN_FILE"); !file.empty())
        co_return co_await from_workload_identity(client, context, file);
    auto endpoint = env("IDENTITY_ENDPOINT");
    auto secret = env("IDENTITY_HEADER");
    if (!endpoint.empty() && !secret.empty())
        co_return co_await from_managed_identity(client, context, endpoint, secret);
    // A named string, not a conditional's temporary: GCC 12 destroys such a temporary twice
    // when it is an argument of a co_await.
    auto imds = env("AZURE_POD_IDENTITY_AUTHORITY_HOST");
    if (imds.empty())
        imds = azure::imds_host;
    co_return co_await from_imds(client, context, imds);
}

Task<std::string> exchange(http::Client& client, const SourceContext& context,
                           const std::string& registry, const Identity& identity) {
    http::Request request;
    request.method = "POST";
    try {
        request.url = http::Url::parse(azure::exchange_url(registry, env("FLOE_ACR_EXCHANGE_URL")));
    } catch (const Error&) {
        fail(Errc::invalid_argument, "ACR: FLOE_ACR_EXCHANGE_URL is not an http(s) URL");
    }
    if (!cloud::may_carry_secret(request.url))
        fail(Errc::invalid_argument,
             "ACR: FLOE_ACR_EXCHANGE_URL must be https (plain http only to loopback)");
    request.headers.set("Content-Type", "application/x-www-form-urlencoded");
    request.body = azure::exchange_form(registry, identity.tenant, identity.token);
    auto reply = co_await cloud::send_token_request(client, context, std::move(request));
    if (reply.status != 200)
        cloud::refused(identity.source + ": " + printable(registry) + "/oauth2/exchange", reply);
    co_return azure::parse_exchange_answer(reply.body);
}

} // namespace

Task<std::optional<Credentials>> AcrKeychain::resolve(std::string_view registry, std::string_view) {
    if (!is_acr_host(registry))
        co_return std::nullopt;
    auto token = env("AZURE_ACCESS_TOKEN");
    if (token.empty() && !identity_configured())
        co_return std::nullopt;
    std::string host = cloud::bare_host(registry); // the exchange's `service`
    auto& state = *state_;
    auto& client = cloud::client_for(state.client, context_);

    std::optional<Identity> identity;
    if (!token.empty()) {
        remember_secret(token);
        auto tenant = env("AZURE_TENANT_ID");
        identity = Identity{token, tenant.empty() ? azure::tenant_of(token) : tenant,
                            "ACR (AZURE_ACCESS_TOKEN)"};
    } else {
        // One fetch at a time: several Azure registries in one copy ask Entra ID once.
        while (state.fetching) {
            auto flight = state.fetching;
            co_await flight->wait();
        }
        if (state.cached && state.good_until > steady::now()) {
            identity = state.cached;
        } else {
            auto flight = std::make_shared<Flight>();
            state.fetching = flight;
            struct Landing {
                State& state;
                ~Landing() {
                    auto f = std::move(state.fetching);
                    f->land();
                }
            } landing{state};
            auto started = steady::now();
            auto fetched = co_await fetch_identity(client, context_);
            state.cached = fetched.identity;
            state.good_until = started + std::chrono::seconds(cloud::reuse_for(fetched.expires_in));
            identity = fetched.identity;
        }
    }
    auto refresh = co_await exchange(client, context_, host, *identity);
    co_return Credentials{std::string(azure::acr_username), {}, refresh, {}, identity->source};
}

} // namespace floe::auth
