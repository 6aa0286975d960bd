#include "floe/auth/cloud/ecr.hpp"

#include "floe/auth/private_file.hpp"

#include "floe/core/base64.hpp"
#include "floe/core/digest.hpp"
#include "floe/core/error.hpp"
#include "floe/core/json_writer.hpp"
#include "floe/core/printable.hpp"
#include "floe/http/client.hpp"
#include "floe/http/transport.hpp"

#include <simdjson.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace floe::auth {

namespace fs = std::filesystem;

namespace {

constexpr std::int64_t refresh_margin = 30 * 60; // seconds before expiry a token is renewed
constexpr std::size_t max_answer = 256 * 1024;
constexpr std::size_t max_local_file = 1024 * 1024;

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    return out;
}

std::string_view trim(std::string_view s) {
    auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (!s.empty() && blank(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && blank(s.back()))
        s.remove_suffix(1);
    return s;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    while (true) {
        auto at = s.find(sep);
        out.push_back(s.substr(0, at));
        if (at == std::string_view::npos)
            return out;
        s.remove_prefix(at + 1);
    }
}

bool all_digits(std::string_view s) {
    return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

// "us-east-1", "cn-north-1", "us-gov-west-1", "eu-isoe-west-1": lower-case words and digits
// between single hyphens.
bool is_region(std::string_view s) {
    if (s.empty() || s.front() == '-' || s.back() == '-' || s.find("--") != s.npos)
        return false;
    return s.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") == s.npos;
}

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string get(const ecr::Getenv& env, std::string_view name) {
    auto v = env(name);
    return v ? *v : std::string();
}

std::optional<std::string> read_if_present(const fs::path& path, const std::string& source) {
    return read_local_file(path, source, max_local_file);
}

std::string decode_entities(std::string_view s) {
    std::string out;
    while (!s.empty()) {
        auto amp = s.find('&');
        out += s.substr(0, amp);
        if (amp == s.npos)
            break;
        s.remove_prefix(amp);
        auto semi = s.find(';');
        auto name = semi == s.npos ? std::string_view() : s.substr(1, semi - 1);
        std::optional<unsigned long> code;
        if (name == "amp")
            code = '&';
        else if (name == "lt")
            code = '<';
        else if (name == "gt")
            code = '>';
        else if (name == "quot")
            code = '"';
        else if (name == "apos")
            code = '\'';
        else if (name.size() > 1 && name[0] == '#') {
            bool hex = name[1] == 'x' || name[1] == 'X';
            auto digits = std::string(name.substr(hex ? 2 : 1));
            char* end = nullptr;
            auto v = std::strtoul(digits.c_str(), &end, hex ? 16 : 10);
            if (!digits.empty() && end && *end == '\0' && v > 0 && v < 0x80)
                code = v; // credentials are ASCII; anything else is not worth decoding
        }
        if (!code) { // not an entity we know: keep the text as it is
            out.push_back('&');
            s.remove_prefix(1);
            continue;
        }
        out.push_back(static_cast<char>(*code));
        s.remove_prefix(semi + 1);
    }
    return out;
}

// The raw content of the first <name ...>...</name> element.
std::optional<std::string_view> inner_xml(std::string_view xml, std::string_view name) {
    std::string open = "<" + std::string(name);
    std::string close = "</" + std::string(name) + ">";
    std::size_t from = 0;
    while (true) {
        auto at = xml.find(open, from);
        if (at == xml.npos)
            return std::nullopt;
        auto after = at + open.size();
        if (after >= xml.size())
            return std::nullopt;
        char next = xml[after];
        if (next != '>' && next != ' ' && next != '\t' && next != '\r' && next != '\n' &&
            next != '/') {
            from = after; // <CredentialsX>: another element
            continue;
        }
        auto gt = xml.find('>', after);
        if (gt == xml.npos)
            return std::nullopt;
        if (xml[gt - 1] == '/')
            return std::string_view(); // <name/>
        auto end = xml.find(close, gt + 1);
        if (end == xml.npos)
            return std::nullopt;
        return xml.substr(gt + 1, end - gt - 1);
    }
}

// A value from a remote answer that is only ever printed as an identifier.
std::string safe_code(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (out.size() >= 64)
            break;
        if (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')
            out.push_back(c);
    }
    return out;
}

Credentials to_credentials(const ecr::EcrToken& token, const std::string& source) {
    Credentials c;
    c.username = token.username;
    c.password = token.password;
    c.source = source;
    return c;
}

std::string status_line(int status, std::string_view body) {
    auto code = ecr::aws_error_code(body);
    return "HTTP " + std::to_string(status) + (code.empty() ? "" : " (" + code + ")");
}

Errc errc_for(int status) {
    return status == 400 || status == 401 || status == 403 ? Errc::unauthorized : Errc::registry;
}

std::optional<ecr::EcrToken> read_cache(const fs::path& path) {
    // Only a plain file of our own: a link or a file planted by another user in a shared cache
    // directory is no cache (the next write replaces it).
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0 && (!S_ISREG(st.st_mode) || st.st_uid != ::getuid()))
        return std::nullopt;
    try {
        auto text = read_if_present(path, "ECR token cache");
        if (!text)
            return std::nullopt;
        return ecr::parse_cache_entry(*text);
    } catch (const Error&) {
        return std::nullopt; // an unreadable cache is no cache: a new token replaces it
    }
}

} // namespace

std::optional<EcrHost> parse_ecr_host(std::string_view registry) {
    auto host = lower(registry);
    if (host.ends_with(":443"))
        host.resize(host.size() - 4);
    auto parts = split(host, '.');
    if (parts.size() != 6 && parts.size() != 7)
        return std::nullopt;
    bool china = parts.size() == 7;
    if (china && parts[6] != "cn")
        return std::nullopt;
    if (parts[0].size() != 12 || !all_digits(parts[0]) || parts[1] != "dkr" ||
        (parts[2] != "ecr" && parts[2] != "ecr-fips") || !is_region(parts[3]) ||
        parts[4] != "amazonaws" || parts[5] != "com")
        return std::nullopt;
    return EcrHost{std::string(parts[0]), std::string(parts[3]), parts[2] == "ecr-fips", china};
}

namespace ecr {

Getenv process_environment() {
    return [](std::string_view name) -> std::optional<std::string> {
        const char* v = std::getenv(std::string(name).c_str());
        if (!v || !*v)
            return std::nullopt;
        return std::string(v);
    };
}

std::map<std::string, Profile, std::less<>> parse_profiles(std::string_view text,
                                                           bool config_file) {
    std::map<std::string, Profile, std::less<>> out;
    Profile* current = nullptr;
    for (auto raw : split(text, '\n')) {
        auto line = trim(raw);
        if (line.empty() || line.front() == '#' || line.front() == ';')
            continue;
        if (line.front() == '[') {
            current = nullptr;
            if (line.back() != ']')
                continue;
            auto name = trim(line.substr(1, line.size() - 2));
            if (config_file && name != "default") {
                if (!name.starts_with("profile ") && !name.starts_with("profile\t"))
                    continue; // [sso-session x], [services x], [plugins]
                name = trim(name.substr(8));
            }
            if (!name.empty())
                current = &out[std::string(name)];
            continue;
        }
        // An indented line continues a nested setting ("s3 =\n  max_concurrent_requests = 2"),
        // which floe has no use for.
        if (!current || raw.front() == ' ' || raw.front() == '\t')
            continue;
        auto eq = line.find('=');
        if (eq == line.npos)
            continue;
        auto key = lower(trim(line.substr(0, eq)));
        if (!key.empty())
            (*current)[key] = std::string(trim(line.substr(eq + 1)));
    }
    return out;
}

namespace {

std::optional<AwsIdentity> from_environment_keys(const Getenv& env) {
    auto id = get(env, "AWS_ACCESS_KEY_ID");
    auto secret = get(env, "AWS_SECRET_ACCESS_KEY");
    if (id.empty() && secret.empty())
        return std::nullopt;
    AwsIdentity out;
    out.source = "ECR (environment keys)";
    if (id.empty() || secret.empty())
        fail(Errc::invalid_argument, out.source + ": " +
                                         (id.empty() ? "AWS_SECRET_ACCESS_KEY is set without "
                                                       "AWS_ACCESS_KEY_ID"
                                                     : "AWS_ACCESS_KEY_ID is set without "
                                                       "AWS_SECRET_ACCESS_KEY"));
    out.keys = {id, secret, get(env, "AWS_SESSION_TOKEN")};
    out.cache_identity = id;
    return out;
}

AwsIdentity web_identity(std::string role, std::string token_file, std::string session) {
    AwsIdentity out;
    out.kind = AwsIdentity::Kind::web_identity;
    out.source = "ECR (web identity " + printable(role) + ")";
    out.cache_identity = "role:" + role;
    out.role_arn = std::move(role);
    out.token_file = std::move(token_file);
    out.session_name = std::move(session);
    return out;
}

std::optional<AwsIdentity> from_environment_role(const Getenv& env) {
    auto role = get(env, "AWS_ROLE_ARN");
    auto token_file = get(env, "AWS_WEB_IDENTITY_TOKEN_FILE");
    if (role.empty() || token_file.empty())
        return std::nullopt;
    return web_identity(role, token_file, get(env, "AWS_ROLE_SESSION_NAME"));
}

fs::path aws_file(const Getenv& env, std::string_view variable, std::string_view name) {
    if (auto v = get(env, variable); !v.empty())
        return v;
    auto home = get(env, "HOME");
    return home.empty() ? fs::path() : fs::path(home) / ".aws" / name;
}

std::optional<AwsIdentity> from_profile(const Getenv& env) {
    auto explicit_name = get(env, "AWS_PROFILE");
    if (explicit_name.empty())
        explicit_name = get(env, "AWS_DEFAULT_PROFILE");
    auto name = explicit_name.empty() ? std::string("default") : explicit_name;
    auto source = "ECR (profile " + printable(name) + ")";
    auto credentials_path = aws_file(env, "AWS_SHARED_CREDENTIALS_FILE", "credentials");
    auto config_path = aws_file(env, "AWS_CONFIG_FILE", "config");

    // The config file first: the credentials file's settings win where both have one.
    std::optional<Profile> merged;
    const std::pair<fs::path, bool> files[] = {{config_path, true}, {credentials_path, false}};
    for (auto& [path, is_config] : files) {
        if (path.empty())
            continue;
        auto text = read_if_present(path, source);
        if (!text)
            continue;
        auto profiles = parse_profiles(*text, is_config);
        if (auto it = profiles.find(name); it != profiles.end()) {
            if (!merged)
                merged.emplace();
            for (auto& [k, v] : it->second)
                (*merged)[k] = v;
        }
    }
    if (!merged) {
        if (explicit_name.empty())
            return std::nullopt;
        std::string looked;
        for (auto& path : {credentials_path, config_path})
            if (!path.empty())
                looked += (looked.empty() ? " in " : " nor in ") + printable(path.string());
        fail(Errc::invalid_argument,
             source + ": AWS_PROFILE names a profile that is not there" +
                 (looked.empty() ? std::string(" (HOME is not set)") : looked));
    }
    auto setting = [&](const char* key) {
        auto it = merged->find(key);
        return it == merged->end() ? std::string() : it->second;
    };
    auto id = setting("aws_access_key_id");
    auto secret = setting("aws_secret_access_key");
    if (!id.empty() && !secret.empty()) {
        AwsIdentity out;
        out.source = source;
        out.keys = {id, secret, setting("aws_session_token")};
        out.cache_identity = id;
        return out;
    }
    if (!id.empty() || !secret.empty())
        fail(Errc::invalid_argument,
             source + ": the profile has " +
                 (id.empty() ? "aws_secret_access_key without aws_access_key_id"
                             : "aws_access_key_id without aws_secret_access_key"));
    if (auto role = setting("role_arn"); !role.empty()) {
        if (auto file = setting("web_identity_token_file"); !file.empty())
            return web_identity(role, file, setting("role_session_name"));
        fail(Errc::unsupported, source + ": assuming a role from another profile is not "
                                         "supported natively; use docker-credential-ecr-login");
    }
    for (auto key : {"credential_process", "sso_session", "sso_start_url"})
        if (!setting(key).empty())
            fail(Errc::unsupported, source + ": " + key +
                                        " is not supported natively; use "
                                        "docker-credential-ecr-login");
    return std::nullopt; // a profile with a region and nothing else: no credentials here
}

} // namespace

std::optional<AwsIdentity> find_identity(const Getenv& env) {
    if (auto keys = from_environment_keys(env))
        return keys;
    if (auto role = from_environment_role(env))
        return role;
    return from_profile(env);
}

std::string assume_role_form(std::string_view role_arn, std::string_view session_name,
                             std::string_view web_identity_token) {
    return aws::canonical_query({{"Action", "AssumeRoleWithWebIdentity"},
                                 {"Version", "2011-06-15"},
                                 {"RoleArn", std::string(role_arn)},
                                 {"RoleSessionName", std::string(session_name)},
                                 {"WebIdentityToken", std::string(web_identity_token)}});
}

std::optional<std::string> xml_element(std::string_view xml, std::string_view name) {
    auto inner = inner_xml(xml, name);
    if (!inner)
        return std::nullopt;
    auto text = trim(*inner);
    if (text.starts_with("<![CDATA[") && text.ends_with("]]>"))
        return std::string(text.substr(9, text.size() - 12));
    return decode_entities(text);
}

StsAnswer parse_assume_role_answer(std::string_view xml) {
    auto block = inner_xml(xml, "Credentials");
    if (!block)
        fail(Errc::protocol, "STS answered without a <Credentials> element");
    StsAnswer out;
    auto field = [&](const char* name) {
        auto v = xml_element(*block, name);
        if (!v || v->empty())
            fail(Errc::protocol, std::string("STS answered without <") + name + ">");
        return *v;
    };
    out.credentials.access_key_id = field("AccessKeyId");
    out.credentials.secret_access_key = field("SecretAccessKey");
    out.credentials.session_token = field("SessionToken");
    out.expiration = xml_element(*block, "Expiration").value_or("");
    return out;
}

std::string aws_error_code(std::string_view body) {
    auto text = trim(body);
    if (text.starts_with("<")) {
        auto code = xml_element(text, "Code");
        return code ? safe_code(*code) : std::string();
    }
    simdjson::dom::parser parser;
    simdjson::dom::object obj;
    if (parser.parse(text.data(), text.size()).get(obj) != simdjson::SUCCESS)
        return {};
    std::string_view type;
    if (obj["__type"].get(type) != simdjson::SUCCESS && obj["code"].get(type) != simdjson::SUCCESS)
        return {};
    if (auto hash = type.rfind('#'); hash != type.npos)
        type.remove_prefix(hash + 1); // "com.amazonaws.ecr#RepositoryNotFoundException"
    return safe_code(type);
}

EcrToken parse_authorization_answer(std::string_view json) {
    simdjson::dom::parser parser;
    simdjson::dom::object obj;
    if (parser.parse(json.data(), json.size()).get(obj) != simdjson::SUCCESS)
        fail(Errc::protocol, "ECR answered something that is not a JSON object");
    simdjson::dom::array data;
    simdjson::dom::object first;
    if (obj["authorizationData"].get(data) != simdjson::SUCCESS || data.size() == 0 ||
        data.at(0).get(first) != simdjson::SUCCESS)
        fail(Errc::protocol, "ECR's answer has no authorizationData");
    std::string_view encoded;
    if (first["authorizationToken"].get(encoded) != simdjson::SUCCESS || encoded.empty())
        fail(Errc::protocol, "ECR's answer has no authorizationToken");
    auto decoded = base64_decode(encoded);
    auto colon = decoded ? decoded->find(':') : std::string::npos;
    if (!decoded || colon == std::string::npos || colon == 0 || colon + 1 == decoded->size())
        fail(Errc::protocol, "ECR's authorizationToken is not base64 of \"user:password\"");
    EcrToken out;
    out.username = decoded->substr(0, colon);
    out.password = decoded->substr(colon + 1);
    remember_secret(out.password);
    remember_secret(encoded);
    double seconds = 0;
    std::int64_t whole = 0;
    if (first["expiresAt"].get(whole) == simdjson::SUCCESS)
        seconds = static_cast<double>(whole);
    else if (first["expiresAt"].get(seconds) != simdjson::SUCCESS)
        fail(Errc::protocol, "ECR's answer has no expiresAt");
    if (!(seconds > 0 && seconds < 1e11))
        fail(Errc::protocol, "ECR's answer has an expiresAt that is not a time");
    out.expires_at = static_cast<std::int64_t>(seconds);
    return out;
}

namespace {

std::string endpoint_override(const Getenv& env, std::string_view service_variable) {
    if (auto v = get(env, service_variable); !v.empty())
        return v;
    return get(env, "AWS_ENDPOINT_URL");
}

std::string suffix(const EcrHost& host) {
    return host.china ? ".amazonaws.com.cn" : ".amazonaws.com";
}

} // namespace

std::string ecr_endpoint(const EcrHost& host, const Getenv& env) {
    if (auto v = endpoint_override(env, "AWS_ENDPOINT_URL_ECR"); !v.empty())
        return v;
    return (host.fips ? "https://ecr-fips." : "https://api.ecr.") + host.region + suffix(host) +
           "/";
}

std::string sts_endpoint(const EcrHost& host, const Getenv& env) {
    if (auto v = endpoint_override(env, "AWS_ENDPOINT_URL_STS"); !v.empty())
        return v;
    return (host.fips ? "https://sts-fips." : "https://sts.") + host.region + suffix(host) + "/";
}

fs::path cache_dir(const Getenv& env) {
    // A relative XDG_CACHE_HOME is invalid (XDG Base Directory spec) and ignored.
    if (auto xdg = get(env, "XDG_CACHE_HOME"); !xdg.empty() && xdg.front() == '/')
        return fs::path(xdg) / "floe" / "ecr";
    if (auto home = get(env, "HOME"); !home.empty())
        return fs::path(home) / ".cache" / "floe" / "ecr";
    return {};
}

std::string cache_file_name(const EcrHost& host, std::string_view identity) {
    // The identity is hashed: an access key id is not a secret, but it has no business in a
    // directory listing either.
    auto hash = Digest::of(identity).hex().substr(0, 32);
    return host.account + "-" + host.region + (host.fips ? "-fips" : "") + "-" + hash + ".json";
}

std::string cache_entry(const EcrToken& token) {
    json::Writer w;
    w.begin_object();
    w.key("username").value(token.username);
    w.key("password").value(token.password);
    w.key("expires_at").value(token.expires_at);
    w.end_object();
    return w.take();
}

std::optional<EcrToken> parse_cache_entry(std::string_view json) {
    simdjson::dom::parser parser;
    simdjson::dom::object obj;
    if (parser.parse(json.data(), json.size()).get(obj) != simdjson::SUCCESS)
        return std::nullopt;
    std::string_view user, password;
    std::int64_t expires = 0;
    if (obj["username"].get(user) != simdjson::SUCCESS ||
        obj["password"].get(password) != simdjson::SUCCESS ||
        obj["expires_at"].get(expires) != simdjson::SUCCESS || user.empty() || password.empty() ||
        expires <= 0)
        return std::nullopt;
    remember_secret(password);
    return EcrToken{std::string(user), std::string(password), expires};
}

bool still_fresh(const EcrToken& token, std::int64_t now) {
    return now + refresh_margin < token.expires_at;
}

} // namespace ecr

// --- the keychain -----------------------------------------------------------------------------

struct EcrKeychain::State {
    std::unique_ptr<http::Client> client;        // created on first use; outlives its responses
    std::map<std::string, ecr::EcrToken> tokens; // by cache file name, for this process
};

EcrKeychain::EcrKeychain(SourceContext context)
    : context_(std::move(context)), state_(std::make_unique<State>()) {}

EcrKeychain::~EcrKeychain() = default;

namespace {

struct Answer {
    int status = 0;
    std::string body;
};

http::Url endpoint_url(const std::string& text, const std::string& source, std::string_view what) {
    http::Url url;
    try {
        url = http::Url::parse(text);
    } catch (const Error&) {
        fail(Errc::invalid_argument,
             source + ": the " + std::string(what) + " endpoint is not an http(s) URL");
    }
    // Keys sign these requests and tokens come back: never in clear text across a network.
    if (!url.is_https() && !http::is_loopback_host(url.host))
        fail(Errc::invalid_argument, source + ": refusing to call the " + std::string(what) +
                                         " endpoint " + printable(url.host) +
                                         " over plain http; use https");
    return url;
}

std::string path_of(const http::Url& url) {
    auto path = url.target.substr(0, url.target.find('?'));
    return path.empty() ? "/" : path;
}

http::Client& client_for(std::unique_ptr<http::Client>& client, const SourceContext& context,
                         const ecr::Getenv& env) {
    if (!client) {
        http::ClientOptions options;
        options.ca_file = get(env, "AWS_CA_BUNDLE");
        options.connect_timeout = context.timeout;
        options.io_timeout = context.timeout;
        client = std::make_unique<http::Client>(context.executor, options);
    }
    return *client;
}

Task<Answer> post(http::Client& client, const SourceContext& context, const http::Url& url,
                  std::vector<std::pair<std::string, std::string>> headers, std::string body,
                  const std::string& failure) {
    http::HttpTransport wire(client, context.observer);
    http::Call call{[&] {
                        http::Request r;
                        r.method = "POST";
                        r.url = url;
                        for (auto& [name, value] : headers)
                            r.headers.set(name, value);
                        r.body = body;
                        r.max_body = max_answer;
                        r.follow_redirects = false; // signed for this host only
                        return r;
                    },
                    {}};
    call.retry = false;
    std::optional<Error> lost;
    Answer out;
    try {
        auto resp = co_await wire.send(call);
        out.status = resp.status;
        out.body = co_await resp.read_all(max_answer);
    } catch (const Error& e) {
        if (e.errc() == Errc::cancelled)
            throw;
        lost = e;
    }
    if (lost)
        fail(lost->errc(), failure + ": " + lost->what(), lost->diagnostics());
    co_return out;
}

std::string read_web_identity_token(const ecr::AwsIdentity& identity) {
    auto text = read_if_present(identity.token_file, identity.source);
    if (!text)
        fail(Errc::not_found, identity.source + ": the web identity token file " +
                                  printable(identity.token_file.string()) + " does not exist");
    auto token = std::string(trim(*text));
    if (token.empty())
        fail(Errc::invalid_argument, identity.source + ": the web identity token file " +
                                         printable(identity.token_file.string()) + " is empty");
    remember_secret(token);
    return token;
}

Task<aws::AwsCredentials> assume_role(http::Client& client, const SourceContext& context,
                                      const EcrHost& host, const ecr::AwsIdentity& identity,
                                      const ecr::Getenv& env) {
    auto url = endpoint_url(ecr::sts_endpoint(host, env), identity.source, "STS");
    auto token = read_web_identity_token(identity);
    auto session = identity.session_name.empty() ? "floe-" + std::to_string(unix_now())
                                                 : identity.session_name;
    // Unsigned: the web identity token is the proof. In the body, not the URL, so that no
    // proxy or log line ever holds it.
    // Named, not braced in the call: GCC 12 miscompiles initializer lists inside co_await.
    std::vector<std::pair<std::string, std::string>> headers = {
        {"Content-Type", "application/x-www-form-urlencoded"}, {"Accept", "text/xml"}};
    auto answer = co_await post(client, context, url, std::move(headers),
                                ecr::assume_role_form(identity.role_arn, session, token),
                                identity.source + ": STS AssumeRoleWithWebIdentity at " +
                                    printable(url.host));
    if (answer.status != 200)
        fail(errc_for(answer.status), identity.source +
                                          ": STS AssumeRoleWithWebIdentity answered " +
                                          status_line(answer.status, answer.body));
    try {
        auto sts = ecr::parse_assume_role_answer(answer.body);
        remember_secret(sts.credentials.secret_access_key);
        remember_secret(sts.credentials.session_token);
        co_return sts.credentials;
    } catch (const Error& e) {
        fail(e.errc(), identity.source + ": " + e.what());
    }
}

Task<ecr::EcrToken> authorization_token(http::Client& client, const SourceContext& context,
                                        const EcrHost& host, const ecr::AwsIdentity& identity,
                                        const aws::AwsCredentials& keys, const ecr::Getenv& env) {
    auto url = endpoint_url(ecr::ecr_endpoint(host, env), identity.source, "ECR");
    aws::SigningInput in;
    in.method = "POST";
    in.host = url.host_header();
    in.path = path_of(url);
    in.headers = {{"Content-Type", "application/x-amz-json-1.1"},
                  {"X-Amz-Target", "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken"}};
    // No registryIds: the caller's default registry. The token is the caller's, good for every
    // registry its policies let it reach.
    in.body = "{}";
    in.region = host.region;
    in.service = "ecr";
    in.timestamp = aws::amz_date(unix_now());
    auto headers = in.headers;
    for (auto& h : aws::sign(in, keys)) {
        if (h.first == "Authorization")
            remember_secret(h.second);
        headers.push_back(h);
    }
    headers.emplace_back("Accept", "application/json");
    auto answer =
        co_await post(client, context, url, headers, in.body,
                      identity.source + ": ECR GetAuthorizationToken at " + printable(url.host));
    if (answer.status != 200)
        fail(errc_for(answer.status), identity.source + ": ECR GetAuthorizationToken answered " +
                                          status_line(answer.status, answer.body));
    try {
        co_return ecr::parse_authorization_answer(answer.body);
    } catch (const Error& e) {
        fail(e.errc(), identity.source + ": " + e.what());
    }
}

} // namespace

Task<std::optional<Credentials>> EcrKeychain::resolve(std::string_view registry, std::string_view) {
    auto host = parse_ecr_host(registry);
    if (!host)
        co_return std::nullopt;
    auto env = ecr::process_environment();
    auto identity = ecr::find_identity(env);
    if (!identity)
        co_return std::nullopt;
    remember_secret(identity->keys.secret_access_key);
    remember_secret(identity->keys.session_token);

    auto name = ecr::cache_file_name(*host, identity->cache_identity);
    auto now = unix_now();
    if (auto it = state_->tokens.find(name);
        it != state_->tokens.end() && ecr::still_fresh(it->second, now))
        co_return to_credentials(it->second, identity->source);
    auto dir = ecr::cache_dir(env);
    if (!dir.empty())
        if (auto cached = read_cache(dir / name); cached && ecr::still_fresh(*cached, now)) {
            state_->tokens[name] = *cached;
            co_return to_credentials(*cached, identity->source);
        }

    http::Client* client = nullptr;
    try {
        client = &client_for(state_->client, context_, env);
    } catch (const Error& e) { // AWS_CA_BUNDLE that cannot be read, say
        fail(e.errc(), identity->source + ": " + e.what());
    }
    auto keys = identity->keys;
    if (identity->kind == ecr::AwsIdentity::Kind::web_identity)
        keys = co_await assume_role(*client, context_, *host, *identity, env);
    auto token = co_await authorization_token(*client, context_, *host, *identity, keys, env);
    state_->tokens[name] = token;
    if (!dir.empty()) {
        try {
            write_private_file(dir / name, ecr::cache_entry(token));
        } catch (const Error& e) {
            context_.warning(std::string(e.what()) + "; the ECR token is not cached");
        } catch (const fs::filesystem_error& e) {
            context_.warning("cannot cache the ECR token in " + printable(dir.string()) + ": " +
                             e.code().message());
        }
    }
    co_return to_credentials(token, identity->source);
}

} // namespace floe::auth
