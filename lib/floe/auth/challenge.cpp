#include "floe/auth/challenge.hpp"

#include "floe/core/error.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <set>

namespace floe::auth {
namespace {

bool is_token_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("!#$%&'*+-.^_`|~/").find(c) != std::string_view::npos;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

class Cursor {
  public:
    explicit Cursor(std::string_view s) : s_(s) {}
    void skip_space() {
        while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t'))
            ++i_;
    }
    void skip_space_and_commas() {
        while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == ','))
            ++i_;
    }
    bool done() const { return i_ >= s_.size(); }
    char peek() const { return done() ? '\0' : s_[i_]; }
    void next() { ++i_; }
    std::size_t pos() const { return i_; }
    void seek(std::size_t p) { i_ = p; }
    std::string_view token() {
        auto start = i_;
        while (i_ < s_.size() && is_token_char(s_[i_]))
            ++i_;
        return s_.substr(start, i_ - start);
    }
    // An unquoted value. RFC 7235 says token, but registries send URLs and scopes unquoted
    // (':' and '/' included), so read up to the next separator.
    std::string bare_value() {
        auto start = i_;
        while (i_ < s_.size() && s_[i_] != ',' && s_[i_] != ' ' && s_[i_] != '\t')
            ++i_;
        return std::string(s_.substr(start, i_ - start));
    }
    std::string quoted() { // at the opening quote
        std::string out;
        ++i_;
        while (i_ < s_.size() && s_[i_] != '"') {
            if (s_[i_] == '\\' && i_ + 1 < s_.size())
                ++i_;
            out.push_back(s_[i_++]);
        }
        if (i_ < s_.size())
            ++i_; // closing quote
        return out;
    }

  private:
    std::string_view s_;
    std::size_t i_ = 0;
};

} // namespace

std::vector<Challenge> parse_challenges(std::string_view header) {
    std::vector<Challenge> out;
    Cursor c(header);
    while (true) {
        c.skip_space_and_commas();
        if (c.done())
            break;
        auto scheme = c.token();
        if (scheme.empty()) { // garbage: skip a character and carry on
            c.next();
            continue;
        }
        Challenge ch;
        ch.scheme = lower(scheme);
        // auth-params until the next "token SP token" (a new challenge) or the end
        while (true) {
            c.skip_space_and_commas();
            if (c.done())
                break;
            auto mark = c.pos();
            auto name = c.token();
            c.skip_space();
            if (name.empty() || c.peek() != '=') {
                c.seek(mark); // the next challenge's scheme
                break;
            }
            c.next(); // '='
            c.skip_space();
            std::string value = c.peek() == '"' ? c.quoted() : c.bare_value();
            ch.params[lower(name)] = std::move(value);
        }
        out.push_back(std::move(ch));
    }
    return out;
}

std::string repository_scope(std::string_view repository, bool push) {
    return "repository:" + std::string(repository) + (push ? ":pull,push" : ":pull");
}

std::vector<std::string> merge_scopes(const std::vector<std::string>& a,
                                      const std::vector<std::string>& b) {
    // resource ("repository:name") -> actions
    std::map<std::string, std::set<std::string>> merged;
    auto add = [&](const std::string& scope) {
        for (std::size_t start = 0; start < scope.size();) {
            // A challenge may carry several space-separated scopes.
            auto space = scope.find(' ', start);
            std::string one =
                scope.substr(start, space == std::string::npos ? space : space - start);
            start = space == std::string::npos ? scope.size() : space + 1;
            auto colon = one.rfind(':');
            if (one.empty() || colon == std::string::npos)
                continue;
            auto& actions = merged[one.substr(0, colon)];
            std::string_view list = std::string_view(one).substr(colon + 1);
            while (!list.empty()) {
                auto comma = list.find(',');
                auto action = list.substr(0, comma);
                if (!action.empty())
                    actions.emplace(action);
                if (comma == std::string_view::npos)
                    break;
                list.remove_prefix(comma + 1);
            }
        }
    };
    for (auto& s : a)
        add(s);
    for (auto& s : b)
        add(s);
    std::vector<std::string> out;
    for (auto& [resource, actions] : merged) {
        std::string joined;
        for (auto& act : actions)
            joined += (joined.empty() ? "" : ",") + act;
        out.push_back(resource + ":" + joined);
    }
    return out;
}

namespace {

// RFC 6750's b64token is narrower; printable ASCII without spaces is what any real service
// sends, and nothing in it can break a header line.
bool is_token_text(std::string_view s) {
    for (unsigned char c : s)
        if (c < 0x21 || c > 0x7e)
            return false;
    return true;
}

} // namespace

TokenAnswer parse_token_answer(std::string_view json) {
    simdjson::dom::parser parser;
    simdjson::dom::object obj;
    if (parser.parse(json.data(), json.size()).get(obj) != simdjson::SUCCESS)
        fail(Errc::protocol, "the token service answered something that is not a JSON object");
    TokenAnswer t;
    std::string_view s;
    if (obj["token"].get(s) == simdjson::SUCCESS && !s.empty())
        t.token = std::string(s);
    else if (obj["access_token"].get(s) == simdjson::SUCCESS && !s.empty())
        t.token = std::string(s);
    else
        fail(Errc::protocol,
             "the token service's answer has neither \"token\" nor \"access_token\"");
    if (obj["refresh_token"].get(s) == simdjson::SUCCESS)
        t.refresh_token = std::string(s);
    std::int64_t expires = 0;
    if (obj["expires_in"].get(expires) == simdjson::SUCCESS && expires > 0)
        t.expires_in = expires;
    if (!is_token_text(t.token) || !is_token_text(t.refresh_token))
        fail(Errc::protocol, "the token service answered a token with spaces or control "
                             "characters in it; refusing to use it");
    return t;
}

} // namespace floe::auth
