#!/usr/bin/env bash
# The main job on the embedded default, no server needed: push the example data product into a
# local OCI image layout, inspect it, pull it back, and check the bytes are the same.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh >/dev/null

floe=build/app/floe
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== push examples/sales-insights into ocidir://$work/store:1.4.0"
(cd examples/sales-insights && "../../$floe" artifact push "ocidir://$work/store:1.4.0" \
    target/compiled_artifacts.json --annotation team=analytics)
echo "== inspect"
"$floe" artifact inspect "ocidir://$work/store:1.4.0"
echo "== pull into $work/pulled"
"$floe" artifact pull "ocidir://$work/store:1.4.0" -o "$work/pulled"
cmp examples/sales-insights/target/compiled_artifacts.json "$work/pulled/compiled_artifacts.json"
echo "== ok: pulled bytes are identical to the pushed file"
