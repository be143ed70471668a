#!/usr/bin/env bash
# Installs everything Loom builds and tests with, from Debian's packages
# only. Used by the README's commands and by .ci/run. Idempotent: when
# every package is present it does nothing (no network).
set -euo pipefail
pkgs=(
  meson ninja-build pkg-config g++ python3
  libdpdk-dev dpdk dpdk-dev          # DPDK 22.11: libraries, testpmd, dpdk-telemetry.py
  libhyperscan-dev libtbb-dev node-llhttp libtomlplusplus-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  nlohmann-json3-dev                 # tests/ctl/telemetry_test: parses the telemetry replies
  nginx curl iproute2 ethtool jq procps sockperf  # end-to-end test peers and tools
  zlib1g-dev                         # gzip output parts
  libnids-dev tcpflow tshark time python3-matplotlib  # perf/: peers, timing, chart
  python3-scapy                      # tests/offline: crafted captures (hostile TCP, encapsulations)
  prometheus-cpp-dev prometheus      # /metrics endpoint, and a real scraper in the tests
  librdkafka-dev kcat                # Kafka output; the tests consume with kcat from librdkafka's mock cluster
  libssl-dev                         # libcrypto SHA-1/SHA-256
  python3-jsonschema                 # tests/kafka: records against docs/schema
  libsystemd-dev                     # Type=notify readiness
  clang                              # libFuzzer targets
  wrk apache2-utils                  # soak load
  debhelper dpkg-dev logrotate       # the Debian package and its logrotate file
  systemd man-db                     # the package test: systemd-analyze verify, systemd.pc, man -w
  expect                             # a pseudo-terminal for the progress test
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "installing: ${missing[*]}"
# Keep the nginx package from starting a system nginx on port 80: the
# end-to-end test runs its own inside a network namespace.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod +x "$policy"
  created_policy=1
fi
export DEBIAN_FRONTEND=noninteractive
# wireshark-common (pulled in by tshark) asks whether non-root users may
# capture; answer "no" up front so the install never waits on a question.
if printf '%s\n' "${missing[@]}" | grep -qx -e tshark -e wireshark-common; then
  echo 'wireshark-common wireshark-common/install-setuid boolean false' | $SUDO debconf-set-selections
fi
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
[ "$created_policy" -eq 0 ] || $SUDO rm -f "$policy"
