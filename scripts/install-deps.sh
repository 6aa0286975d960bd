#!/usr/bin/env bash
# Installs what floe-oci needs to build and test, from Debian's packages. Idempotent: skips
# apt entirely when everything is already there.
set -euo pipefail

packages=(
  g++ meson ninja-build pkg-config
  libboost1.81-dev libssl-dev libsimdjson-dev libfmt-dev doctest-dev libzstd-dev
  libcli11-dev libarchive-dev libyaml-cpp-dev
  # tests: a real registry, a peer client, TLS tooling, the test runner
  docker-registry skopeo openssl apache2-utils curl python3 python3-pytest python3-pytest-xdist
  # fuzzing: Debian's clang with its libFuzzer runtime
  clang-14 libclang-rt-14-dev llvm-14
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
