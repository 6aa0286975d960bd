#include "floe/registry/catalog.hpp"

#include "floe/core/printable.hpp"
#include "floe/core/reference.hpp"
#include "floe/registry/paging.hpp"

#include <simdjson.h>

#include <set>

namespace floe::registry {

namespace {

constexpr std::size_t page_size = 1000;
constexpr std::size_t max_page_bytes = 8 * 1024 * 1024;
// A catalog that never ends (a registry linking a page to itself) must not run forever.
constexpr int max_pages = 10'000;
// Nor fill memory: 8 MiB pages of names, each linking to a new page, would otherwise be kept
// until max_pages (80 GB).
constexpr std::size_t max_repositories = 1'000'000;

bool is_under(std::string_view name, std::string_view under) {
    return under.empty() || name == under ||
           (name.size() > under.size() && name.starts_with(under) && name[under.size()] == '/');
}

} // namespace

Task<std::vector<std::string>> list_repositories(Registry& registry, std::string_view under) {
    std::vector<std::string> out;
    // The distribution spec's `last` lets a registry skip what sorts before the namespace.
    std::string target = "/v2/_catalog?n=" + std::to_string(page_size);
    std::set<std::string> seen{target}; // a page linking back to one already read: a circle
    for (int page = 0; !target.empty(); ++page) {
        if (page >= max_pages)
            fail(Errc::protocol, "the catalog of " + registry.host() + " spans more than " +
                                     std::to_string(max_pages) + " pages");
        http::Call call{[&] {
                            http::Request r;
                            r.url = registry.endpoint(target);
                            r.max_body = max_page_bytes;
                            return r;
                        },
                        {"registry:catalog:*"}};
        auto resp = co_await registry.send(call);
        if (resp.status == 404 || resp.status == 401 || resp.status == 403 || resp.status == 405) {
            co_await resp.discard();
            fail(Errc::unsupported, registry.host() +
                                        " does not list its repositories to this client (HTTP " +
                                        std::to_string(resp.status) +
                                        " on /v2/_catalog); name them with --repository");
        }
        co_await Registry::expect(resp, "cannot list the repositories of " + registry.host(), 200);
        auto link = resp.headers.get("Link");
        auto url = resp.url;
        auto body = co_await resp.read_all(max_page_bytes);
        simdjson::dom::parser parser;
        simdjson::dom::element doc;
        simdjson::dom::array list;
        if (parser.parse(body.data(), body.size()).get(doc) != simdjson::SUCCESS ||
            doc["repositories"].get(list) != simdjson::SUCCESS)
            fail(Errc::protocol,
                 "the catalog from " + registry.host() + " is not a repository list");
        for (auto item : list) {
            std::string_view name;
            if (item.get(name) == simdjson::SUCCESS && is_valid_repository(name) &&
                is_under(name, under))
                out.emplace_back(name);
        }
        if (out.size() > max_repositories)
            fail(Errc::protocol, "the catalog of " + registry.host() + " names more than " +
                                     std::to_string(max_repositories) +
                                     " repositories; name them with --repository");
        target.clear();
        if (auto next = link ? next_link(*link) : std::nullopt) {
            // The next page stays on this registry: a link elsewhere is refused.
            auto next_url = url.follow(*next);
            if (next_url.origin() != url.origin())
                fail(Errc::protocol,
                     "the catalog of " + registry.host() + " links to another host");
            target = next_url.target;
            if (!seen.insert(target).second)
                fail(Errc::protocol, "the catalog of " + registry.host() +
                                         " links back to a page already read (it does not "
                                         "advance)");
        }
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    co_return out;
}

} // namespace floe::registry
