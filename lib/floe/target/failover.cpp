#include "floe/target/failover.hpp"

#include "floe/core/error.hpp"

namespace floe {

FailoverTarget::FailoverTarget(std::vector<std::unique_ptr<ReadOnlyTarget>> sources,
                               std::function<void(const std::string&)> notice)
    : sources_(std::move(sources)), notice_(std::move(notice)) {
    if (sources_.empty())
        fail(Errc::invalid_argument, "a failover source needs at least one registry");
}

bool FailoverTarget::unavailable(const Error& e) {
    if (e.errc() == Errc::network)
        return true; // unreachable, TLS, timeout, cut off, or its circuit is open
    auto status = e.diagnostics().http_status;
    return e.errc() == Errc::registry && (status >= 500 || status == 429);
}

template <class T, class Read>
Task<T> FailoverTarget::first_available(Read read) {
    std::string reasons;
    for (std::size_t i = current_; i < sources_.size(); ++i) {
        std::string why;
        try {
            T value = co_await read(*sources_[i]);
            current_ = i;
            co_return value;
        } catch (const Error& e) {
            if (!unavailable(e) || e.errc() == Errc::cancelled)
                throw;
            why = e.what();
        }
        reasons += (reasons.empty() ? "" : "; ") + sources_[i]->describe() + ": " + why;
        if (i + 1 < sources_.size() && notice_)
            notice_(sources_[i]->describe() + " is unavailable (" + why + "); trying mirror " +
                    sources_[i + 1]->describe());
    }
    fail(Errc::network, "no registry could serve it: " + reasons);
}

Task<Descriptor> FailoverTarget::resolve(std::string_view reference) {
    std::string ref(reference);
    co_return co_await first_available<Descriptor>(
        [&](ReadOnlyTarget& t) { return t.resolve(ref); });
}

Task<std::string> FailoverTarget::read_manifest(const Descriptor& desc) {
    co_return co_await first_available<std::string>(
        [&](ReadOnlyTarget& t) { return t.read_manifest(desc); });
}

Task<std::unique_ptr<BlobReader>> FailoverTarget::fetch(const Descriptor& desc,
                                                        std::uint64_t offset) {
    co_return co_await first_available<std::unique_ptr<BlobReader>>(
        [&](ReadOnlyTarget& t) { return t.fetch(desc, offset); });
}

} // namespace floe
