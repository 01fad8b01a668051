#!/usr/bin/env bash
# Every GPU benchmark in one go, one table; the per-step timeouts add up to
# 470 s (< 8 minutes) whatever happens.
#
#   bash benchmarks/gpu.sh [OUT.md]        (default: benchmarks/gpu_results.md)
#
# Needs the project's Python ($PYTHON, default .venv/bin/python or python) with
# a CUDA build of torch, and torchreid under .bench_peers/site for the peer
# rows (see benchmarks/README.md; the folder is git-ignored, so carry it to the
# GPU machine). Rows whose step fails or times out say so; nothing else stops.
# Each figure is from this one run: the peers run on the same machine's CPU.
set -u
cd "$(dirname "$0")/.."
OUT=${1:-benchmarks/gpu_results.md}
PY=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python )}
TMP=$(mktemp -d)
GPU=$(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null | head -1)
CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')
step() {  # name, timeout seconds, command...
  local name=$1 limit=$2; shift 2
  echo "== $name" >&2
  local t0=$(date +%s)
  timeout "$limit" "$@" > "$TMP/$name.log" 2>&1
  local rc=$?
  echo "$name rc=$rc $(( $(date +%s) - t0 )) s" >> "$TMP/steps"
  tail -5 "$TMP/$name.log" >&2
}
step dlcr 90 "$PY" benchmarks/bench_dlcr_refinement.py --device cuda \
  --modes fp32,fp32-strict,bf16 --repeats 3 --naive-queries 50 --json "$TMP/dlcr.json"
step rerank_mid 90 "$PY" benchmarks/bench_rerank.py --size mid --device cuda \
  --methods reidkit,torchreid --timeout 40 --json "$TMP/rerank_mid.json"
step rerank_market 150 "$PY" benchmarks/bench_rerank.py --size market --device cuda \
  --methods reidkit,torchreid --timeout 70 --json "$TMP/rerank_market.json"
step train 100 "$PY" benchmarks/bench_train.py --device cuda --amp --channels-last both \
  --cudnn-benchmark --iters 20 --reps 2 --torchreid-path .bench_peers/site --json "$TMP/train.json"
step inpaint 40 "$PY" benchmarks/bench_inpaint.py --tiny --device cuda
"$PY" - "$TMP" "$OUT" "$GPU" "$CPU" <<'PYEOF'
import json, os, sys, time
tmp, out, gpu, cpu = sys.argv[1:5]
def load(name):
    try:
        with open(os.path.join(tmp, name + '.json')) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None
rows = []
d = load('dlcr')
if d:
    for mode, qps in d['qps'].items():
        rows.append((f'DLCR refinement PRCC size, {mode}', f'{qps:,.0f} q/s',
                     f'paper A100 642.6 q/s: {qps / 642.6:.2f}x; naive loop '
                     f'{d["naive_qps"]:,.0f} q/s', str(d['stats'].get(mode, ''))))
for size in ('mid', 'market'):
    r = load('rerank_' + size)
    if not r:
        continue
    ours, peer = r.get('reidkit', {}), r.get('torchreid', {})
    if 'rerank_s' in ours:
        ratio = (f'{peer["rerank_s"] / ours["rerank_s"]:.1f}x faster, '
                 f'{(ours["peak_rss_mb"] - ours["baseline_rss_mb"]) / max(peer["peak_rss_mb"] - peer["baseline_rss_mb"], 1):.0%} '
                 f'of its memory above baseline'
                 if 'rerank_s' in peer else peer.get('error', 'peer missing'))
        rows.append((f'k-reciprocal {size} (reidkit on cuda, torchreid CPU)',
                     f'{ours["rerank_s"]:.2f} s', ratio,
                     f'mAP diff {abs(ours["mAP"] - peer.get("mAP", ours["mAP"])):.1e}'))
t = load('train')
if t:
    rows.append(('training ResNet-50 256x128 b64 (AMP, channels_last)',
                 json.dumps(t)[:120], 'see train.log', ''))
with open(out, 'w') as f:
    f.write(f'# GPU benchmarks ({time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())})\n\n')
    f.write(f'GPU: {gpu or "none found"}; CPU: {cpu}\n\n')
    f.write('| benchmark | ours | ratio / peer | notes |\n|---|---|---|---|\n')
    for r in rows:
        f.write('| ' + ' | '.join(r) + ' |\n')
    f.write('\nSteps (exit code, seconds):\n\n```\n')
    f.write(open(os.path.join(tmp, 'steps')).read())
    f.write('```\n\nInpainting (tiny random-weight pipeline: mechanics, not '
            'the paper\'s 0.89 images/s SD model):\n\n```\n')
    try:
        f.write(''.join(open(os.path.join(tmp, 'inpaint.log')).readlines()[-8:]))
    except OSError:
        pass
    f.write('```\n')
print(open(out).read())
PYEOF
