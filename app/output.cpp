#include "output.hpp"

#include "floe/core/json_writer.hpp"
#include "floe/core/printable.hpp"

#include <fmt/format.h>

namespace floe::cli {
namespace {

void write_descriptor(json::Writer& w, const Descriptor& d) {
    w.begin_object();
    w.key("mediaType").value(d.media_type);
    w.key("digest").value(d.digest.str());
    w.key("size").value(d.size);
    if (!d.artifact_type.empty())
        w.key("artifactType").value(d.artifact_type);
    if (auto t = d.title(); !t.empty())
        w.key("title").value(t);
    if (!d.annotations.empty()) {
        w.key("annotations").begin_object();
        for (auto& [k, v] : d.annotations)
            w.key(k).value(v);
        w.end_object();
    }
    w.end_object();
}

std::string short_digest(const Digest& d) {
    return d.str().substr(0, 19);
}

} // namespace

std::string scrub_lines(std::string_view text) {
    std::string out;
    while (!text.empty()) {
        auto nl = text.find('\n');
        out += scrub(text.substr(0, nl));
        if (nl == std::string_view::npos)
            break;
        out += '\n';
        text.remove_prefix(nl + 1);
    }
    return out;
}

std::string request_line(const RequestEvent& e) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(e.time_to_first_byte).count();
    std::string line = fmt::format("{} {} -> ", e.method, e.url);
    line += e.status ? std::to_string(e.status) : "no answer (" + e.error + ")";
    line += fmt::format(" ({} ms{}{})", ms, e.reused_connection ? ", reused" : "",
                        e.attempt > 1 ? fmt::format(", attempt {}", e.attempt) : "");
    return line;
}

std::string human_size(std::uint64_t bytes) {
    static constexpr const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(bytes);
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        ++u;
    }
    return u == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", v, units[u]);
}

std::string inspect_text(const Reference& ref, const InspectResult& r) {
    std::string out;
    auto row = [&](std::string_view k, std::string_view v) {
        if (!v.empty())
            out += fmt::format("{:<15}{}\n", k, v);
    };
    row("Reference:", ref.str());
    row("Digest:", r.descriptor.digest.str());
    row("Media type:", r.descriptor.media_type);
    row("Size:", human_size(r.descriptor.size));
    const Annotations* annotations = nullptr;
    if (r.manifest) {
        row("Artifact type:", r.manifest->artifact_type);
        annotations = &r.manifest->annotations;
    } else if (r.index) {
        row("Artifact type:", r.index->artifact_type);
        annotations = &r.index->annotations;
    }
    if (annotations && !annotations->empty()) {
        out += "Annotations:\n";
        std::size_t width = 0;
        for (auto& [k, v] : *annotations)
            width = std::max(width, k.size());
        for (auto& [k, v] : *annotations)
            out += fmt::format("  {:<{}}  {}\n", k, width, v);
    }
    if (r.manifest) {
        std::uint64_t total = 0;
        for (auto& l : r.manifest->layers)
            total += l.size;
        out += fmt::format("Layers ({}, {}):\n", r.manifest->layers.size(), human_size(total));
        std::size_t width = 7;
        for (auto& l : r.manifest->layers)
            width = std::max(width, l.title().size());
        for (auto& l : r.manifest->layers) {
            auto title = l.title().empty() ? std::string("(untitled)") : l.title();
            out += fmt::format("  {:<{}}  {:>10}  {}  {}\n", title, width, human_size(l.size),
                               short_digest(l.digest), l.media_type);
        }
    } else if (r.index) {
        out += fmt::format("Manifests ({}):\n", r.index->manifests.size());
        for (auto& m : r.index->manifests)
            out +=
                fmt::format("  {}  {:>10}  {}\n", m.digest.str(), human_size(m.size), m.media_type);
    }
    return out;
}

std::string inspect_json(const Reference& ref, const InspectResult& r) {
    json::Writer w;
    w.begin_object();
    w.key("reference").value(ref.str());
    w.key("digest").value(r.descriptor.digest.str());
    w.key("mediaType").value(r.descriptor.media_type);
    w.key("size").value(r.descriptor.size);
    if (r.manifest) {
        w.key("artifactType").value(r.manifest->artifact_type);
        w.key("config");
        write_descriptor(w, r.manifest->config);
        w.key("layers").begin_array();
        for (auto& l : r.manifest->layers)
            write_descriptor(w, l);
        w.end_array();
        w.key("annotations").begin_object();
        for (auto& [k, v] : r.manifest->annotations)
            w.key(k).value(v);
        w.end_object();
    } else if (r.index) {
        w.key("artifactType").value(r.index->artifact_type);
        w.key("manifests").begin_array();
        for (auto& m : r.index->manifests)
            write_descriptor(w, m);
        w.end_array();
        w.key("annotations").begin_object();
        for (auto& [k, v] : r.index->annotations)
            w.key(k).value(v);
        w.end_object();
    }
    w.end_object();
    return w.take() + "\n";
}

std::string push_json(const Reference& ref, const PushResult& r) {
    json::Writer w;
    w.begin_object();
    w.key("reference").value(ref.str());
    w.key("tag").value(r.tag);
    w.key("tags").begin_array();
    for (auto& t : r.tags)
        w.value(t);
    w.end_array();
    w.key("unchanged").value(r.unchanged);
    w.key("digest").value(r.manifest.digest.str());
    w.key("mediaType").value(r.manifest.media_type);
    w.key("size").value(r.manifest.size);
    w.key("blobsPushed").value(r.blobs_pushed);
    w.key("blobsSkipped").value(r.blobs_skipped);
    w.key("bytesPushed").value(r.bytes_pushed);
    w.end_object();
    return w.take() + "\n";
}

std::string pull_text(const PullResult& r) {
    std::string out;
    for (auto& item : r.items)
        out += fmt::format("{}{}  {}\n", item.path.string(), item.directory ? "/" : "",
                           human_size(item.layer.size));
    return out;
}

std::string pull_json(const Reference& ref, const PullResult& r) {
    json::Writer w;
    w.begin_object();
    w.key("reference").value(ref.str());
    w.key("digest").value(r.manifest.digest.str());
    w.key("servedBy").value(r.served_by);
    w.key("fromMirror").value(r.from_mirror);
    w.key("files").begin_array();
    for (auto& item : r.items) {
        w.begin_object();
        w.key("title").value(item.title);
        w.key("path").value(item.path.string());
        w.key("directory").value(item.directory);
        w.key("digest").value(item.layer.digest.str());
        w.key("size").value(item.layer.size);
        w.end_object();
    }
    w.end_array();
    w.key("skippedLayers").value(static_cast<std::uint64_t>(r.skipped_layers.size()));
    w.end_object();
    return w.take() + "\n";
}

std::string copy_json(const Reference& from, const Reference& to, const CopyResult& r) {
    json::Writer w;
    w.begin_object();
    w.key("source").value(from.str());
    w.key("destination").value(to.str());
    w.key("digest").value(r.manifest.digest.str());
    w.key("blobsCopied").value(r.blobs_copied);
    w.key("blobsSkipped").value(r.blobs_skipped);
    w.key("bytesCopied").value(r.bytes_copied);
    w.end_object();
    return w.take() + "\n";
}

std::string tags_text(const std::vector<TagInfo>& tags) {
    std::string out;
    for (auto& t : tags)
        out += t.manifest ? fmt::format("{}  {}  {}\n", t.tag, t.manifest->digest.str(),
                                        t.manifest->media_type)
                          : t.tag + "\n";
    return out;
}

std::string tags_json(const std::vector<TagInfo>& tags) {
    json::Writer w;
    w.begin_array();
    for (auto& t : tags) {
        w.begin_object();
        w.key("tag").value(t.tag);
        if (t.manifest) {
            w.key("digest").value(t.manifest->digest.str());
            w.key("mediaType").value(t.manifest->media_type);
            w.key("size").value(t.manifest->size);
        }
        w.end_object();
    }
    w.end_array();
    return w.take() + "\n";
}

std::string tag_json(const TagResult& r) {
    json::Writer w;
    w.begin_object();
    w.key("digest").value(r.manifest.digest.str());
    for (auto [key, list] : {std::pair{"tagged", &r.tagged}, std::pair{"unchanged", &r.unchanged},
                             std::pair{"movedReleases", &r.moved_releases}}) {
        w.key(key).begin_array();
        for (auto& t : *list)
            w.value(t);
        w.end_array();
    }
    w.end_object();
    return w.take() + "\n";
}

std::string referrers_text(const ReferrersResult& r) {
    std::string out;
    for (auto& d : r.referrers)
        out += fmt::format("{}  {}  {}\n", d.digest.str(),
                           d.artifact_type.empty() ? "-" : d.artifact_type, human_size(d.size));
    return out;
}

std::string referrers_json(const ReferrersResult& r) {
    json::Writer w;
    w.begin_object();
    w.key("subject").value(r.subject.digest.str());
    w.key("referrers").begin_array();
    for (auto& d : r.referrers)
        write_descriptor(w, d);
    w.end_array();
    w.end_object();
    return w.take() + "\n";
}

std::string mirror_text(const MirrorResult& r) {
    std::string out;
    for (auto& t : r.tags) {
        if (t.error != Errc::ok)
            out += fmt::format("failed     {} -> {}\n", t.source, t.destination);
        else if (t.copied)
            out += fmt::format("copied     {} -> {} {} ({})\n", t.source, t.destination,
                               short_digest(t.manifest.digest), human_size(t.bytes_copied));
        else
            out += fmt::format("unchanged  {} -> {} {}\n", t.source, t.destination,
                               short_digest(t.manifest.digest));
    }
    return out;
}

std::string mirror_json(const MirrorResult& r) {
    json::Writer w;
    w.begin_array();
    for (auto& t : r.tags) {
        w.begin_object();
        w.key("source").value(t.source);
        w.key("destination").value(t.destination);
        w.key("status").value(t.error != Errc::ok ? "failed" : t.copied ? "copied" : "unchanged");
        if (t.error == Errc::ok)
            w.key("digest").value(t.manifest.digest.str());
        w.key("bytesCopied").value(t.bytes_copied);
        if (t.error != Errc::ok)
            w.key("error").value(t.message);
        w.end_object();
    }
    w.end_array();
    return w.take() + "\n";
}

std::string credential_text(const CredentialInfo& info) {
    if (info.kind == "anonymous")
        return fmt::format("registry  {}\nsource    none (anonymous)\n", info.registry);
    // printable(): a helper's user name or a file name could hold a line break of its own.
    return fmt::format("registry  {}\nsource    {}\nusername  {}\nkind      {}\n",
                       printable(info.registry), printable(info.source),
                       info.username.empty() ? "-" : printable(info.username), info.kind);
}

std::string credential_json(const CredentialInfo& info) {
    json::Writer w;
    w.begin_object();
    w.key("registry").value(info.registry);
    w.key("source").value(info.source);
    w.key("username").value(info.username);
    w.key("kind").value(info.kind);
    w.end_object();
    return w.take() + "\n";
}

} // namespace floe::cli
