#!/usr/bin/env bash
# Runs every test: the doctest unit tests and the library example (meson test), the installed
# library and its pkg-config file, and the integration suite (pytest), which starts real
# docker-registry instances on 127.0.0.1 (anonymous, Basic, token, TLS) and talks to them with
# floe and skopeo. Ends with one "N passed, N failed" line; a run that ran nothing fails.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

scripts/install-deps.sh
scripts/build.sh

echo "== unit tests and library example"
meson test -C build --print-errorlogs --no-rebuild
unit_line=$(grep -E "^\[doctest\] test cases:" build/meson-logs/testlog.txt | tail -1)
unit_passed=$(sed -E 's/.*\| *([0-9]+) passed.*/\1/' <<<"$unit_line")
unit_failed=$(sed -E 's/.*\| *([0-9]+) failed.*/\1/' <<<"$unit_line")
meson_ok=$(grep -cE "^ *[0-9]+/[0-9]+ .* OK " build/meson-logs/testlog.txt || true)

echo "== installed library: headers, static library and pkg-config are enough to build against"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
meson install -C build --destdir "$stage" --no-rebuild >/dev/null
pc_dir=$(dirname "$(find "$stage" -name floe-oci.pc | head -1)")
g++ -std=c++20 -O1 examples/api/push_pull.cpp -o "$stage/push_pull" \
    $(PKG_CONFIG_PATH="$pc_dir" pkg-config --define-variable=prefix="$stage/usr/local" --cflags --libs floe-oci)
mkdir -p "$stage/work"
"$stage/push_pull" examples/sales-insights/target/compiled_artifacts.json "$stage/work" >/dev/null
if grep -rl "boost/beast" "$stage"/usr/local/include/floe >/dev/null 2>&1; then
  echo "public headers must not include Beast" >&2
  exit 1
fi
install_passed=1

echo "== integration tests (real registries on 127.0.0.1, skopeo)"
FLOE_BIN="$root/build/app/floe" /usr/bin/python3 -m pytest -q -p no:cacheprovider \
    --junitxml="$root/build/integration.xml" test/integration
read -r it_tests it_failures it_errors it_skipped < <(/usr/bin/python3 - "$root/build/integration.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
s = ET.parse(sys.argv[1]).getroot()
s = s if s.tag == "testsuite" else s.find("testsuite")
print(s.get("tests"), s.get("failures"), s.get("errors"), s.get("skipped"))
PY
)
it_passed=$((it_tests - it_failures - it_errors - it_skipped))

passed=$((unit_passed + meson_ok - 1 + install_passed + it_passed))
failed=$((unit_failed + it_failures + it_errors))
if ((unit_passed == 0 || it_passed == 0)); then
  echo "no tests ran: unit=$unit_passed integration=$it_passed" >&2
  exit 1
fi
echo "unit: $unit_passed test cases; integration: $it_passed; other checks: $((meson_ok - 1 + install_passed))"
echo "$passed passed, $failed failed, $it_skipped skipped"
((failed == 0))
