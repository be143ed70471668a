# Shared by the perf/ scripts (sourced, not run): where the binaries are,
# which python, reading the generator's truth, and sizing a capture.
# Needs ROOT (the source tree) set by the caller.

# resolve PATH: absolute as given; relative to the current directory if it
# exists there, else to the source tree.
resolve() {
  case "$1" in
    /*) echo "$1" ;;
    *) if [ -e "$1" ]; then echo "$PWD/$1"; else echo "$ROOT/$1"; fi ;;
  esac
}

# Debian's python3 first: a pyenv one on PATH may lack its packages.
pick_python() {
  if [ -z "${PYTHON:-}" ]; then
    if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi
  fi
}

# truth FILE KEY: a value of loom_gen's "key value" ground truth.
truth() { awk -v k="$2" '$1 == k { print $2; f = 1 } END { if (!f) exit 1 }' "$1"; }

# calibrate_flows GEN PACKETS DIR GEN_ARGS...: how many connections give a
# capture of about PACKETS packets with these generator options, from one
# small run (a connection's packet count does not depend on how many there
# are). The same inputs give the same number, so the scripts that share it
# generate the same capture.
calibrate_flows() {
  local gen=$1 packets=$2 dir=$3
  shift 3
  local cal=$(( packets / 40 > 20 ? packets / 40 : 20 )) pkts flows
  "$gen" --flows "$cal" "$@" --out "$dir/cal.pcap" >"$dir/cal.truth" 2>/dev/null || return 1
  pkts=$(truth "$dir/cal.truth" packets) || return 1
  rm -f "$dir/cal.pcap"
  flows=$(( (packets * cal + pkts / 2) / pkts ))
  [ "$flows" -ge 1 ] || flows=1
  echo "$flows $cal $pkts"
}
