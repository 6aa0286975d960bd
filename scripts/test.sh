#!/usr/bin/env bash
# Runs every test: the doctest unit tests and the library example (meson test), the installed
# library and its pkg-config file, the integration suite (pytest), which starts real
# docker-registry instances on 127.0.0.1 (anonymous, Basic, token, TLS), fake hostile registries
# and a fault-injecting proxy and talks to them with floe and skopeo, the same again under
# ASan/UBSan (without the long fault campaigns), and the libFuzzer targets (FUZZ_SECONDS each,
# 20 by default). Ends with one "N passed, N failed" line; a run that ran nothing fails.
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
example_passed=$(grep -c '"name": "api-example".*"result": "OK"' build/meson-logs/testlog.json || true)

echo "== installed library: headers, shared library and pkg-config are enough to build against"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
meson install -C build --destdir "$stage" --no-rebuild >/dev/null
pc_dir=$(dirname "$(find "$stage" -name floe-oci.pc | head -1)")
floe_pc() { PKG_CONFIG_PATH="$pc_dir" pkg-config --define-variable=prefix="$stage/usr/local" "$@" floe-oci; }
rpath="-Wl,-rpath,$(floe_pc --variable=libdir)"
g++ -std=c++20 -O1 examples/api/push_pull.cpp -o "$stage/push_pull" $(floe_pc --cflags --libs) "$rpath"
mkdir -p "$stage/work" "$stage/work-asio"
"$stage/push_pull" examples/sales-insights/target/compiled_artifacts.json "$stage/work" >/dev/null
if grep -rl "boost/beast" "$stage"/usr/local/include/floe >/dev/null 2>&1; then
  echo "public headers must not include Beast" >&2
  exit 1
fi
# A program that compiles Asio itself (BOOST_ASIO_SEPARATE_COMPILATION and its own src.hpp) links
# and runs with floe: floe's compiled Asio must stay inside the library. -O0, both files at once.
asio_flags=(-std=c++20 -O0 -DBOOST_ASIO_SEPARATE_COMPILATION)
g++ "${asio_flags[@]}" -c test/install/asio_src.cpp -o "$stage/asio_src.o" &
asio_src_pid=$!
g++ "${asio_flags[@]}" -c test/install/asio_consumer.cpp -o "$stage/asio_consumer.o" $(floe_pc --cflags)
wait "$asio_src_pid"
g++ "$stage/asio_consumer.o" "$stage/asio_src.o" -o "$stage/asio_consumer" $(floe_pc --libs) \
    "$rpath" -pthread
"$stage/asio_consumer" examples/sales-insights/target/compiled_artifacts.json "$stage/work-asio" >/dev/null
install_passed=1

# Integration suite: pytest against real registries; prints "tests failures errors skipped".
integration() {
  local floe_bin=$1 report=$2
  shift 2
  # Two workers, a file each at a time (a file's registries and fixtures stay together): most
  # of the suite waits on sockets, retries and timeouts, so this halves its time on 2 cores.
  FLOE_BIN="$floe_bin" /usr/bin/python3 -m pytest -q -p no:cacheprovider -n 2 --dist loadfile \
      --junitxml="$report" "$@" test/integration >&2 || true
  /usr/bin/python3 - "$report" <<'PY'
import sys, xml.etree.ElementTree as ET
s = ET.parse(sys.argv[1]).getroot()
s = s if s.tag == "testsuite" else s.find("testsuite")
print(s.get("tests"), s.get("failures"), s.get("errors"), s.get("skipped"))
PY
}

echo "== integration tests (real registries on 127.0.0.1, skopeo)"
read -r it_tests it_failures it_errors it_skipped < <(integration "$root/build/app/floe" "$root/build/integration.xml")
it_passed=$((it_tests - it_failures - it_errors - it_skipped))

echo "== the same under AddressSanitizer and UndefinedBehaviorSanitizer"
[[ -f build-asan/build.ninja ]] || meson setup build-asan --buildtype=debug \
    -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
ninja -C build-asan >/dev/null
export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
san_unit=$(build-asan/test/unit/unit-tests --force-colors=0 | grep -E "^\[doctest\] test cases:" || true)
san_unit_passed=$(sed -E 's/.*\| *([0-9]+) passed.*/\1/' <<<"${san_unit:-| 0 passed | 1 failed}")
san_unit_failed=$(sed -E 's/.*\| *([0-9]+) failed.*/\1/' <<<"${san_unit:-| 0 passed | 1 failed}")
read -r san_tests san_failures san_errors san_skipped < <(integration "$root/build-asan/app/floe" "$root/build/integration-asan.xml" -m "not heavy")
san_passed=$((san_tests - san_failures - san_errors - san_skipped))
unset ASAN_OPTIONS UBSAN_OPTIONS

echo "== libFuzzer targets (${FUZZ_SECONDS:-20} s each)"
fuzz_log="$root/build/fuzz.log"
fuzz_passed=0 fuzz_failed=0
if test/fuzz/run.sh "$(mktemp -d)" >"$fuzz_log" 2>&1; then :; fi
grep -E "^fuzz " "$fuzz_log" || true
fuzz_passed=$(grep -cE "^fuzz [a-z_]+: [0-9]+ executions, 0 crashes" "$fuzz_log" || true)
fuzz_targets=$(ls test/fuzz/*_fuzz.cpp | wc -l)
if ((fuzz_passed != fuzz_targets)); then
  tail -30 "$fuzz_log" >&2
  fuzz_failed=$((fuzz_targets - fuzz_passed))
fi

checks=$((example_passed + install_passed + fuzz_passed))
passed=$((unit_passed + it_passed + san_unit_passed + san_passed + checks))
failed=$((unit_failed + it_failures + it_errors + san_unit_failed + san_failures + san_errors + fuzz_failed))
skipped=$((it_skipped + san_skipped))
if ((unit_passed == 0 || it_passed == 0 || san_unit_passed == 0 || san_passed == 0)); then
  echo "no tests ran: unit=$unit_passed integration=$it_passed sanitized=$san_unit_passed/$san_passed" >&2
  exit 1
fi
echo "unit: $unit_passed test cases; integration: $it_passed; under sanitizers: $san_unit_passed + $san_passed; other checks: $checks"
echo "$passed passed, $failed failed, $skipped skipped"
((failed == 0))
