#!/usr/bin/env bash
# Writes every golden model of fixtures.json into DIR (default .cache/golden_models) with the
# real `tierserve gen-model`. Used before make_reference.py (which needs the folders) and by
# nothing else: the golden test regenerates each model itself.
set -euo pipefail
cd "$(dirname "$0")/../../.."
BIN=${TIERSERVE:-build/src/app/tierserve}
OUT=${1:-.cache/golden_models}
mkdir -p "$OUT"
python3 - "$BIN" "$OUT" <<'PY'
import json, subprocess, sys
binary, out = sys.argv[1], sys.argv[2]
spec = json.load(open("tests/golden/model/fixtures.json"))
for f in spec["fixtures"]:
    subprocess.run([binary, "gen-model", *f["args"], "--out", f"{out}/{f['name']}"], check=True,
                   stderr=subprocess.DEVNULL)
    print("wrote", f["name"])
PY
