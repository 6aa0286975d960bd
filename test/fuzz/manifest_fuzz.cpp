// Fuzzes the manifest and index parsers (floe::parse_manifest, parse_index, sniff_media_type)
// with the raw document bytes.
//
// Invariants (abort on violation):
//  - each either returns or throws floe::Error (protocol, or too_large over 4 MiB);
//  - every descriptor of a parsed document has a valid digest;
//  - round trip: for a document that parses, serialize() parses again to an equal value, and
//    serialising that gives the same bytes. The one normalisation serialize() documents by
//    construction is taken into account: an absent mediaType is written as the OCI default;
//  - sniff_media_type of a document with a mediaType returns it; of a serialised manifest or
//    index returns its mediaType.
#include "fuzz_check.hpp"

#include "floe/core/descriptor.hpp"
#include "floe/core/error.hpp"
#include "floe/core/media_types.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

using floe_fuzz::printable;

namespace {

bool same(const floe::Manifest& a, const floe::Manifest& b) {
    auto mt = [](const std::string& s) {
        return s.empty() ? std::string(floe::media_type::oci_manifest) : s;
    };
    return mt(a.media_type) == mt(b.media_type) && a.artifact_type == b.artifact_type &&
           a.config == b.config && a.layers == b.layers && a.subject == b.subject &&
           a.annotations == b.annotations;
}

bool same(const floe::Index& a, const floe::Index& b) {
    auto mt = [](const std::string& s) {
        return s.empty() ? std::string(floe::media_type::oci_index) : s;
    };
    return mt(a.media_type) == mt(b.media_type) && a.artifact_type == b.artifact_type &&
           a.manifests == b.manifests && a.subject == b.subject && a.annotations == b.annotations;
}

void check_error(const floe::Error& e, std::string_view input) {
    FUZZ_CHECK(e.errc() == floe::Errc::protocol || e.errc() == floe::Errc::too_large,
               "unexpected error kind for '" + printable(input) + "': " + e.what());
}

void check_descriptor(const floe::Descriptor& d, std::string_view input) {
    FUZZ_CHECK(floe::Digest::is_valid(d.digest.str()),
               "descriptor digest '" + printable(d.digest.str()) + "' from " + printable(input));
}

template <class Doc, class Parse>
void round_trip(const Doc& doc, Parse parse, std::string_view input, const char* what) {
    const std::string text = floe::serialize(doc);
    Doc again;
    try {
        again = parse(text);
    } catch (const floe::Error& e) {
        FUZZ_CHECK(false, std::string(what) + " serialised from '" + printable(input) +
                              "' does not parse: '" + printable(text) + "': " + e.what());
    }
    FUZZ_CHECK(same(doc, again), std::string(what) + " changed in a round trip: input '" +
                                     printable(input) + "' serialised '" + printable(text) + "'");
    const std::string text2 = floe::serialize(again);
    FUZZ_CHECK(text2 == text, std::string(what) + " serialisation is not stable: '" +
                                  printable(text) + "' then '" + printable(text2) + "'");
    std::string sniffed;
    try {
        sniffed = floe::sniff_media_type(text);
    } catch (const floe::Error& e) {
        FUZZ_CHECK(false,
                   "sniff_media_type refused a serialised " + std::string(what) + ": " + e.what());
    }
    FUZZ_CHECK(sniffed == again.media_type,
               "sniffed '" + printable(sniffed) + "' from '" + printable(text) + "'");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view bytes(reinterpret_cast<const char*>(data), size);

    std::optional<std::string> sniffed;
    try {
        sniffed = floe::sniff_media_type(bytes);
    } catch (const floe::Error& e) {
        check_error(e, bytes);
    }

    try {
        auto m = floe::parse_manifest(bytes);
        check_descriptor(m.config, bytes);
        for (auto& l : m.layers)
            check_descriptor(l, bytes);
        if (m.subject)
            check_descriptor(*m.subject, bytes);
        FUZZ_CHECK(sniffed.has_value(),
                   "sniff refused what parse_manifest accepted: " + printable(bytes));
        if (!m.media_type.empty())
            FUZZ_CHECK(*sniffed == m.media_type, "sniffed '" + printable(*sniffed) + "' for '" +
                                                     printable(m.media_type) + "'");
        round_trip(
            m, [](std::string_view t) { return floe::parse_manifest(t); }, bytes, "manifest");
    } catch (const floe::Error& e) {
        check_error(e, bytes);
    }

    try {
        auto idx = floe::parse_index(bytes);
        for (auto& d : idx.manifests)
            check_descriptor(d, bytes);
        if (idx.subject)
            check_descriptor(*idx.subject, bytes);
        FUZZ_CHECK(sniffed.has_value(),
                   "sniff refused what parse_index accepted: " + printable(bytes));
        if (!idx.media_type.empty())
            FUZZ_CHECK(*sniffed == idx.media_type, "sniffed '" + printable(*sniffed) + "' for '" +
                                                       printable(idx.media_type) + "'");
        round_trip(
            idx, [](std::string_view t) { return floe::parse_index(t); }, bytes, "index");
    } catch (const floe::Error& e) {
        check_error(e, bytes);
    }
    return 0;
}
