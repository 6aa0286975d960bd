// A source with mirrors: reads from the first of several copies of one repository that answers
// (a registry and its disaster-recovery mirrors). It moves on when a registry cannot be reached,
// times out, answers 5xx or has its circuit open; never on an answer that is about the content
// (401/403/404, a digest mismatch): a mirror must not hide what the primary said. Once one has
// failed, later reads start at the one that worked. Every byte is verified by the copy engine
// the same way whichever registry served it.
#pragma once

#include "floe/core/error.hpp"
#include "floe/target/target.hpp"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace floe {

class FailoverTarget final : public ReadOnlyTarget {
  public:
    // `sources`: the primary first, then the mirrors in priority order. `notice` gets one line
    // each time a registry is given up for the next.
    FailoverTarget(std::vector<std::unique_ptr<ReadOnlyTarget>> sources,
                   std::function<void(const std::string&)> notice = {});

    std::string describe() const override { return sources_[current_]->describe(); }
    Task<Descriptor> resolve(std::string_view reference) override;
    Task<std::string> read_manifest(const Descriptor& desc) override;
    Task<std::unique_ptr<BlobReader>> fetch(const Descriptor& desc,
                                            std::uint64_t offset = 0) override;

    // The registry that served the last read ("host/repository"), and whether it is a mirror.
    std::string served_by() const { return describe(); }
    bool on_mirror() const { return current_ > 0; }

    // Whether an error is the registry being unavailable rather than an answer about content.
    static bool unavailable(const Error& e);

  private:
    template <class T, class Read>
    Task<T> first_available(Read read);

    std::vector<std::unique_ptr<ReadOnlyTarget>> sources_;
    std::function<void(const std::string&)> notice_;
    std::size_t current_ = 0;
};

} // namespace floe
