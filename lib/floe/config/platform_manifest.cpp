#include "floe/config/platform_manifest.hpp"

#include "floe/auth/pull_secret.hpp"
#include "floe/core/byte_size.hpp"
#include "floe/core/error.hpp"
#include "floe/core/json_writer.hpp"
#include "floe/core/printable.hpp"
#include "floe/core/reference.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <tuple>

namespace floe::config {
namespace {

// ---- problems ------------------------------------------------------------------------------

// Where a value sits: its line and column (0-based, as yaml-cpp counts) and its key path.
struct Where {
    int line = 0;
    int column = 0;
    std::string key;
};

// Every problem found, so that the one reported is the first in file order whatever order the
// checks ran in.
class Problems {
  public:
    explicit Problems(std::string file) : file_(std::move(file)) {}

    void add(const Where& at, std::string what) { push(at, std::move(what), false); }
    // A missing key, reported at its parent's line: it comes after any problem in the file
    // (a misspelt key, most likely the one that is missing).
    void missing(const Where& at, std::string what) { push(at, std::move(what), true); }

    void throw_first() const {
        if (list_.empty())
            return;
        auto first = std::min_element(list_.begin(), list_.end(), [](auto& a, auto& b) {
            return std::tie(a.missing, a.where.line, a.where.column) <
                   std::tie(b.missing, b.where.line, b.where.column);
        });
        auto text = file_ + ":" + std::to_string(first->where.line + 1) + ": " +
                    (first->where.key.empty() ? "" : first->where.key + ": ") + first->what;
        if (list_.size() > 1)
            text += " (" + std::to_string(list_.size() - 1) + " more after fixing this)";
        fail(Errc::invalid_argument, text);
    }

    const std::string& file() const { return file_; }

  private:
    struct Problem {
        Where where;
        std::string what;
        bool missing;
    };

    void push(const Where& at, std::string what, bool missing) {
        for (auto& p : list_)
            if (p.where.line == at.line && p.where.key == at.key && p.what == what)
                return; // the registry's problem, seen again through each environment
        list_.push_back({at, std::move(what), missing});
    }

    std::string file_;
    std::vector<Problem> list_;
};

// A short piece of the file fit to quote: printable, clipped.
std::string quote(std::string_view s) {
    constexpr std::size_t max = 60;
    return "'" + printable(s.substr(0, max)) + (s.size() > max ? "...'" : "'");
}

std::string join(std::initializer_list<std::string_view> words) {
    std::string out;
    for (auto w : words)
        out += (out.empty() ? "" : ", ") + std::string(w);
    return out;
}

// ---- walking the YAML ----------------------------------------------------------------------

// A node with its key path and the position of its key (the value's own position can be null,
// as for an empty value).
struct At {
    YAML::Node node;
    std::string key;
    YAML::Mark key_mark = YAML::Mark::null_mark();

    Where where() const {
        auto m = node.IsDefined() ? node.Mark() : YAML::Mark::null_mark();
        if (m.is_null())
            m = key_mark;
        return m.is_null() ? Where{0, 0, key} : Where{m.line, m.column, key};
    }
    // Where a missing member of this mapping is reported: at this mapping's own key.
    Where where_key() const {
        return key_mark.is_null() ? where() : Where{key_mark.line, key_mark.column, key};
    }
    std::string child(std::string_view name) const {
        return key.empty() ? std::string(name) : key + "." + std::string(name);
    }
};

bool is_plain(const YAML::Node& n) {
    return n.IsScalar() && n.Tag() == "?";
}

std::string kind_of(const YAML::Node& n) {
    if (n.IsMap())
        return "a mapping";
    if (n.IsSequence())
        return "a list";
    if (n.IsNull() || !n.IsDefined())
        return "nothing";
    if (!is_plain(n))
        return "the quoted or tagged value " + quote(n.Scalar());
    return quote(n.Scalar());
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j)
        row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            std::size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
            diagonal = up;
        }
    }
    return row[b.size()];
}

std::string unknown_key_hint(std::string_view key, std::initializer_list<std::string_view> known) {
    for (auto k : known)
        if (key.size() < 64 && edit_distance(key, k) <= 2)
            return "unknown key; did you mean " + std::string(k) + "?";
    return "unknown key; the keys here are " + join(known);
}

// The members of a mapping, each known and given once; reports everything else. A null node
// (a key with nothing after it) is an empty mapping.
std::map<std::string, At, std::less<>>
members(const At& at, std::initializer_list<std::string_view> known, Problems& problems) {
    std::map<std::string, At, std::less<>> out;
    if (at.node.IsNull())
        return out;
    if (!at.node.IsMap()) {
        problems.add(at.where(), "want a mapping (" + join(known) + "); found " + kind_of(at.node));
        return out;
    }
    for (auto it = at.node.begin(); it != at.node.end(); ++it) {
        const YAML::Node k = it->first; // a copy: `it->` hands out a temporary pair
        auto mark = k.Mark();
        Where key_where{mark.is_null() ? 0 : mark.line, mark.is_null() ? 0 : mark.column, at.key};
        if (!k.IsScalar()) {
            problems.add(key_where, "a key that is not a name (found " + kind_of(k) + ")");
            continue;
        }
        const std::string& name = k.Scalar();
        At member{YAML::Node(it->second), at.child(printable(name)), mark};
        if (std::find(known.begin(), known.end(), name) == known.end()) {
            problems.add(member.where_key(), unknown_key_hint(name, known));
            continue;
        }
        if (auto [first, inserted] = out.emplace(name, member); !inserted) {
            problems.add(member.where_key(),
                         "given twice (first on line " +
                             std::to_string(first->second.where_key().line + 1) + "); keep one");
        }
    }
    return out;
}

// A member that was present (even if its value was wrong) keeps its position, so that later
// checks can point at it, and overlays can tell "set" from "not set".
template <class T>
struct Field {
    std::optional<T> value;
    Where where;
    bool present = false;
};

template <class T, class Read>
Field<T> field(const std::map<std::string, At, std::less<>>& m, std::string_view name,
               Read&& read) {
    Field<T> f;
    if (auto it = m.find(name); it != m.end()) {
        f.present = true;
        f.where = it->second.where();
        f.value = read(it->second);
    }
    return f;
}

// ---- scalar values ---------------------------------------------------------------------------

struct Reader {
    Problems& problems;

    std::optional<std::string> text(const At& at) const {
        if (!at.node.IsScalar() || at.node.Scalar().empty()) {
            problems.add(at.where(), "want a non-empty string; found " + kind_of(at.node));
            return std::nullopt;
        }
        const auto& s = at.node.Scalar();
        if (s.size() > 4096 || std::any_of(s.begin(), s.end(), [](char c) {
                return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
            })) {
            problems.add(at.where(), "want one line of at most 4096 characters");
            return std::nullopt;
        }
        return s;
    }

    std::optional<bool> flag(const At& at) const {
        if (is_plain(at.node)) {
            const auto& s = at.node.Scalar();
            if (s == "true" || s == "True" || s == "TRUE")
                return true;
            if (s == "false" || s == "False" || s == "FALSE")
                return false;
        }
        problems.add(at.where(), "want true or false (no quotes); found " + kind_of(at.node));
        return std::nullopt;
    }

    std::optional<std::int64_t> whole(const At& at, std::int64_t min, std::int64_t max) const {
        std::int64_t v = 0;
        if (is_plain(at.node)) {
            const auto& s = at.node.Scalar();
            auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
            if (ec == std::errc() && end == s.data() + s.size() && v >= min && v <= max)
                return v;
        }
        problems.add(at.where(), "want a whole number from " + std::to_string(min) + " to " +
                                     std::to_string(max) + "; found " + kind_of(at.node));
        return std::nullopt;
    }

    // A finite number in (min, max] when min_exclusive, else [min, max].
    std::optional<double> number(const At& at, double min, double max, bool min_exclusive,
                                 std::string_view range) const {
        if (is_plain(at.node)) {
            const auto& s = at.node.Scalar();
            double v = 0;
            auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
            if (ec == std::errc() && end == s.data() + s.size() && std::isfinite(v) &&
                (min_exclusive ? v > min : v >= min) && v <= max)
                return v;
        }
        problems.add(at.where(), "want " + std::string(range) + "; found " + kind_of(at.node));
        return std::nullopt;
    }

    std::optional<std::chrono::milliseconds> millis(const At& at, std::int64_t min,
                                                    std::int64_t max) const {
        auto v = whole(at, min, max);
        return v ? std::optional(std::chrono::milliseconds(*v)) : std::nullopt;
    }

    // "50M", "800K", "1G", or a number of bytes (per second).
    std::optional<std::uint64_t> rate(const At& at) const {
        constexpr std::string_view hint = "want a positive byte size per second such as 800K, "
                                          "50M or 1G (or a number of bytes), at most 16G";
        if (at.node.IsScalar()) {
            const auto& s = at.node.Scalar();
            std::uint64_t prefix = 0;
            auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), prefix);
            // Any unit times a prefix this small fits: parse_byte_size cannot overflow.
            if (ec == std::errc() && prefix <= (std::uint64_t(1) << 34)) {
                try {
                    auto v = parse_byte_size(s, "limit_rate");
                    if (v <= (std::uint64_t(16) << 30))
                        return v;
                } catch (const Error&) {
                }
            }
        }
        problems.add(at.where(), std::string(hint) + "; found " + kind_of(at.node));
        return std::nullopt;
    }
};

// ---- the schema ------------------------------------------------------------------------------

const std::initializer_list<std::string_view> block_keys = {
    "uri",     "auth",        "tls_verify", "cache",       "resilience", "mirrors",
    "ca_file", "client_cert", "client_key", "concurrency", "limit_rate"};
const std::initializer_list<std::string_view> mirror_keys = {"uri", "auth", "tls_verify"};
const std::initializer_list<std::string_view> auth_keys = {"type", "credentials_ref"};
const std::initializer_list<std::string_view> ref_keys = {"source", "name", "key"};
const std::initializer_list<std::string_view> cache_keys = {"enabled", "path", "max_size_gb",
                                                            "ttl_hours"};
const std::initializer_list<std::string_view> resilience_keys = {"retry", "circuit_breaker"};
const std::initializer_list<std::string_view> retry_keys = {
    "max_attempts", "initial_delay_ms", "backoff_multiplier", "max_delay_ms", "jitter"};
const std::initializer_list<std::string_view> breaker_keys = {
    "enabled", "failure_threshold", "recovery_timeout_ms", "half_open_requests"};
const std::initializer_list<std::string_view> auth_types = {
    "anonymous", "basic", "token", "aws-irsa", "azure-managed-identity", "gcp-workload-identity"};

constexpr std::int64_t one_hour_ms = 3'600'000;
constexpr std::size_t max_mirrors = 16;

struct Uri {
    std::string text, host, namespace_;
};

bool looks_like_host(std::string_view s) {
    return s.find('.') != s.npos || s.find(':') != s.npos || s == "localhost";
}

// oci://host[:port][/namespace]; the reason in `why` when it is not one.
std::optional<Uri> parse_uri(std::string_view text, std::string& why) {
    constexpr std::string_view scheme = "oci://";
    if (!text.starts_with(scheme)) {
        why = text.find("://") != text.npos
                  ? "write oci://HOST[:PORT]/NAMESPACE (TLS is the default; tls_verify: false "
                    "for a registry whose certificate cannot be checked)"
                  : "missing oci:// in front; write oci://HOST[:PORT]/NAMESPACE";
        return std::nullopt;
    }
    auto rest = text.substr(scheme.size());
    if (rest.find('@') != rest.npos) {
        why = "no credentials in the uri (they would be printed and logged); use "
              "auth.credentials_ref";
        return std::nullopt;
    }
    if (rest.find_first_of("?# \t") != rest.npos) {
        why = "a query, fragment or space does not belong in oci://HOST[:PORT]/NAMESPACE";
        return std::nullopt;
    }
    auto slash = rest.find('/');
    Uri uri{std::string(text), std::string(rest.substr(0, slash)), {}};
    if (slash != rest.npos) {
        auto ns = rest.substr(slash + 1);
        if (ns.ends_with('/'))
            ns.remove_suffix(1);
        uri.namespace_ = std::string(ns);
    }
    if (uri.host.empty() || !looks_like_host(uri.host)) {
        why = "the host needs a dot or a port (registry.local, registry:5000) or must be "
              "localhost: floe reads a single name as a Docker Hub repository";
        return std::nullopt;
    }
    try {
        uri.host = Reference::parse(uri.host + "/x").registry; // checks it, normalises Docker Hub
    } catch (const Error&) {
        why = "the host " + quote(uri.host) + " is not a registry host[:port]";
        return std::nullopt;
    }
    if (uri.namespace_.size() > 200) { // room for the repository names under it (255 in all)
        why = "the namespace is longer than 200 characters";
        return std::nullopt;
    }
    if (!uri.namespace_.empty() && !is_valid_repository(uri.namespace_)) {
        why = "the namespace must be lowercase path components (a-z, 0-9, '.', '_', '-') "
              "joined by '/'";
        return std::nullopt;
    }
    return uri;
}

bool is_env_name(std::string_view s) {
    return !s.empty() && s.size() <= 128 && std::all_of(s.begin(), s.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
    });
}

// Everything a registry block (artifacts.registry, an environment, a mirror) can set, as
// found: nothing defaulted yet, so that an environment overlays only what it sets.
struct Block {
    Field<Uri> uri;
    Field<AuthSpec> auth;
    Field<bool> tls_verify;
    Field<std::string> ca_file, client_cert, client_key, cache_path;
    Field<std::int64_t> concurrency;
    Field<std::uint64_t> limit_rate;
    Field<bool> cache_enabled;
    Field<double> cache_max_size_gb, cache_ttl_hours;
    Field<std::int64_t> retry_max_attempts;
    Field<std::chrono::milliseconds> retry_initial_delay, retry_max_delay;
    Field<double> retry_multiplier;
    Field<bool> retry_jitter;
    Field<bool> breaker_enabled;
    Field<std::int64_t> breaker_threshold, breaker_half_open;
    Field<std::chrono::milliseconds> breaker_recovery;
    Field<std::vector<Block>> mirrors;
};

constexpr auto block_fields =
    std::make_tuple(&Block::uri, &Block::auth, &Block::tls_verify, &Block::ca_file,
                    &Block::client_cert, &Block::client_key, &Block::cache_path,
                    &Block::concurrency, &Block::limit_rate, &Block::cache_enabled,
                    &Block::cache_max_size_gb, &Block::cache_ttl_hours, &Block::retry_max_attempts,
                    &Block::retry_initial_delay, &Block::retry_max_delay, &Block::retry_multiplier,
                    &Block::retry_jitter, &Block::breaker_enabled, &Block::breaker_threshold,
                    &Block::breaker_half_open, &Block::breaker_recovery, &Block::mirrors);

// `over`'s fields where it sets them, `base`'s elsewhere.
Block overlay(Block base, const Block& over) {
    auto take = [&](auto member) {
        if ((over.*member).present)
            base.*member = over.*member;
    };
    std::apply([&](auto... member) { (take(member), ...); }, block_fields);
    return base;
}

class SchemaReader {
  public:
    explicit SchemaReader(Problems& problems) : problems_(problems), read_{problems} {}

    // A registry block: `mirror` allows only a mirror's keys.
    Block block(const At& at, bool mirror) {
        Block b;
        auto m = members(at, mirror ? mirror_keys : block_keys, problems_);
        b.uri = field<Uri>(m, "uri", [&](const At& a) { return uri(a); });
        b.auth = field<AuthSpec>(m, "auth", [&](const At& a) { return auth(a); });
        b.tls_verify = field<bool>(m, "tls_verify", [&](const At& a) { return read_.flag(a); });
        auto path = [&](const At& a) { return read_.text(a); };
        b.ca_file = field<std::string>(m, "ca_file", path);
        b.client_cert = field<std::string>(m, "client_cert", path);
        b.client_key = field<std::string>(m, "client_key", path);
        b.concurrency = field<std::int64_t>(m, "concurrency",
                                            [&](const At& a) { return read_.whole(a, 1, 64); });
        b.limit_rate =
            field<std::uint64_t>(m, "limit_rate", [&](const At& a) { return read_.rate(a); });
        if (auto it = m.find("cache"); it != m.end())
            cache(it->second, b);
        if (auto it = m.find("resilience"); it != m.end())
            resilience(it->second, b);
        b.mirrors =
            field<std::vector<Block>>(m, "mirrors", [&](const At& a) { return mirrors(a); });
        pair_check(b, at);
        return b;
    }

  private:
    std::optional<Uri> uri(const At& at) {
        auto text = read_.text(at);
        if (!text)
            return std::nullopt;
        std::string why;
        auto u = parse_uri(*text, why);
        if (!u)
            problems_.add(at.where(), "not oci://HOST[:PORT]/NAMESPACE; " + why);
        return u;
    }

    std::optional<AuthSpec> auth(const At& at) {
        auto m = members(at, auth_keys, problems_);
        if (!at.node.IsMap() && !at.node.IsNull())
            return std::nullopt; // reported: not a mapping
        auto type_at = m.find("type");
        std::optional<AuthType> type;
        if (type_at == m.end()) {
            problems_.missing({at.where_key().line, at.where_key().column, at.child("type")},
                              "missing; one of " + join(auth_types));
        } else if (auto word = read_.text(type_at->second)) {
            type = parse_auth_type(*word);
            if (!type)
                problems_.add(type_at->second.where(),
                              quote(*word) + " is not an authentication type; one of " +
                                  join(auth_types));
        }
        auto ref_at = m.find("credentials_ref");
        std::optional<CredentialsRef> ref;
        if (ref_at != m.end())
            ref = credentials_ref(ref_at->second);
        if (!type)
            return std::nullopt;
        if (needs_credentials_ref(*type) && ref_at == m.end()) {
            problems_.missing(
                {at.where_key().line, at.where_key().column, at.child("credentials_ref")},
                "missing; " + std::string(to_string(*type)) +
                    " authentication needs credentials_ref (source: env or "
                    "kubernetes, name: ...)");
            return std::nullopt;
        }
        if (!needs_credentials_ref(*type) && ref_at != m.end()) {
            problems_.add(ref_at->second.where_key(),
                          "not allowed with type " + std::string(to_string(*type)) +
                              " (only basic and token read a secret); remove it or change the "
                              "type");
            return std::nullopt;
        }
        if (needs_credentials_ref(*type) && !ref)
            return std::nullopt;
        return AuthSpec{*type, ref};
    }

    std::optional<CredentialsRef> credentials_ref(const At& at) {
        auto m = members(at, ref_keys, problems_);
        if (!at.node.IsMap() && !at.node.IsNull())
            return std::nullopt;
        auto missing = [&](std::string_view name, const std::string& hint) {
            problems_.missing({at.where_key().line, at.where_key().column, at.child(name)},
                              "missing; " + hint);
        };
        CredentialsRef ref;
        bool ok = true;
        auto source_at = m.find("source");
        if (source_at == m.end()) {
            missing("source", "env or kubernetes");
            ok = false;
        } else if (auto s = read_.text(source_at->second); !s) {
            ok = false;
        } else if (*s == "env" || *s == "kubernetes") {
            ref.source =
                *s == "env" ? CredentialsRef::Source::env : CredentialsRef::Source::kubernetes;
        } else {
            problems_.add(source_at->second.where(),
                          quote(*s) + " is not a source; env or kubernetes");
            ok = false;
        }
        auto name_at = m.find("name");
        if (name_at == m.end()) {
            missing("name", "the secret's name (env: FLOE_SECRET_<NAME>_*, kubernetes: "
                            "NAMESPACE/NAME)");
            ok = false;
        } else if (auto n = read_.text(name_at->second)) {
            ref.name = *n;
        } else {
            ok = false;
        }
        auto key_at = m.find("key");
        if (key_at != m.end()) {
            if (auto k = read_.text(key_at->second))
                ref.key = *k;
            else
                ok = false;
        }
        if (!ok)
            return std::nullopt;
        if (ref.source == CredentialsRef::Source::env) {
            if (!is_env_name(ref.name)) {
                problems_.add(name_at->second.where(),
                              "letters, digits, '-' and '_' only (it becomes FLOE_SECRET_" +
                                  std::string("<NAME>_USERNAME and so on)"));
                return std::nullopt;
            }
            if (key_at != m.end() && !is_env_name(ref.key)) {
                problems_.add(
                    key_at->second.where(),
                    "letters, digits, '-' and '_' only (it becomes FLOE_SECRET_<NAME>_<KEY>)");
                return std::nullopt;
            }
            return ref;
        }
        if (key_at != m.end()) {
            problems_.add(key_at->second.where_key(),
                          "only for source: env; a kubernetes reference names a pull secret "
                          "(type kubernetes.io/dockerconfigjson), read whole");
            return std::nullopt;
        }
        auto slash = ref.name.find('/');
        bool valid = slash == std::string::npos
                         ? auth::is_dns1123_subdomain(ref.name)
                         : auth::is_dns1123_label(ref.name.substr(0, slash)) &&
                               auth::is_dns1123_subdomain(ref.name.substr(slash + 1));
        if (!valid) {
            problems_.add(name_at->second.where(),
                          "not a Kubernetes Secret: write NAME or NAMESPACE/NAME (lowercase "
                          "letters, digits, '-' and '.')");
            return std::nullopt;
        }
        return ref;
    }

    void cache(const At& at, Block& b) {
        auto m = members(at, cache_keys, problems_);
        b.cache_enabled = field<bool>(m, "enabled", [&](const At& a) { return read_.flag(a); });
        b.cache_path = field<std::string>(m, "path", [&](const At& a) { return read_.text(a); });
        b.cache_max_size_gb = field<double>(m, "max_size_gb", [&](const At& a) {
            return read_.number(a, 0, 1e6, true, "a number of GB greater than 0 (at most 1000000)");
        });
        b.cache_ttl_hours = field<double>(m, "ttl_hours", [&](const At& a) {
            return read_.number(a, 0, 87'600, true,
                                "a number of hours greater than 0 (at most 87600)");
        });
    }

    void resilience(const At& at, Block& b) {
        auto m = members(at, resilience_keys, problems_);
        if (auto it = m.find("retry"); it != m.end()) {
            auto r = members(it->second, retry_keys, problems_);
            b.retry_max_attempts = field<std::int64_t>(
                r, "max_attempts", [&](const At& a) { return read_.whole(a, 1, 10); });
            b.retry_initial_delay =
                field<std::chrono::milliseconds>(r, "initial_delay_ms", [&](const At& a) {
                    return read_.millis(a, 0, one_hour_ms);
                });
            b.retry_multiplier = field<double>(r, "backoff_multiplier", [&](const At& a) {
                return read_.number(a, 1, 10, false, "a number from 1 to 10");
            });
            b.retry_max_delay = field<std::chrono::milliseconds>(
                r, "max_delay_ms", [&](const At& a) { return read_.millis(a, 1, one_hour_ms); });
            b.retry_jitter = field<bool>(r, "jitter", [&](const At& a) { return read_.flag(a); });
        }
        if (auto it = m.find("circuit_breaker"); it != m.end()) {
            auto c = members(it->second, breaker_keys, problems_);
            b.breaker_enabled =
                field<bool>(c, "enabled", [&](const At& a) { return read_.flag(a); });
            b.breaker_threshold = field<std::int64_t>(
                c, "failure_threshold", [&](const At& a) { return read_.whole(a, 1, 1000); });
            b.breaker_recovery =
                field<std::chrono::milliseconds>(c, "recovery_timeout_ms", [&](const At& a) {
                    return read_.millis(a, 1, 24 * one_hour_ms);
                });
            b.breaker_half_open = field<std::int64_t>(
                c, "half_open_requests", [&](const At& a) { return read_.whole(a, 1, 100); });
        }
    }

    std::optional<std::vector<Block>> mirrors(const At& at) {
        std::vector<Block> out;
        if (at.node.IsNull())
            return out;
        if (!at.node.IsSequence()) {
            problems_.add(at.where(),
                          "want a list of mirrors (- uri: oci://...); found " + kind_of(at.node));
            return std::nullopt;
        }
        if (at.node.size() > max_mirrors) {
            problems_.add(at.where(), "at most " + std::to_string(max_mirrors) + " mirrors");
            return std::nullopt;
        }
        bool ok = true;
        for (std::size_t i = 0; i < at.node.size(); ++i) {
            At item{at.node[i], at.key + "[" + std::to_string(i) + "]", at.node[i].Mark()};
            auto b = block(item, true);
            if (!b.uri.present) {
                problems_.missing(item.where(),
                                  "a mirror needs a uri (oci://HOST[:PORT]/NAMESPACE)");
                ok = false;
            }
            ok = ok && b.uri.value;
            out.push_back(std::move(b));
        }
        return ok ? std::optional(std::move(out)) : std::nullopt;
    }

    // client_cert and client_key come as a pair.
    void pair_check(const Block& b, const At& at) {
        if (b.client_cert.present == b.client_key.present)
            return;
        auto& there = b.client_cert.present ? b.client_cert : b.client_key;
        problems_.add(there.where,
                      std::string(b.client_cert.present ? "client_key" : "client_cert") +
                          " is missing beside it; mTLS needs client_cert and "
                          "client_key together (in " +
                          (at.key.empty() ? std::string("this block") : at.key) + ")");
    }

    Problems& problems_;
    Reader read_;
};

// ---- the effective configuration -----------------------------------------------------------

std::string relative_to(const std::string& dir, const std::string& p) {
    if (p.empty() || dir.empty() || std::filesystem::path(p).is_absolute())
        return p;
    return (std::filesystem::path(dir) / p).lexically_normal().string();
}

RegistryEndpoint endpoint(const Block& b) {
    RegistryEndpoint e;
    if (b.uri.value) {
        e.uri = b.uri.value->text;
        e.host = b.uri.value->host;
        e.namespace_ = b.uri.value->namespace_;
    }
    e.auth = b.auth.value;
    e.tls_verify = b.tls_verify.value.value_or(true);
    return e;
}

bool same_place(const RegistryEndpoint& a, const RegistryEndpoint& b) {
    return a.host == b.host && a.namespace_ == b.namespace_;
}

EnvironmentConfig effective(const Block& b, std::string name, const std::string& dir,
                            Problems& problems) {
    EnvironmentConfig env;
    env.name = std::move(name);
    env.primary = endpoint(b);
    env.primary.ca_file = relative_to(dir, b.ca_file.value.value_or(""));
    env.primary.client_cert = relative_to(dir, b.client_cert.value.value_or(""));
    env.primary.client_key = relative_to(dir, b.client_key.value.value_or(""));
    if (b.mirrors.value) {
        for (std::size_t i = 0; i < b.mirrors.value->size(); ++i) {
            const auto& m = (*b.mirrors.value)[i];
            auto e = endpoint(m);
            e.ca_file = env.primary.ca_file; // the environment's trust and identity, for all
            e.client_cert = env.primary.client_cert;
            e.client_key = env.primary.client_key;
            bool repeated = same_place(e, env.primary);
            for (auto& earlier : env.mirrors)
                repeated = repeated || same_place(e, earlier);
            if (repeated && b.uri.value)
                problems.add(m.uri.where, "the same registry and namespace as the primary or an "
                                          "earlier mirror; a mirror must be another copy");
            env.mirrors.push_back(std::move(e));
        }
    }
    auto& r = env.retry;
    r.max_attempts = static_cast<int>(b.retry_max_attempts.value.value_or(r.max_attempts));
    r.initial_delay = b.retry_initial_delay.value.value_or(r.initial_delay);
    r.backoff_multiplier = b.retry_multiplier.value.value_or(r.backoff_multiplier);
    r.max_delay = b.retry_max_delay.value.value_or(r.max_delay);
    r.jitter = b.retry_jitter.value.value_or(r.jitter);
    if (r.initial_delay > r.max_delay) {
        auto& at = b.retry_initial_delay.where.line >= b.retry_max_delay.where.line
                       ? b.retry_initial_delay
                       : b.retry_max_delay;
        problems.add(at.where, "initial_delay_ms (" + std::to_string(r.initial_delay.count()) +
                                   ") is above max_delay_ms (" +
                                   std::to_string(r.max_delay.count()) + "); raise max_delay_ms");
    }
    auto& c = env.breaker;
    c.enabled = b.breaker_enabled.value.value_or(c.enabled);
    c.failure_threshold = static_cast<int>(b.breaker_threshold.value.value_or(c.failure_threshold));
    c.recovery_timeout = b.breaker_recovery.value.value_or(c.recovery_timeout);
    c.half_open_requests =
        static_cast<int>(b.breaker_half_open.value.value_or(c.half_open_requests));
    auto& k = env.cache;
    k.enabled = b.cache_enabled.value.value_or(k.enabled);
    k.path = relative_to(dir, b.cache_path.value.value_or(k.path));
    k.max_size_gb = b.cache_max_size_gb.value.value_or(k.max_size_gb);
    k.ttl_hours = b.cache_ttl_hours.value.value_or(k.ttl_hours);
    env.concurrency = static_cast<int>(b.concurrency.value.value_or(env.concurrency));
    env.limit_rate = b.limit_rate.value.value_or(0);
    return env;
}

bool is_environment_name(std::string_view s) {
    return !s.empty() && s.size() <= 63 && std::isalnum(static_cast<unsigned char>(s.front())) &&
           std::all_of(s.begin(), s.end(), [](char c) {
               return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ||
                      c == '.';
           });
}

// yaml-cpp's message without what follows a ':' (some quote the input).
std::string syntax_reason(const std::string& msg) {
    return printable(msg.substr(0, msg.find(':')));
}

YAML::Node load_yaml(std::string_view text, const std::string& path) {
    try {
        return YAML::Load(std::string(text));
    } catch (const YAML::ParserException& e) {
        auto line = e.mark.is_null() ? 1 : e.mark.line + 1;
        fail(Errc::invalid_argument,
             path + ":" + std::to_string(line) + ": not valid YAML: " + syntax_reason(e.msg));
    } catch (const YAML::Exception&) {
        fail(Errc::invalid_argument, path + ": not valid YAML");
    }
}

std::optional<PlatformManifest> read_manifest(std::string_view text, std::string path,
                                              bool required) {
    if (text.size() > max_manifest_size)
        fail(Errc::invalid_argument,
             path + ": larger than 1 MiB; keep the registry configuration in a smaller file");
    const YAML::Node root = load_yaml(text, path);
    if (!root.IsMap() || !root["artifacts"].IsDefined()) {
        if (!required)
            return std::nullopt;
        fail(Errc::invalid_argument,
             path + ":1: artifacts: missing; the registry configuration lives under "
                    "artifacts.registry (uri: oci://HOST/NAMESPACE, ...)");
    }
    Problems problems(path);
    SchemaReader schema(problems);
    PlatformManifest out;
    out.path = path;
    auto dir = std::filesystem::path(path).parent_path().string();
    // The platform's own top-level keys are not floe's: only `artifacts` is read.
    YAML::Node artifacts_node;
    YAML::Mark artifacts_mark = YAML::Mark::null_mark();
    // yaml-cpp keeps a key given twice, and other readers (PyYAML) take the last one: a second
    // `artifacts` is an error, not a section silently ignored.
    for (auto it = root.begin(); it != root.end(); ++it) {
        if (!it->first.IsScalar() || it->first.Scalar() != "artifacts")
            continue;
        if (!artifacts_mark.is_null()) {
            auto mark = it->first.Mark();
            problems.add({mark.line, mark.column, "artifacts"},
                         "given twice (first on line " + std::to_string(artifacts_mark.line + 1) +
                             "); keep one");
            continue;
        }
        artifacts_node = it->second;
        artifacts_mark = it->first.Mark();
    }
    At artifacts{artifacts_node, "artifacts", artifacts_mark};
    auto sections = members(artifacts, {"registry", "environments"}, problems);
    auto reg = sections.find("registry");
    Block base;
    if (reg == sections.end() && (artifacts.node.IsMap() || artifacts.node.IsNull())) {
        problems.missing({artifacts.where_key().line, 0, "artifacts.registry"},
                         "missing; the default registry (uri: oci://HOST/NAMESPACE, ...) that "
                         "environments override");
    } else if (reg != sections.end()) {
        base = schema.block(reg->second, false);
        if (!base.uri.present)
            problems.missing({reg->second.where_key().line, 0, "artifacts.registry.uri"},
                             "missing; write uri: oci://HOST[:PORT]/NAMESPACE");
    }
    out.defaults = effective(base, "", dir, problems);
    if (auto envs = sections.find("environments"); envs != sections.end()) {
        const At& e = envs->second;
        if (!e.node.IsNull() && !e.node.IsMap())
            problems.add(e.where(), "want a mapping of environment names (dev:, prod:, ...); "
                                    "found " +
                                        kind_of(e.node));
        else if (e.node.IsMap())
            for (auto it = e.node.begin(); it != e.node.end(); ++it) {
                auto mark = it->first.Mark();
                Where key_where{mark.line, mark.column, "artifacts.environments"};
                std::string name = it->first.IsScalar() ? it->first.Scalar() : "";
                if (!is_environment_name(name)) {
                    problems.add(key_where, "an environment name is letters, digits, '-', '_' "
                                            "and '.' (at most 63), starting with a letter or "
                                            "digit; found " +
                                                kind_of(it->first));
                    continue;
                }
                if (out.environments.count(name)) {
                    problems.add(key_where, "environment " + name + " is given twice");
                    continue;
                }
                At env_at{it->second, "artifacts.environments." + name, mark};
                auto merged = overlay(base, schema.block(env_at, false));
                out.environments.emplace(name, effective(merged, name, dir, problems));
            }
    }
    problems.throw_first();
    return out;
}

// yaml-cpp throws for misuse only, which the walk above avoids; should one slip through, it is
// still a bad file, not a crash.
std::optional<PlatformManifest> parse_manifest(std::string_view text, std::string path,
                                               bool required) {
    try {
        return read_manifest(text, path, required);
    } catch (const YAML::Exception& e) {
        fail(Errc::invalid_argument,
             path + ": cannot be read as a platform manifest (" + syntax_reason(e.msg) + ")");
    }
}

std::string read_file(const std::string& path, std::string_view what) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
        fail(Errc::invalid_argument, std::string(what) + " " + printable(path) +
                                         " is a directory; name the manifest.yaml in it");
    std::ifstream in(path, std::ios::binary);
    if (!in)
        fail(Errc::invalid_argument, std::string(what) + " " + printable(path) +
                                         ": cannot be read (no such file, or no permission)");
    std::string text(max_manifest_size + 1, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
    return text;
}

// A cheap look before parsing a manifest.yaml nobody named: does it have a top-level
// `artifacts:` line?
bool mentions_artifacts(std::string_view text) {
    for (std::size_t start = 0; start < text.size();) {
        auto end = text.find('\n', start);
        auto line = text.substr(start, end == text.npos ? text.npos : end - start);
        if (line.starts_with("artifacts")) {
            auto after = line.substr(9);
            auto colon = after.find_first_not_of(" \t");
            if (colon != after.npos && after[colon] == ':')
                return true;
        }
        if (end == text.npos)
            break;
        start = end + 1;
    }
    return false;
}

// ---- rendering -------------------------------------------------------------------------------

std::string ms(std::chrono::milliseconds d) {
    return std::to_string(d.count()) + " ms";
}

std::string number_text(double d) {
    std::array<char, 32> buf{};
    auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), d);
    return ec == std::errc() ? std::string(buf.data(), end) : "?";
}

void endpoint_json(json::Writer& w, const RegistryEndpoint& e) {
    w.begin_object();
    w.key("uri").value(e.uri).key("host").value(e.host).key("namespace").value(e.namespace_);
    w.key("tls_verify").value(e.tls_verify);
    w.key("auth");
    if (!e.auth) {
        w.null();
    } else {
        w.begin_object().key("type").value(to_string(e.auth->type));
        if (auto& ref = e.auth->credentials_ref) {
            w.key("credentials_ref").value(describe(*ref));
            w.key("reads").begin_array();
            if (ref->source == CredentialsRef::Source::kubernetes)
                w.value("Secret " + ref->name + " through the Kubernetes API");
            for (auto& v : secret_env_variables(*ref, e.auth->type))
                w.value(v);
            w.end_array();
        }
        w.end_object();
    }
    w.end_object();
}

std::string auth_text(const std::optional<AuthSpec>& auth) {
    if (!auth)
        return "not set (floe's credential sources: docker config, FLOE_REGISTRY_*, ...)";
    std::string out(to_string(auth->type));
    if (auto& ref = auth->credentials_ref) {
        out += ", credentials " + printable(describe(*ref));
        auto vars = secret_env_variables(*ref, auth->type);
        for (std::size_t i = 0; i < vars.size(); ++i)
            out += (i ? ", " : " (") + vars[i] + (i + 1 == vars.size() ? ")" : "");
    }
    return out;
}

void endpoint_text(std::string& out, std::string_view title, const RegistryEndpoint& e) {
    out += std::string(title) + printable(e.uri) + "\n";
    out += "  auth            " + auth_text(e.auth) + "\n";
    out += std::string("  tls             ") + (e.tls_verify ? "verified" : "NOT verified") +
           (e.ca_file.empty() ? "" : ", CA " + printable(e.ca_file)) +
           (e.client_cert.empty() ? ""
                                  : ", client certificate " + printable(e.client_cert) + " key " +
                                        printable(e.client_key)) +
           "\n";
}

} // namespace

// ---- public --------------------------------------------------------------------------------

PlatformManifest PlatformManifest::parse(std::string_view yaml, std::string path) {
    return *parse_manifest(yaml, std::move(path), true);
}

const EnvironmentConfig& PlatformManifest::environment(std::string_view name) const {
    if (name.empty())
        return defaults;
    if (auto it = environments.find(name); it != environments.end())
        return it->second;
    std::string known;
    for (auto& [n, _] : environments)
        known += (known.empty() ? "" : ", ") + n;
    fail(Errc::invalid_argument,
         "environment " + quote(name) + " is not in " + path +
             (known.empty() ? std::string("; it has no artifacts.environments")
                            : "; known: " + known));
}

std::optional<PlatformManifest> load_manifest(const ManifestSearch& search) {
    if (!search.config_flag.empty())
        return PlatformManifest::parse(read_file(search.config_flag, "--config"),
                                       search.config_flag);
    if (auto named = search.env("FLOE_MANIFEST"); named && !named->empty())
        return PlatformManifest::parse(read_file(*named, "FLOE_MANIFEST"), *named);
    auto implicit = (std::filesystem::path(search.directory) / "manifest.yaml").string();
    std::error_code ec;
    if (!std::filesystem::is_regular_file(implicit, ec))
        return std::nullopt;
    auto text = read_file(implicit, "manifest");
    if (!mentions_artifacts(text))
        return std::nullopt;
    return parse_manifest(text, implicit, false);
}

std::string environment_name(std::string_view env_flag, const EnvLookup& env) {
    if (!env_flag.empty())
        return std::string(env_flag);
    return env("FLOE_ENVIRONMENT").value_or("");
}

std::string qualify(std::string_view user_ref, const RegistryEndpoint& endpoint) {
    if (user_ref.find("://") != user_ref.npos)
        return std::string(user_ref);
    auto slash = user_ref.find('/');
    if (slash != user_ref.npos && looks_like_host(user_ref.substr(0, slash)))
        return std::string(user_ref);
    auto prefix = endpoint.host + "/";
    if (!endpoint.namespace_.empty())
        prefix += endpoint.namespace_ + "/";
    return prefix + std::string(user_ref);
}

std::optional<std::string> rebase(std::string_view qualified, const RegistryEndpoint& from,
                                  const RegistryEndpoint& to) {
    auto under = [](const RegistryEndpoint& e) {
        return e.host + "/" + (e.namespace_.empty() ? "" : e.namespace_ + "/");
    };
    auto prefix = under(from);
    if (!qualified.starts_with(prefix))
        return std::nullopt;
    return under(to) + std::string(qualified.substr(prefix.size()));
}

RetryPolicy retry_policy(const RetrySettings& retry, const RetryPolicy& base) {
    RetryPolicy p = base;
    p.max_attempts = retry.max_attempts;
    p.initial_delay = retry.initial_delay;
    p.multiplier = retry.backoff_multiplier;
    p.max_delay = retry.max_delay;
    p.jitter = retry.jitter;
    return p;
}

namespace {

// The manifest's `auth` for one endpoint: which sources may answer for it, and its secret.
void apply_auth(const AuthSpec& auth, RegistrySettings& s, const EnvLookup& lookup) {
    using Kind = CredentialPolicy::Kind;
    switch (auth.type) {
    case AuthType::anonymous:
        s.credential_policy.kind = Kind::none;
        return;
    case AuthType::aws_irsa:
        s.credential_policy.kind = Kind::aws;
        return;
    case AuthType::gcp_workload_identity:
        s.credential_policy.kind = Kind::gcp;
        return;
    case AuthType::azure_managed_identity:
        s.credential_policy.kind = Kind::azure;
        return;
    case AuthType::basic:
    case AuthType::token:
        break;
    }
    auto& ref = *auth.credentials_ref; // validation made it present for these types
    if (ref.source == CredentialsRef::Source::kubernetes) {
        s.credential_policy = {Kind::pull_secret, pull_secret_spec(ref)};
        return;
    }
    s.credentials = env_secret_store(ref, auth.type, lookup);
    s.credential_policy.kind = Kind::only_set;
}

} // namespace

std::vector<std::pair<std::string, RegistrySettings>>
settings_for(const EnvironmentConfig& env, const RegistrySettings& base, const EnvLookup& lookup) {
    std::vector<std::pair<std::string, RegistrySettings>> out;
    auto add = [&](const RegistryEndpoint& e) {
        for (auto& [host, _] : out)
            if (host == e.host)
                return;
        RegistrySettings s = base;
        s.insecure_skip_tls_verify = !e.tls_verify;
        if (!e.ca_file.empty())
            s.ca_file = e.ca_file;
        if (!e.client_cert.empty()) {
            s.client_cert = e.client_cert;
            s.client_key = e.client_key;
        }
        s.retry = retry_policy(env.retry, base.retry);
        s.circuit_breaker = env.breaker;
        s.concurrency = env.concurrency;
        if (env.limit_rate)
            s.limit_rate = env.limit_rate;
        if (e.auth)
            apply_auth(*e.auth, s, lookup);
        out.emplace_back(e.host, std::move(s));
    };
    add(env.primary);
    for (auto& m : env.mirrors)
        add(m);
    for (auto& m : env.mirrors)
        out.front().second.mirrors.push_back(
            {env.primary.namespace_, m.namespace_.empty() ? m.host : m.host + "/" + m.namespace_});
    return out;
}

std::string to_json(const EnvironmentConfig& env, std::string_view source) {
    json::Writer w;
    w.begin_object();
    w.key("source").value(source);
    w.key("environment");
    env.name.empty() ? w.null() : w.value(env.name);
    w.key("registry");
    endpoint_json(w, env.primary);
    w.key("mirrors").begin_array();
    for (auto& m : env.mirrors)
        endpoint_json(w, m);
    w.end_array();
    w.key("ca_file").value(env.primary.ca_file);
    w.key("client_cert").value(env.primary.client_cert);
    w.key("client_key").value(env.primary.client_key);
    w.key("concurrency").value(env.concurrency);
    w.key("limit_rate").value(env.limit_rate);
    w.key("cache").begin_object();
    w.key("enabled").value(env.cache.enabled).key("path").value(env.cache.path);
    w.key("max_size_gb").value(env.cache.max_size_gb).key("ttl_hours").value(env.cache.ttl_hours);
    w.end_object();
    w.key("resilience").begin_object();
    auto& r = env.retry;
    w.key("retry").begin_object();
    w.key("max_attempts").value(r.max_attempts);
    w.key("initial_delay_ms").value(static_cast<std::int64_t>(r.initial_delay.count()));
    w.key("backoff_multiplier").value(r.backoff_multiplier);
    w.key("max_delay_ms").value(static_cast<std::int64_t>(r.max_delay.count()));
    w.key("jitter").value(r.jitter);
    w.end_object();
    auto& c = env.breaker;
    w.key("circuit_breaker").begin_object();
    w.key("enabled").value(c.enabled).key("failure_threshold").value(c.failure_threshold);
    w.key("recovery_timeout_ms").value(static_cast<std::int64_t>(c.recovery_timeout.count()));
    w.key("half_open_requests").value(c.half_open_requests);
    w.end_object();
    w.end_object();
    w.end_object();
    return w.take();
}

std::string to_text(const EnvironmentConfig& env, std::string_view source) {
    std::string out;
    if (!source.empty())
        out += "manifest          " + printable(source) + "\n";
    out += "environment       " + (env.name.empty() ? "(default: artifacts.registry)" : env.name) +
           "\n";
    endpoint_text(out, "registry          ", env.primary);
    for (std::size_t i = 0; i < env.mirrors.size(); ++i)
        endpoint_text(out, "mirror " + std::to_string(i + 1) + "          ", env.mirrors[i]);
    auto& r = env.retry;
    out += "retry             " + std::to_string(r.max_attempts) + " attempts, first delay " +
           ms(r.initial_delay) + " x" + number_text(r.backoff_multiplier) + ", at most " +
           ms(r.max_delay) + (r.jitter ? ", jitter" : ", no jitter") + "\n";
    auto& c = env.breaker;
    out += "circuit breaker   " +
           (c.enabled ? "on: opens after " + std::to_string(c.failure_threshold) +
                            " failures in a row, tries again after " + ms(c.recovery_timeout) +
                            " with " + std::to_string(c.half_open_requests) + " request(s)"
                      : std::string("off")) +
           "\n";
    auto& k = env.cache;
    out += "cache             " +
           (k.enabled
                ? "on, " + (k.path.empty() ? std::string("default directory") : printable(k.path)) +
                      ", " + number_text(k.max_size_gb) + " GB, entries kept " +
                      number_text(k.ttl_hours) + " h"
                : std::string("off")) +
           "\n";
    out += "concurrency       " + std::to_string(env.concurrency) + "\n";
    out += "limit rate        " +
           (env.limit_rate ? std::to_string(env.limit_rate) + " bytes/s" : std::string("none")) +
           "\n";
    return out;
}

} // namespace floe::config
