#include "floe/auth/docker_config.hpp"

#include "floe/core/base64.hpp"
#include "floe/core/error.hpp"
#include "floe/core/json_writer.hpp"
#include "floe/core/printable.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <vector>

namespace floe::auth {
namespace {

// ---- a generic JSON tree ------------------------------------------------------------------------
// The rewrite keeps every key floe does not know, in its order (duplicates too), so the file is
// held as a tree rather than as the few fields floe reads.

struct Member;

struct Node {
    enum class Kind { null, boolean, int64, uint64, number, string, array, object };
    Kind kind = Kind::null;
    bool boolean = false;
    std::int64_t int64 = 0;
    std::uint64_t uint64 = 0;
    double number = 0;
    std::string text;
    std::vector<Node> items;
    std::vector<Member> members;
};

struct Member {
    std::string key;
    Node value;
};

Node of_kind(Node::Kind kind) {
    Node n;
    n.kind = kind;
    return n;
}

Node to_node(simdjson::dom::element el) {
    Node n;
    simdjson::dom::array array;
    simdjson::dom::object object;
    std::string_view text;
    if (el.get(array) == simdjson::SUCCESS) {
        n.kind = Node::Kind::array;
        for (auto item : array)
            n.items.push_back(to_node(item));
    } else if (el.get(object) == simdjson::SUCCESS) {
        n.kind = Node::Kind::object;
        for (auto field : object)
            n.members.push_back({std::string(field.key), to_node(field.value)});
    } else if (el.get(text) == simdjson::SUCCESS) {
        n.kind = Node::Kind::string;
        n.text = std::string(text);
    } else if (el.is_int64()) {
        n.kind = Node::Kind::int64;
        n.int64 = el.get_int64().value_unsafe();
    } else if (el.is_uint64()) {
        n.kind = Node::Kind::uint64;
        n.uint64 = el.get_uint64().value_unsafe();
    } else if (el.is_double()) {
        n.kind = Node::Kind::number;
        n.number = el.get_double().value_unsafe();
    } else if (el.is_bool()) {
        n.kind = Node::Kind::boolean;
        n.boolean = el.get_bool().value_unsafe();
    }
    return n;
}

bool blank(std::string_view text) {
    return std::all_of(text.begin(), text.end(),
                       [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; });
}

// The document as a tree; empty text is an empty object (docker reads an empty file as one).
Node parse_tree(std::string_view json, std::string_view origin) {
    if (blank(json))
        return of_kind(Node::Kind::object);
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    if (auto err = parser.parse(json.data(), json.size()).get(root))
        fail(Errc::invalid_argument, printable(origin) + " is not valid JSON (" +
                                         simdjson::error_message(err) + "); fix or remove it");
    auto node = to_node(root);
    if (node.kind != Node::Kind::object)
        fail(Errc::invalid_argument,
             printable(origin) + " is not a credential file: its top level is not a JSON object");
    return node;
}

// Docker's own layout: tab-indented, one member per line.
void write_node(std::string& out, const Node& n, int depth) {
    auto newline = [&](int d) {
        out += '\n';
        out.append(static_cast<std::size_t>(d), '\t');
    };
    switch (n.kind) {
    case Node::Kind::null:
        out += "null";
        break;
    case Node::Kind::boolean:
        out += n.boolean ? "true" : "false";
        break;
    case Node::Kind::int64:
        out += std::to_string(n.int64);
        break;
    case Node::Kind::uint64:
        out += std::to_string(n.uint64);
        break;
    case Node::Kind::number:
        out += fmt::format("{}", n.number); // shortest text that reads back as the same double
        break;
    case Node::Kind::string:
        json::append_string(out, n.text);
        break;
    case Node::Kind::array:
        out += '[';
        for (std::size_t i = 0; i < n.items.size(); ++i) {
            out += i ? "," : "";
            newline(depth + 1);
            write_node(out, n.items[i], depth + 1);
        }
        if (!n.items.empty())
            newline(depth);
        out += ']';
        break;
    case Node::Kind::object:
        out += '{';
        for (std::size_t i = 0; i < n.members.size(); ++i) {
            out += i ? "," : "";
            newline(depth + 1);
            json::append_string(out, n.members[i].key);
            out += ": ";
            write_node(out, n.members[i].value, depth + 1);
        }
        if (!n.members.empty())
            newline(depth);
        out += '}';
        break;
    }
}

std::string serialize(const Node& root) {
    std::string out;
    write_node(out, root, 0);
    out += '\n';
    return out;
}

// ---- reading the fields floe knows -----------------------------------------------------------

// A key taken from the file, for an error message: printable and short.
std::string quoted_key(std::string_view key) {
    auto shown = printable(key.substr(0, 200));
    return "\"" + shown + (key.size() > 200 ? "...\"" : "\"");
}

std::string where(std::string_view origin, std::string_view section, std::string_view key) {
    return printable(origin) + ": " + std::string(section) + "[" + quoted_key(key) + "]";
}

// A string field of an object; "" when absent or null. Any other type is an error.
std::string string_field(const Node& obj, std::string_view name, const std::string& place) {
    for (auto& m : obj.members) {
        if (m.key != name)
            continue;
        if (m.value.kind == Node::Kind::null)
            return {};
        if (m.value.kind != Node::Kind::string)
            fail(Errc::invalid_argument, place + "." + std::string(name) + " is not a string");
        return m.value.text;
    }
    return {};
}

// An entry of `auths` (or of a legacy file) as credentials; nullopt when nothing is in it.
std::optional<Credentials> read_entry(const Node& entry, const std::string& place) {
    if (entry.kind != Node::Kind::object)
        fail(Errc::invalid_argument, place + " is not an object");
    Credentials c;
    c.username = string_field(entry, "username", place);
    c.password = string_field(entry, "password", place);
    c.identity_token = string_field(entry, "identitytoken", place);
    c.registry_token = string_field(entry, "registrytoken", place);
    // "auth" wins over username/password, as in docker.
    if (auto auth = string_field(entry, "auth", place); !auth.empty()) {
        auto decoded = base64_decode(auth);
        auto colon = decoded ? decoded->find(':') : std::string::npos;
        if (colon == std::string::npos)
            fail(Errc::invalid_argument,
                 place + ".auth is not base64 of \"user:password\"; fix or remove the entry");
        c.username = decoded->substr(0, colon);
        c.password = decoded->substr(colon + 1);
    }
    if (c.username.empty() && c.password.empty() && c.identity_token.empty() &&
        c.registry_token.empty())
        return std::nullopt;
    return c;
}

void read_auths(DockerConfig& cfg, const Node& auths, std::string_view origin,
                std::string_view section, bool legacy) {
    if (auths.kind == Node::Kind::null)
        return;
    if (auths.kind != Node::Kind::object)
        fail(Errc::invalid_argument, printable(origin) + ": \"auths\" is not an object");
    for (auto& m : auths.members) {
        auto key = normalize_registry_key(m.key);
        if (legacy) // the legacy format only ever named whole registries
            key = key.substr(0, key.find('/'));
        auto creds = read_entry(m.value, where(origin, section, m.key));
        if (creds && !key.empty())
            cfg.auths.emplace(key, std::move(*creds));
    }
}

void read_helpers(DockerConfig& cfg, const Node& helpers, std::string_view origin) {
    if (helpers.kind == Node::Kind::null)
        return;
    if (helpers.kind != Node::Kind::object)
        fail(Errc::invalid_argument, printable(origin) + ": \"credHelpers\" is not an object");
    for (auto& m : helpers.members) {
        if (m.value.kind != Node::Kind::string)
            fail(Errc::invalid_argument, where(origin, "credHelpers", m.key) + " is not a string");
        auto key = normalize_registry_key(m.key);
        if (!key.empty() && !m.value.text.empty())
            cfg.cred_helpers.emplace(key, m.value.text);
    }
}

// ---- rewriting ---------------------------------------------------------------------------------

// The "auths" objects of the document (several when the key is duplicated); throws when one is
// not an object, so a file floe does not understand is left alone.
std::vector<Node*> auths_sections(Node& root, std::string_view origin) {
    std::vector<Node*> out;
    for (auto& m : root.members) {
        if (m.key != "auths")
            continue;
        if (m.value.kind == Node::Kind::null)
            m.value = of_kind(Node::Kind::object);
        if (m.value.kind != Node::Kind::object)
            fail(Errc::invalid_argument,
                 printable(origin) + ": \"auths\" is not an object; fix the file first");
        out.push_back(&m.value);
    }
    return out;
}

// Removes the registry's entries from every auths section; returns where the first one was in
// the first section that had one (the new entry goes there), or nullopt.
std::optional<std::pair<Node*, std::size_t>> remove_entries(const std::vector<Node*>& sections,
                                                            std::string_view registry) {
    auto target = normalize_registry_key(registry);
    std::optional<std::pair<Node*, std::size_t>> first;
    for (auto* section : sections) {
        auto& members = section->members;
        for (std::size_t i = 0; i < members.size();) {
            if (normalize_registry_key(members[i].key) != target) {
                ++i;
                continue;
            }
            if (!first)
                first = {section, i};
            members.erase(members.begin() + static_cast<std::ptrdiff_t>(i));
        }
    }
    return first;
}

Node string_node(std::string s) {
    Node n = of_kind(Node::Kind::string);
    n.text = std::move(s);
    return n;
}

Node entry_for(const Credentials& c) {
    Node entry = of_kind(Node::Kind::object);
    if (!c.username.empty() || !c.password.empty())
        entry.members.push_back(
            {"auth", string_node(base64_encode(c.username + ":" + c.password))});
    if (!c.identity_token.empty())
        entry.members.push_back({"identitytoken", string_node(c.identity_token)});
    if (!c.registry_token.empty())
        entry.members.push_back({"registrytoken", string_node(c.registry_token)});
    return entry;
}

bool is_docker_hub(std::string_view host) {
    return host == "docker.io" || host == "index.docker.io" || host == "registry-1.docker.io";
}

bool has_scheme(std::string_view key, std::string_view scheme) {
    if (key.size() < scheme.size())
        return false;
    for (std::size_t i = 0; i < scheme.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(key[i])) != scheme[i])
            return false;
    return true;
}

} // namespace

std::string normalize_registry_key(std::string_view key) {
    bool scheme = false;
    for (std::string_view s : {"https://", "http://"}) {
        if (has_scheme(key, s)) {
            key.remove_prefix(s.size());
            scheme = true;
            break;
        }
    }
    auto slash = key.find('/');
    std::string host(key.substr(0, slash));
    std::string path(scheme || slash == std::string_view::npos ? std::string_view()
                                                               : key.substr(slash));
    for (auto& c : host)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    while (!path.empty() && path.back() == '/')
        path.pop_back();
    if (is_docker_hub(host)) {
        host = "docker.io";
        if (path == "/v1") // "index.docker.io/v1/" written without its scheme
            path.clear();
    }
    return host + path;
}

std::string registry_key_for_writing(std::string_view registry) {
    auto key = normalize_registry_key(registry);
    return key == "docker.io" ? "https://index.docker.io/v1/" : key;
}

std::string helper_server_url(std::string_view registry) {
    auto key = normalize_registry_key(registry);
    key = key.substr(0, key.find('/'));
    return key == "docker.io" ? "https://index.docker.io/v1/" : key;
}

DockerConfig DockerConfig::parse(std::string_view json, std::string_view origin) {
    auto root = parse_tree(json, origin);
    DockerConfig cfg;
    for (auto& m : root.members) {
        if (m.key == "auths") {
            read_auths(cfg, m.value, origin, "auths", false);
        } else if (m.key == "credHelpers") {
            read_helpers(cfg, m.value, origin);
        } else if (m.key == "credsStore" && cfg.creds_store.empty()) {
            if (m.value.kind != Node::Kind::string && m.value.kind != Node::Kind::null)
                fail(Errc::invalid_argument,
                     printable(origin) + ": \"credsStore\" is not a string");
            cfg.creds_store = m.value.text;
        }
    }
    return cfg;
}

DockerConfig DockerConfig::parse_legacy(std::string_view json, std::string_view origin) {
    auto root = parse_tree(json, origin);
    DockerConfig cfg;
    read_auths(cfg, root, origin, "", true);
    return cfg;
}

std::optional<Credentials> DockerConfig::lookup(std::string_view registry,
                                                std::string_view repository) const {
    auto host = normalize_registry_key(registry);
    auto full = repository.empty() ? host : host + "/" + std::string(repository);
    const Credentials* best = nullptr;
    std::size_t best_length = 0;
    for (auto& [key, creds] : auths) {
        // The key must end at a path component boundary of registry/repository.
        bool matches = key == host || (full.starts_with(key) && key.size() > host.size() &&
                                       (full.size() == key.size() || full[key.size()] == '/'));
        if (matches && (!best || key.size() > best_length)) {
            best = &creds;
            best_length = key.size();
        }
    }
    return best ? std::optional<Credentials>(*best) : std::nullopt;
}

std::string DockerConfig::helper_for(std::string_view registry) const {
    auto host = normalize_registry_key(registry);
    host = host.substr(0, host.find('/'));
    if (auto it = cred_helpers.find(host); it != cred_helpers.end())
        return it->second;
    return creds_store;
}

std::string with_login(std::string_view json, std::string_view registry,
                       const Credentials& credentials, std::string_view origin) {
    auto root = parse_tree(json, origin);
    auto sections = auths_sections(root, origin);
    auto at = remove_entries(sections, registry);
    if (sections.empty()) {
        root.members.insert(root.members.begin(), Member{"auths", of_kind(Node::Kind::object)});
        sections.push_back(&root.members.front().value);
    }
    Member entry{registry_key_for_writing(registry), entry_for(credentials)};
    auto* section = at ? at->first : sections.front();
    auto position = at ? at->second : section->members.size();
    section->members.insert(section->members.begin() + static_cast<std::ptrdiff_t>(position),
                            std::move(entry));
    return serialize(root);
}

std::string without_login(std::string_view json, std::string_view registry,
                          std::string_view origin) {
    auto root = parse_tree(json, origin);
    remove_entries(auths_sections(root, origin), registry);
    return serialize(root);
}

bool has_login(std::string_view json, std::string_view registry, std::string_view origin) {
    auto root = parse_tree(json, origin);
    return remove_entries(auths_sections(root, origin), registry).has_value();
}

} // namespace floe::auth
