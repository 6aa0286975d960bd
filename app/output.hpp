// How results look: a table for people, JSON for machines.
#pragma once

#include "floe/client.hpp"

#include <string>

namespace floe::cli {

std::string human_size(std::uint64_t bytes);
// Text for a terminal, line by line through scrub(): what a registry sent (titles, annotations,
// media types) cannot move the cursor, forge lines or show a secret.
std::string scrub_lines(std::string_view text);
// One -v line per HTTP exchange: "GET https://host/v2/... -> 200 (12 ms, reused)".
std::string request_line(const RequestEvent& e);

std::string inspect_text(const Reference& ref, const InspectResult& r);
std::string inspect_json(const Reference& ref, const InspectResult& r);
std::string push_json(const Reference& ref, const PushResult& r);
std::string pull_text(const PullResult& r);
std::string pull_json(const Reference& ref, const PullResult& r);
std::string credential_text(const CredentialInfo& info);
std::string credential_json(const CredentialInfo& info);
// One tag per line (with --digests: tag, digest, media type); JSON: an array of objects.
std::string tags_text(const std::vector<TagInfo>& tags);
std::string tags_json(const std::vector<TagInfo>& tags);
std::string tag_json(const TagResult& r);
// One line per referrer: digest, artifact type, size; JSON: the subject and the descriptors.
std::string referrers_text(const ReferrersResult& r);
std::string referrers_json(const ReferrersResult& r);
// One line per tag and mirror: copied, unchanged or failed (the reasons go to stderr).
std::string mirror_text(const MirrorResult& r);
std::string mirror_json(const MirrorResult& r);
std::string copy_json(const Reference& from, const Reference& to, const CopyResult& r);

} // namespace floe::cli
