#include "floe/auth/cloud/gcr.hpp"

#include "floe/auth/cloud/token_request.hpp"
#include "floe/core/base64.hpp"
#include "floe/core/error.hpp"
#include "floe/core/json_writer.hpp"
#include "floe/core/printable.hpp"
#include "floe/http/client.hpp"
#include "floe/http/transport.hpp"
#include "floe/target/flight.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <fstream>

namespace floe::auth {
namespace {

using steady = std::chrono::steady_clock;
using cloud::env;
using cloud::string_member;

bool is_single_label(std::string_view s) {
    return !s.empty() && s.find('.') == std::string_view::npos;
}

struct OpenSslFree {
    void operator()(BIO* b) const { BIO_free(b); }
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

// Never asks for a passphrase on the terminal: an encrypted key is an error, not a prompt.
int no_passphrase(char*, int, int, void*) {
    return -1;
}

[[noreturn]] void bad_private_key() {
    ERR_clear_error();
    fail(Errc::invalid_argument,
         "the service-account key's private_key is not an unencrypted RSA private key in PEM");
}

// On GCE (and GKE nodes) the DMI product name says so; nowhere else is the metadata server
// asked without GCE_METADATA_HOST.
bool on_google_compute_engine() {
    std::ifstream in("/sys/class/dmi/id/product_name");
    std::string name;
    std::getline(in, name);
    return name.starts_with("Google");
}

} // namespace

bool is_gcr_host(std::string_view registry) {
    auto host = cloud::bare_host(registry);
    if (host == "gcr.io")
        return true;
    std::string_view h = host;
    if (h.ends_with(".gcr.io"))
        return is_single_label(h.substr(0, h.size() - 7));
    if (h.ends_with("-docker.pkg.dev"))
        return is_single_label(h.substr(0, h.size() - 15));
    return false;
}

namespace gcp {

ServiceAccountKey parse_service_account_key(std::string_view json) {
    simdjson::dom::parser parser;
    simdjson::dom::object obj;
    if (parser.parse(json.data(), json.size()).get(obj) != simdjson::SUCCESS)
        fail(Errc::invalid_argument, "the service-account key file is not a JSON object");
    auto type = string_member(obj, "type");
    if (type != "service_account")
        fail(Errc::invalid_argument,
             "the key file's type is " +
                 (type.empty() ? "missing" : "\"" + printable(type) + "\"") +
                 ", not \"service_account\" (for other Google credentials set "
                 "GOOGLE_OAUTH_ACCESS_TOKEN or use docker-credential-gcr)");
    ServiceAccountKey key{string_member(obj, "client_email"), string_member(obj, "private_key"),
                          string_member(obj, "private_key_id"), string_member(obj, "token_uri")};
    if (key.client_email.empty())
        fail(Errc::invalid_argument, "the service-account key file has no client_email");
    if (key.private_key.empty())
        fail(Errc::invalid_argument, "the service-account key file has no private_key");
    if (key.token_uri.empty())
        key.token_uri = default_token_uri;
    http::Url uri;
    try {
        uri = http::Url::parse(key.token_uri);
    } catch (const Error&) {
        fail(Errc::invalid_argument, "the service-account key's token_uri is not an http(s) URL");
    }
    if (!cloud::may_carry_secret(uri))
        fail(Errc::invalid_argument,
             "the service-account key's token_uri must be https (plain http only to loopback)");
    remember_secret(key.private_key);
    return key;
}

std::string rs256_sign(std::string_view pem, std::string_view data) {
    std::unique_ptr<BIO, OpenSslFree> bio(
        BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio)
        bad_private_key();
    std::unique_ptr<EVP_PKEY, OpenSslFree> pkey(
        PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
    if (!pkey || EVP_PKEY_get_base_id(pkey.get()) != EVP_PKEY_RSA)
        bad_private_key();
    std::unique_ptr<EVP_MD_CTX, OpenSslFree> ctx(EVP_MD_CTX_new());
    std::size_t length = 0;
    auto input = reinterpret_cast<const unsigned char*>(data.data());
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, pkey.get()) != 1 ||
        EVP_DigestSign(ctx.get(), nullptr, &length, input, data.size()) != 1)
        bad_private_key();
    std::string signature(length, '\0');
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                       input, data.size()) != 1)
        bad_private_key();
    signature.resize(length);
    return signature;
}

std::string build_assertion(const ServiceAccountKey& key, std::int64_t now) {
    json::Writer header;
    header.begin_object().key("alg").value("RS256").key("typ").value("JWT");
    if (!key.private_key_id.empty())
        header.key("kid").value(key.private_key_id);
    header.end_object();
    json::Writer claims;
    claims.begin_object()
        .key("iss")
        .value(key.client_email)
        .key("scope")
        .value(cloud_platform_scope)
        .key("aud")
        .value(key.token_uri)
        .key("iat")
        .value(now)
        .key("exp")
        .value(now + 3600)
        .end_object();
    auto input = base64url_encode(header.str()) + "." + base64url_encode(claims.str());
    auto assertion = input + "." + base64url_encode(rs256_sign(key.private_key, input));
    remember_secret(assertion); // a bearer credential for an hour
    return assertion;
}

std::string assertion_form(std::string_view assertion) {
    return "grant_type=" + http::percent_encode("urn:ietf:params:oauth:grant-type:jwt-bearer") +
           "&assertion=" + http::percent_encode(assertion);
}

AccessToken parse_access_token(std::string_view json) {
    simdjson::dom::parser parser;
    simdjson::dom::object obj;
    if (parser.parse(json.data(), json.size()).get(obj) != simdjson::SUCCESS)
        fail(Errc::protocol, "the Google token endpoint answered something that is not JSON");
    AccessToken t{string_member(obj, "access_token"), 0};
    if (t.token.empty())
        fail(Errc::protocol, "the Google token endpoint's answer has no access_token");
    remember_secret(t.token);
    std::int64_t expires = 0;
    if (obj["expires_in"].get(expires) == simdjson::SUCCESS && expires > 0)
        t.expires_in = expires;
    return t;
}

} // namespace gcp

struct GcrKeychain::State {
    struct Cached {
        std::string token;
        std::string source;
        steady::time_point good_until;
    };
    std::unique_ptr<http::Client> client; // created on first use; outlives its responses
    std::optional<Cached> cached;
    std::shared_ptr<Flight> fetching;
};

GcrKeychain::GcrKeychain(SourceContext context)
    : context_(std::move(context)), state_(std::make_unique<State>()) {}

GcrKeychain::~GcrKeychain() = default;

namespace {

struct Fetched {
    gcp::AccessToken token;
    std::string source;
};

Task<Fetched> from_key_file(http::Client& client, const SourceContext& context,
                            const std::string& path) {
    std::string text;
    try {
        text = cloud::read_small_file(path, "the service-account key file");
    } catch (const Error& e) {
        fail(e.errc(), std::string("GCR: ") + e.what() + " (GOOGLE_APPLICATION_CREDENTIALS)");
    }
    gcp::ServiceAccountKey key;
    try {
        key = gcp::parse_service_account_key(text);
    } catch (const Error& e) {
        fail(e.errc(), "GCR: " + printable(path) + ": " + e.what());
    }
    auto now = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    http::Request request;
    request.method = "POST";
    request.url = http::Url::parse(key.token_uri);
    request.headers.set("Content-Type", "application/x-www-form-urlencoded");
    request.body = gcp::assertion_form(gcp::build_assertion(key, now));
    auto answer = co_await cloud::send_token_request(client, context, std::move(request));
    std::string source = "GCR (service account " + printable(key.client_email) + ")";
    if (answer.status != 200)
        cloud::refused(source + ": the token endpoint", answer);
    co_return Fetched{gcp::parse_access_token(answer.body), source};
}

Task<Fetched> from_metadata(http::Client& client, const SourceContext& context,
                            const std::string& host) {
    std::string source = "GCR (metadata server " + printable(host) + ")";
    http::Request request;
    try {
        // The metadata server speaks plain http on a link-local or loopback address; the
        // request carries no secret, only the answer does.
        request.url = http::Url::parse("http://" + host +
                                       "/computeMetadata/v1/instance/service-accounts/"
                                       "default/token");
    } catch (const Error&) {
        fail(Errc::invalid_argument, "GCR: GCE_METADATA_HOST is not a host[:port]");
    }
    request.headers.set("Metadata-Flavor", "Google");
    auto answer = co_await cloud::send_token_request(client, context, std::move(request));
    if (answer.status != 200)
        cloud::refused(source, answer);
    co_return Fetched{gcp::parse_access_token(answer.body), source};
}

} // namespace

Task<std::optional<Credentials>> GcrKeychain::resolve(std::string_view registry, std::string_view) {
    if (!is_gcr_host(registry))
        co_return std::nullopt;
    if (auto token = env("GOOGLE_OAUTH_ACCESS_TOKEN"); !token.empty()) {
        remember_secret(token);
        co_return Credentials{
            "oauth2accesstoken", token, {}, {}, "GCR (GOOGLE_OAUTH_ACCESS_TOKEN)"};
    }
    auto& state = *state_;
    // One fetch at a time: a copy touching several Google registries asks once.
    while (state.fetching) {
        auto flight = state.fetching;
        co_await flight->wait();
    }
    if (state.cached && state.cached->good_until > steady::now())
        co_return Credentials{
            "oauth2accesstoken", state.cached->token, {}, {}, state.cached->source};

    auto key_file = env("GOOGLE_APPLICATION_CREDENTIALS");
    auto metadata = env("GCE_METADATA_HOST");
    if (key_file.empty() && metadata.empty() && on_google_compute_engine())
        metadata = "metadata.google.internal";
    if (key_file.empty() && metadata.empty())
        co_return std::nullopt;

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
    auto& client = cloud::client_for(state.client, context_);
    Fetched fetched;
    if (!key_file.empty())
        fetched = co_await from_key_file(client, context_, key_file);
    else
        fetched = co_await from_metadata(client, context_, metadata);
    state.cached =
        State::Cached{fetched.token.token, fetched.source,
                      started + std::chrono::seconds(cloud::reuse_for(fetched.token.expires_in))};
    co_return Credentials{"oauth2accesstoken", fetched.token.token, {}, {}, fetched.source};
}

} // namespace floe::auth
