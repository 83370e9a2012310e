#!/usr/bin/env bash
# Issue 21 side by side: the Potjans & Diesmann microcircuit in rsnn, NEST 3 (its own
# Potjans_2014 example) and Brian2 (C++ standalone, bench/peers/microcircuit_brian2.py) at the
# same scale, biological time, seed and thread count, one after the other in one run.
#
#   bench/peers/microcircuit_peers.sh [SCALE] [RSNN_EXE]       (SCALE default 0.1)
#
# Environment: TIME (ms, default 1000), PRESIM (ms, 500), THREADS (2), SEED (55),
# PEERS (default "rsnn nest brian2"; e.g. "rsnn nest" at full scale),
# RSNN_PEERS_VENV (default ~/.cache/rsnn-peers/venv: created with PyPI's nest-simulator and
# brian2 when missing; never inside the repository), NEST_EXAMPLE (a folder with NEST's
# Potjans_2014 example; default: its files at commit e0a0745546eb, the last one before NEST
# removed the example, downloaded from GitHub, or taken from the git repository $NEST_REPO
# when GitHub cannot be reached). Nothing fetched is kept in the tree.
# REUSE=DIR prints the table of an earlier run's folder without running anything.
# Prints one line per tool and a table: build s, s per biological second (wall), CPU s of the
# whole process (user + system; Brian2: its binary, compilation excluded), peak RSS, rates.
# On a loaded machine the wall times of NEST (a barrier every 0.1 ms step) suffer most:
# compare the CPU seconds too.
set -euo pipefail
SCALE=${1:-0.1}
HERE=$(cd "$(dirname "$0")" && pwd)
RSNN=${2:-$HERE/../../build/tools/rsnn}
TIME=${TIME:-1000} PRESIM=${PRESIM:-500} THREADS=${THREADS:-2} SEED=${SEED:-55}
PEERS=${PEERS:-rsnn nest brian2}
VENV=${RSNN_PEERS_VENV:-$HOME/.cache/rsnn-peers/venv}
COMMIT=e0a0745546eb75f7d50a7e433c32d0c2b7376513
OUT=${REUSE:-$(mktemp -d /tmp/microcircuit_peers.XXXXXX)}
[ -z "${REUSE:-}" ] || PEERS=$(cd "$OUT" && ls -d rsnn nest.json brian2.json 2>/dev/null | sed 's/\.json//' | tr '\n' ' ')
[ -x "$RSNN" ] || { echo "microcircuit_peers.sh: no rsnn executable at $RSNN" >&2; exit 2; }
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  # Brian2 2.9 uses numpy.ndarray.ptp, which numpy 2 removed.
  "$VENV/bin/pip" install -q nest-simulator brian2 "numpy<2"
fi

fetch_example() {  # NEST's example files into $1
  local dir=$1 f base=pynest/examples/Potjans_2014
  mkdir -p "$dir"
  for f in network.py network_params.py sim_params.py stimulus_params.py helpers.py; do
    if ! curl -fsS --max-time 30 -o "$dir/$f" "https://raw.githubusercontent.com/nest/nest-simulator/$COMMIT/$base/$f"; then
      [ -n "${NEST_REPO:-}" ] || { echo "microcircuit_peers.sh: cannot download $f; set NEST_REPO or NEST_EXAMPLE" >&2; exit 2; }
      git -C "$NEST_REPO" show "$COMMIT:$base/$f" > "$dir/$f"
    fi
  done
}
EXAMPLE=${NEST_EXAMPLE:-$OUT/nest-example}
[ -n "${NEST_EXAMPLE:-}" ] || [ -n "${REUSE:-}" ] || fetch_example "$EXAMPLE"
export OMP_WAIT_POLICY=passive

for peer in $PEERS; do
  [ -z "${REUSE:-}" ] || break
  echo "== $peer (scale $SCALE, $THREADS threads, $PRESIM + $TIME ms)" >&2
  case $peer in
    rsnn)
      /usr/bin/time -v -o "$OUT/rsnn.time" "$RSNN" microcircuit --scale "$SCALE" --time "$TIME" \
        --presim "$PRESIM" --threads "$THREADS" --seed "$SEED" --plot off --record-fraction 0 \
        --out "$OUT/rsnn" >&2 ;;
    nest)
      OMP_NUM_THREADS=$THREADS /usr/bin/time -v -o "$OUT/nest.time" "$VENV/bin/python" "$HERE/microcircuit_nest.py" \
        --example "$EXAMPLE" --scale "$SCALE" --time "$TIME" --presim "$PRESIM" --threads "$THREADS" \
        --seed "$SEED" --workdir "$OUT/nest" > "$OUT/nest.json" ;;
    brian2)
      "$VENV/bin/python" "$HERE/microcircuit_brian2.py" --scale "$SCALE" --time "$TIME" --presim "$PRESIM" \
        --threads "$THREADS" --seed "$SEED" --workdir "$OUT/brian2" > "$OUT/brian2.json" ;;
    *) echo "microcircuit_peers.sh: unknown peer '$peer' in PEERS" >&2; exit 2 ;;
  esac
done

"$VENV/bin/python" - "$OUT" "$PEERS" <<'PY'
import json, os, re, sys
out, peers = sys.argv[1], sys.argv[2].split()
pops = ["L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I"]
def timing(path):  # (peak RSS GB, user + system CPU s) from /usr/bin/time -v
    with open(path) as f:
        t = f.read()
    cpu = sum(float(re.search(rf"{k} time \(seconds\): ([0-9.]+)", t).group(1)) for k in ("User", "System"))
    return int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) / 2**20, cpu
rows = {}
for p in peers:
    if p == "rsnn":
        s = json.load(open(os.path.join(out, "rsnn", "summary.json")))
        bio = (s["presim_ms"] + s["time_ms"]) * 1e-3
        rss, cpu = timing(os.path.join(out, "rsnn.time"))
        rows[p] = dict(build=s["build_s"], per=s["simulate_s"] / bio, rss=rss, cpu=cpu,
                       syn=s["synapses"], rates={q["name"]: q["rate_hz"] for q in s["populations"]})
    elif p == "nest":
        s = json.loads(open(os.path.join(out, "nest.json")).read().strip().splitlines()[-1])
        rss, cpu = timing(os.path.join(out, "nest.time"))
        rows[p] = dict(build=s["create_s"] + s["connect_s"], per=s["s_per_bio_s"], syn=s["synapses"],
                       rss=rss, cpu=cpu, rates=s["rates"])
    elif p == "brian2":
        s = json.loads(open(os.path.join(out, "brian2.json")).read().strip().splitlines()[-1])
        rows[p] = dict(build=s["arrays_s"] + s["binary_s"] - s["simulate_s"], per=s["s_per_bio_s"],
                       rss=s["peak_rss_mb"] / 1024, cpu=s.get("binary_cpu_s", float("nan")), syn=s["synapses"],
                       rates=s["rates"],
                       note=f"compile {s['compile_s']:.0f} s")
print("| tool | synapses | build s | s per bio s | CPU s | peak RSS GB | " + " | ".join(pops) + " |")
print("|---|---|---|---|---|---|" + "---|" * len(pops))
for p, r in rows.items():
    print(f"| {p} | {r['syn']:,} | {r['build']:.1f} | {r['per']:.2f} | {r['cpu']:.1f} | {r['rss']:.2f} | "
          + " | ".join(f"{r['rates'][q]:.2f}" for q in pops) + " |" + (f" {r['note']}" if "note" in r else ""))
if "rsnn" in rows:
    for p in rows:
        if p != "rsnn":
            print(f"{p} / rsnn: s per bio s {rows[p]['per'] / rows['rsnn']['per']:.1f}x, "
                  f"CPU s {rows[p]['cpu'] / rows['rsnn']['cpu']:.1f}x")
print(f"(files in {out})")
PY
