#!/usr/bin/env bash
# Install paintseg into a fresh virtual environment and measure: the time `pip install`
# takes (with an empty pip cache, so every wheel is fetched), the time from then to the
# app's first page answering HTTP 200, the time `paintseg --help` takes, and the size of
# site-packages (du), with its largest entries.
#
#   benchmarks/bench_install.sh WORKDIR [SPEC] [PORT]
#   benchmarks/bench_install.sh /tmp/bench-install            # the core install of this checkout
#   benchmarks/bench_install.sh /tmp/bench-automl ".[automl]"  # with an extra
set -euo pipefail
WORK=$1; SPEC=${2:-.}; PORT=${3:-8077}
REPO=$(cd "$(dirname "$0")/.." && pwd)
rm -rf "$WORK"; mkdir -p "$WORK/tree"
git -C "$REPO" archive HEAD | tar -x -C "$WORK/tree"  # what is committed
python3 -m venv "$WORK/venv"
export PIP_CACHE_DIR="$WORK/pip-cache"
now() { date +%s.%N; }
t0=$(now)
(cd "$WORK/tree" && "$WORK/venv/bin/pip" install -q "$SPEC" > "$WORK/pip.log" 2>&1)
t1=$(now)
"$WORK/venv/bin/paintseg" app --no-browser --port "$PORT" > "$WORK/app.log" 2>&1 &
APP=$!
until curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/" | grep -q 200; do
  kill -0 $APP 2>/dev/null || { echo "the app did not start:"; tail -3 "$WORK/app.log"; exit 1; }
  sleep 0.1
done
t2=$(now)
kill $APP
h0=$(now); "$WORK/venv/bin/paintseg" --help > /dev/null; h1=$(now)
SITE=$("$WORK/venv/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
printf 'spec=%s install=%.0fs first_page=%.1fs help=%.2fs site_packages=%sMB\n' "$SPEC" \
  "$(echo "$t1 - $t0" | bc)" "$(echo "$t2 - $t1" | bc)" "$(echo "$h1 - $h0" | bc)" \
  "$(du -sm "$SITE" | cut -f1)"
du -sm "$SITE"/* | sort -rn | head -12
