#include "floe/auth/keychain.hpp"

#include "floe/target/flight.hpp"

namespace floe::auth {

namespace {
std::string key_of(std::string_view registry, std::string_view repository) {
    return std::string(registry) + "/" + std::string(repository);
}
} // namespace

std::optional<std::optional<Credentials>>
CachingKeychain::known(std::string_view registry, std::string_view repository) const {
    auto it = entries_.find(key_of(registry, repository));
    if (it == entries_.end() || it->second.expires <= std::chrono::steady_clock::now())
        return std::nullopt;
    return it->second.value;
}

Task<std::optional<Credentials>> CachingKeychain::resolve(std::string_view registry,
                                                          std::string_view repository) {
    auto key = key_of(registry, repository);
    while (true) {
        if (auto hit = known(registry, repository))
            co_return *hit;
        auto flying = in_flight_.find(key);
        if (flying == in_flight_.end())
            break;
        auto flight = flying->second; // keep it alive while waiting
        co_await flight->wait();
        if (!known(registry, repository))
            break; // the first ask failed: ask again ourselves
    }
    auto flight = std::make_shared<Flight>();
    in_flight_[key] = flight;
    struct Landing {
        CachingKeychain* self;
        std::string key;
        std::shared_ptr<Flight> flight;
        ~Landing() {
            self->in_flight_.erase(key);
            flight->land();
        }
    } landing{this, key, flight};
    auto value = co_await inner_->resolve(registry, repository);
    entries_[key] = Entry{value, std::chrono::steady_clock::now() + ttl_};
    co_return value;
}

} // namespace floe::auth
