#!/usr/bin/env bash
# `make demo`: dehaze the shipped sample raster with `qgis_process run restore:dehaze` (the plugin as
# QGIS runs it, headless) and write out/sentinel2_dehazed.tif; print where it is and how long it took.
#
# It uses the plugin from this checkout (QGIS_PLUGINPATH), a throw-away QGIS profile with the plugin
# enabled (your own QGIS profile is not touched), and the project venv's onnxruntime (PYTHONPATH).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

sample=resources/samples/sentinel2_hazy_rgb.tif
output=out/sentinel2_dehazed.tif
qgis_process=${QGIS_PROCESS:-/usr/bin/qgis_process.bin}  # /usr/bin/qgis_process's wrapper breaks headless
python=${PYTHON:-.venv/bin/python}

fail() { echo "demo: $*" >&2; exit 1; }
[ -f "$sample" ] || fail "the sample raster $sample is missing (it is made by the samples script of resources/samples)"
command -v "$qgis_process" >/dev/null || fail "$qgis_process not found: install QGIS (make setup)"
model=$("$python" - <<'EOF'
import sys
from backend.errors import RestoreError
from backend.registry import list_models, shipped_models_dir
shipped = [m for m in list_models("dehaze") if m.path.parent.resolve() == shipped_models_dir().resolve()]
default = next((m for m in shipped if m.default), shipped[0] if shipped else None)
if default is None:
    sys.exit(f"no dehaze model is shipped in {shipped_models_dir()} (expected resources/models/"
             "dehaze-hsmr-*.onnx listed in resources/models/index.json)")
print(default.name)
EOF
) || fail "cannot find the default dehaze model (see above)"

profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
mkdir -p "$profile/profiles/default/QGIS" out
printf '[PythonPlugins]\nqgis_restore_plugin=true\n' > "$profile/profiles/default/QGIS/QGIS3.ini"
site=$(echo "$root"/.venv/lib/python3*/site-packages)
rm -f "$output"

echo "dehazing $sample with model $model (qgis_process run restore:dehaze) ..."
start=$(date +%s.%N)
status=0
QT_QPA_PLATFORM=offscreen QGIS_CUSTOM_CONFIG_PATH="$profile" QGIS_PLUGINPATH="$root" \
  PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}" RESTORE_MODELS_PATH= \
  "$qgis_process" run restore:dehaze -- INPUT="$root/$sample" MODEL="$model" DEVICE=0 \
  OUTPUT="$root/$output" >"$profile/log" 2>&1 || status=$?
end=$(date +%s.%N)
grep -v -e '^QStandardPaths' -e 'setapi() is deprecated' "$profile/log" || true
[ "$status" -eq 0 ] && [ -f "$output" ] || fail "qgis_process run restore:dehaze failed (exit $status; messages above)"
awk -v s="$start" -v e="$end" -v out="$root/$output" \
  'BEGIN { printf "wrote %s in %.1f s (qgis_process start-up included)\n", out, e - s }'
