#!/usr/bin/env bash
# The Debian package, built from this tree and installed on this machine:
#   - debian/rules binary (what dpkg-buildpackage -b runs, minus the
#     source checks) builds loom_*.deb; its meson directory build-deb is
#     kept, so a rebuild is incremental; no tests or benchmarks inside
#   - the package holds the binary, loom-setup, the unit, the logrotate
#     file, the man page and the example startup files
#   - dpkg -i installs it; the installed loom --version and --check-config
#     on every installed example work; systemd-analyze verify passes on
#     the installed loom@.service; the installed logrotate file parses
#   - loom-setup on fake sysfs trees: refuses without an IOMMU or without
#     vfio-pci (naming the fix), plans the vfio-pci binding and the
#     hugepage reservation when they are there, leaves mlx5 ports alone
# The package is purged at the end. Root only (dpkg -i).
# Usage: tests/pkg/deb_test.sh
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
pass=0 fail=0
check() {  # check NAME OK(0/1) DETAIL
  if [ "$2" -eq 0 ]; then pass=$((pass + 1)); echo "PASS: $1 ${3:+($3)}"; else
    fail=$((fail + 1)); echo "FAIL: $1 ${3:+($3)}"; fi
}
finish() { echo "deb: $pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit $?; }
if [ "$(id -u)" -ne 0 ]; then echo "SKIP: needs root (dpkg -i)"; echo "deb: 0 passed, 0 failed"; exit 77; fi
tmp=$(mktemp -d /tmp/loom-deb.XXXXXX)
installed=0
cleanup() {
  [ "$installed" -eq 1 ] && flock /tmp/loom-apt.lock dpkg --purge loom >/dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT

echo "== building the package"
dpkg-checkbuilddeps >"$tmp/deps.log" 2>&1
check "build dependencies installed (dpkg-checkbuilddeps)" $? "$(tail -1 "$tmp/deps.log")"
version=$(dpkg-parsechangelog -S Version)
# dh skips the steps its logs say are done: forget them (not build-deb,
# whose ninja rebuilds only what changed), so the package is of this tree.
rm -rf debian/.debhelper debian/loom debian/files debian/*.substvars debian/*.debhelper.log \
  debian/debhelper-build-stamp
LOOM_DEB_DESTDIR=$tmp DEB_BUILD_OPTIONS="parallel=$(nproc) noautodbgsym nocheck" \
  flock /tmp/loom-build.lock debian/rules binary >"$tmp/build.log" 2>&1
rc=$?
[ $rc -eq 0 ] || tail -30 "$tmp/build.log"
deb=$tmp/loom_${version}_amd64.deb
check "debian/rules binary builds $(basename "$deb")" "$([ $rc -eq 0 ] && [ -f "$deb" ]; echo $?)"
[ -f "$deb" ] || finish
dpkg-deb -c "$deb" | awk '{print $NF}' | sed 's|^\./|/|' >"$tmp/contents"
for f in /usr/sbin/loom /usr/sbin/loom-setup /lib/systemd/system/loom@.service /etc/logrotate.d/loom \
         /usr/share/man/man8/loom.8.gz /usr/share/loom/examples/af-packet-lab.toml \
         /usr/share/loom/examples/intel-ice-inline.toml /usr/share/loom/examples/mlx5-passive.toml \
         /usr/share/loom/grafana/loom.json \
         /etc/loom/; do
  grep -qx "$f" "$tmp/contents"
  check "package holds $f" $?
done
if grep -q '^/usr/lib/x86_64-linux-gnu\|/tests/\|/perf/' "$tmp/contents"; then check "no test or benchmark files in the package" 1; else check "no test or benchmark files in the package" 0; fi

echo "== installing it"
flock /tmp/loom-apt.lock dpkg -i "$deb" >"$tmp/install.log" 2>&1
rc=$?
[ $rc -eq 0 ] && installed=1
check "dpkg -i installs it" $rc "$(tail -1 "$tmp/install.log")"
[ $installed -eq 1 ] || finish
# First line: "loom VERSION (git COMMIT)"; then build, DPDK and CPU lines.
v=$(/usr/sbin/loom --version | head -1)
check "installed loom --version" "$(case "$v" in "loom $version (git "*")") echo 0 ;; *) echo 1 ;; esac)" "$v"
for f in /usr/share/loom/examples/*.toml; do
  /usr/sbin/loom --check-config "$f" >"$tmp/check.log" 2>&1
  check "installed loom --check-config $(basename "$f")" $? "$(head -1 "$tmp/check.log")"
done
# verify exits 0 on unknown keys and the like, which it only reports: any
# line it prints counts as a failure.
systemd-analyze verify /lib/systemd/system/loom@.service >"$tmp/verify.log" 2>&1
check "systemd-analyze verify loom@.service: exit 0, nothing reported" \
  "$([ $? -eq 0 ] && [ ! -s "$tmp/verify.log" ]; echo $?)" "$(head -3 "$tmp/verify.log" | tr '\n' ' ')"
grep -q '^Type=notify' /lib/systemd/system/loom@.service &&
  grep -q '^ExecStartPre=/usr/sbin/loom-setup /etc/loom/%i.toml' /lib/systemd/system/loom@.service
check "the unit is Type=notify with the set-up step on /etc/loom/%i.toml" $?
logrotate -d /etc/logrotate.d/loom >"$tmp/lr.log" 2>&1
check "logrotate parses /etc/logrotate.d/loom" $? "$(grep -ci error "$tmp/lr.log") error lines"
man -w loom >/dev/null 2>&1
check "man loom finds loom(8)" $?

echo "== loom-setup on fake hosts"
setup=/usr/sbin/loom-setup
# fake_host DIR [iommu] [vfio]: a sysfs/procfs with one ixgbe NIC at
# 0000:99:00.0, one mlx5 NIC at 0000:98:00.0, 64 free 2 MB hugepages.
fake_host() {
  local d=$1; shift
  mkdir -p "$d/proc" "$d/sys/kernel/iommu_groups" "$d/sys/module" "$d/sys/bus/pci/drivers/ixgbe" \
           "$d/sys/bus/pci/drivers/mlx5_core" "$d/sys/bus/pci/devices/0000:99:00.0" \
           "$d/sys/bus/pci/devices/0000:98:00.0"
  ln -s ../../drivers/ixgbe "$d/sys/bus/pci/devices/0000:99:00.0/driver"
  ln -s ../../drivers/mlx5_core "$d/sys/bus/pci/devices/0000:98:00.0/driver"
  printf 'MemTotal: 1000 kB\nHugePages_Total: 64\nHugePages_Free: 64\nHugepagesize: 2048 kB\n' >"$d/proc/meminfo"
  printf 'nodev /dev/hugepages hugetlbfs rw 0 0\n' >"$d/proc/mounts"
  for x in "$@"; do
    case $x in
      iommu) mkdir -p "$d/sys/kernel/iommu_groups/7" ;;
      vfio) mkdir -p "$d/sys/module/vfio_pci" ;;
    esac
  done
}
cat >"$tmp/pci.toml" <<'TOML'
mode = "passive"
[eal]
memory = "hugepages"
memory_mb = 512
[[ports]]
name = "tap"
device = "0000:99:00.0"
[[ports]]
name = "mlx"
device = "0000:98:00.0,rxq_cqe_comp_en=0"
TOML
fake_host "$tmp/h1"
out=$(LOOM_SETUP_ROOT=$tmp/h1 $setup "$tmp/pci.toml" --dry-run 2>&1); rc=$?
check "no IOMMU: refused" "$([ $rc -eq 1 ] && echo "$out" | grep -q 'the IOMMU is off' &&
  echo "$out" | grep -q 'intel_iommu=on'; echo $?)" "$(echo "$out" | tail -1 | cut -c1-100)"
fake_host "$tmp/h2" iommu
out=$(LOOM_SETUP_ROOT=$tmp/h2 $setup "$tmp/pci.toml" --dry-run 2>&1); rc=$?
check "no vfio-pci module: refused" "$([ $rc -eq 1 ] && echo "$out" | grep -q 'vfio-pci kernel module is missing'; echo $?)" \
  "$(echo "$out" | tail -1 | cut -c1-100)"
fake_host "$tmp/h3" iommu vfio
out=$(LOOM_SETUP_ROOT=$tmp/h3 $setup "$tmp/pci.toml" --dry-run 2>&1); rc=$?
check "IOMMU and vfio: ready" "$rc" "$(echo "$out" | tail -1)"
echo "$out" | grep -qx 'loom-setup: dpdk-devbind.py --bind=vfio-pci 0000:99:00.0'
check "the ixgbe port is bound to vfio-pci with dpdk-devbind.py" $?
echo "$out" | grep -q '0000:98:00.0 stays on mlx5_core' && ! echo "$out" | grep -q 'bind=vfio-pci 0000:98'
check "the mlx5 port stays on its bifurcated driver" $?
echo "$out" | grep -qx 'loom-setup: dpdk-hugepages.py --reserve 512M'
check "128 MB free, 512 MB needed: dpdk-hugepages.py reserves 512 MB in all" $? \
  "$(echo "$out" | grep hugepages | head -1)"
sed 's/memory_mb = 512/memory_mb = 64/' "$tmp/pci.toml" >"$tmp/small.toml"
out=$(LOOM_SETUP_ROOT=$tmp/h3 $setup "$tmp/small.toml" --dry-run 2>&1)
! echo "$out" | grep -q 'dpdk-hugepages.py --reserve'
check "enough free hugepages: none reserved" $?
out=$(LOOM_SETUP_ROOT=$tmp/h1 $setup /usr/share/loom/examples/af-packet-lab.toml 2>&1); rc=$?
check "vdev ports, no-huge: nothing to do" "$([ $rc -eq 0 ] && ! echo "$out" | grep -q 'dpdk-'; echo $?)" "$(echo "$out" | tail -1)"
finish
