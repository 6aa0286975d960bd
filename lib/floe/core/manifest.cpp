// Manifest and index parsing over the raw bytes with simdjson's DOM, and their deterministic
// serialisation.
#include "floe/core/descriptor.hpp"
#include "floe/core/error.hpp"
#include "floe/core/json_writer.hpp"
#include "floe/core/media_types.hpp"

#include <simdjson.h>

namespace floe {
namespace {

using simdjson::dom::element;
using simdjson::dom::object;

[[noreturn]] void bad(const std::string& what) {
    fail(Errc::protocol, "malformed manifest: " + what);
}

std::string get_string(object obj, std::string_view key, bool required, std::string_view where) {
    std::string_view v;
    auto field = obj[key];
    if (field.error() == simdjson::NO_SUCH_FIELD) {
        if (required)
            bad(std::string(where) + " has no \"" + std::string(key) + "\"");
        return {};
    }
    if (field.get(v) != simdjson::SUCCESS)
        bad(std::string(where) + "." + std::string(key) + " is not a string");
    return std::string(v);
}

Annotations get_annotations(object obj, std::string_view where) {
    Annotations out;
    object ann;
    auto field = obj["annotations"];
    if (field.error() == simdjson::NO_SUCH_FIELD || field.is_null())
        return out;
    if (field.get(ann) != simdjson::SUCCESS)
        bad(std::string(where) + ".annotations is not an object");
    for (auto [k, v] : ann) {
        std::string_view s;
        if (v.get(s) != simdjson::SUCCESS)
            bad(std::string(where) + ".annotations[" + std::string(k) + "] is not a string");
        out.emplace(std::string(k), std::string(s));
    }
    return out;
}

Descriptor get_descriptor(element el, const std::string& where) {
    object obj;
    if (el.get(obj) != simdjson::SUCCESS)
        bad(where + " is not an object");
    Descriptor d;
    d.media_type = get_string(obj, "mediaType", true, where);
    auto digest = get_string(obj, "digest", true, where);
    if (!Digest::is_valid(digest))
        bad(where + ".digest '" + digest.substr(0, 80) + "' is not a valid digest");
    d.digest = Digest::parse(digest);
    std::int64_t size = -1;
    if (obj["size"].get(size) != simdjson::SUCCESS || size < 0)
        bad(where + ".size is missing or not a non-negative integer");
    d.size = static_cast<std::uint64_t>(size);
    d.artifact_type = get_string(obj, "artifactType", false, where);
    d.annotations = get_annotations(obj, where);
    return d;
}

object parse_root(simdjson::dom::parser& parser, std::string_view bytes) {
    if (bytes.size() > max_manifest_bytes)
        fail(Errc::too_large, "manifest is larger than 4 MiB; refusing to read it");
    object root;
    auto doc = parser.parse(bytes.data(), bytes.size());
    if (doc.error() != simdjson::SUCCESS)
        bad(std::string("not valid JSON (") + simdjson::error_message(doc.error()) + ")");
    if (doc.get(root) != simdjson::SUCCESS)
        bad("top level is not an object");
    std::int64_t schema = 0;
    if (root["schemaVersion"].get(schema) != simdjson::SUCCESS || schema != 2)
        bad("schemaVersion must be 2");
    return root;
}

std::optional<Descriptor> get_subject(object root) {
    auto s = root["subject"];
    if (s.error() == simdjson::NO_SUCH_FIELD)
        return std::nullopt;
    return get_descriptor(s.value_unsafe(), "subject");
}

void write_descriptor(json::Writer& w, const Descriptor& d) {
    w.begin_object();
    w.key("mediaType").value(d.media_type);
    w.key("digest").value(d.digest.str());
    w.key("size").value(d.size);
    if (!d.artifact_type.empty())
        w.key("artifactType").value(d.artifact_type);
    if (!d.annotations.empty()) {
        w.key("annotations").begin_object();
        for (auto& [k, v] : d.annotations)
            w.key(k).value(v);
        w.end_object();
    }
    w.end_object();
}

void write_annotations(json::Writer& w, const Annotations& a) {
    if (a.empty())
        return;
    w.key("annotations").begin_object();
    for (auto& [k, v] : a)
        w.key(k).value(v);
    w.end_object();
}

} // namespace

std::string Descriptor::title() const {
    return annotation(annotation::title);
}

Descriptor empty_config_descriptor() {
    Descriptor d;
    d.media_type = std::string(media_type::empty_json);
    d.digest =
        Digest::parse("sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
    d.size = 2;
    return d;
}

Manifest parse_manifest(std::string_view bytes) {
    simdjson::dom::parser parser;
    object root = parse_root(parser, bytes);
    Manifest m;
    m.media_type = get_string(root, "mediaType", false, "manifest");
    if (!m.media_type.empty() && !media_type::is_manifest(m.media_type))
        bad("mediaType '" + m.media_type + "' is not an image manifest");
    m.artifact_type = get_string(root, "artifactType", false, "manifest");
    // A document that is both a manifest and an index means different things to different
    // clients (CVE-2021-41190): refused.
    if (root["manifests"].error() != simdjson::NO_SUCH_FIELD)
        bad("manifest also has \"manifests\"; ambiguous document refused");
    auto config = root["config"];
    if (config.error() == simdjson::NO_SUCH_FIELD)
        bad("manifest has no \"config\"");
    m.config = get_descriptor(config.value_unsafe(), "config");
    simdjson::dom::array layers;
    auto lf = root["layers"];
    if (lf.error() != simdjson::NO_SUCH_FIELD) {
        if (lf.get(layers) != simdjson::SUCCESS)
            bad("layers is not an array");
        std::size_t i = 0;
        for (auto el : layers)
            m.layers.push_back(get_descriptor(el, "layers[" + std::to_string(i++) + "]"));
    }
    m.subject = get_subject(root);
    m.annotations = get_annotations(root, "manifest");
    return m;
}

Index parse_index(std::string_view bytes) {
    simdjson::dom::parser parser;
    object root = parse_root(parser, bytes);
    Index idx;
    idx.media_type = get_string(root, "mediaType", false, "index");
    if (!idx.media_type.empty() && !media_type::is_index(idx.media_type))
        bad("mediaType '" + idx.media_type + "' is not an image index");
    idx.artifact_type = get_string(root, "artifactType", false, "index");
    if (root["config"].error() != simdjson::NO_SUCH_FIELD ||
        root["layers"].error() != simdjson::NO_SUCH_FIELD)
        bad("index also has \"config\" or \"layers\"; ambiguous document refused");
    simdjson::dom::array list;
    auto mf = root["manifests"];
    if (mf.error() == simdjson::NO_SUCH_FIELD || mf.get(list) != simdjson::SUCCESS)
        bad("index has no \"manifests\" array");
    std::size_t i = 0;
    for (auto el : list)
        idx.manifests.push_back(get_descriptor(el, "manifests[" + std::to_string(i++) + "]"));
    idx.subject = get_subject(root);
    idx.annotations = get_annotations(root, "index");
    return idx;
}

std::string sniff_media_type(std::string_view bytes) {
    simdjson::dom::parser parser;
    object root = parse_root(parser, bytes);
    auto mt = get_string(root, "mediaType", false, "document");
    if (!mt.empty())
        return mt;
    // Documents without mediaType: an index has "manifests", a manifest has "config"; one
    // with both is neither.
    bool has_manifests = root["manifests"].error() == simdjson::SUCCESS;
    bool has_config = root["config"].error() == simdjson::SUCCESS;
    if (has_manifests && !has_config)
        return std::string(media_type::oci_index);
    if (has_config && !has_manifests)
        return std::string(media_type::oci_manifest);
    return {};
}

std::string serialize(const Manifest& m) {
    json::Writer w;
    w.begin_object();
    w.key("schemaVersion").value(2);
    w.key("mediaType").value(m.media_type.empty() ? media_type::oci_manifest : m.media_type);
    if (!m.artifact_type.empty())
        w.key("artifactType").value(m.artifact_type);
    w.key("config");
    write_descriptor(w, m.config);
    w.key("layers").begin_array();
    for (auto& l : m.layers)
        write_descriptor(w, l);
    w.end_array();
    if (m.subject) {
        w.key("subject");
        write_descriptor(w, *m.subject);
    }
    write_annotations(w, m.annotations);
    w.end_object();
    return w.take();
}

std::string serialize(const Index& idx) {
    json::Writer w;
    w.begin_object();
    w.key("schemaVersion").value(2);
    w.key("mediaType").value(idx.media_type.empty() ? media_type::oci_index : idx.media_type);
    if (!idx.artifact_type.empty())
        w.key("artifactType").value(idx.artifact_type);
    w.key("manifests").begin_array();
    for (auto& d : idx.manifests)
        write_descriptor(w, d);
    w.end_array();
    if (idx.subject) {
        w.key("subject");
        write_descriptor(w, *idx.subject);
    }
    write_annotations(w, idx.annotations);
    w.end_object();
    return w.take();
}

} // namespace floe
