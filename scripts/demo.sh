#!/usr/bin/env bash
# `make demo`: restore each shipped sample raster with its task's shipped default model through
# `qgis_process run restore:<task>` (the plugin as QGIS runs it, headless), writing
# out/<sample>_<task>.tif; print where each result is and how long it took.
#
# Which sample shows which task is resources/samples/index.json (written by scripts/make_samples.py);
# a task whose model is not shipped is skipped with a line saying so. It uses the plugin from this
# checkout (QGIS_PLUGINPATH), a throw-away QGIS profile with the plugin enabled (your own QGIS
# profile is not touched), and the project venv's onnxruntime (PYTHONPATH).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

qgis_process=${QGIS_PROCESS:-/usr/bin/qgis_process.bin}  # /usr/bin/qgis_process's wrapper breaks headless
python=${PYTHON:-.venv/bin/python}

fail() { echo "demo: $*" >&2; exit 1; }
command -v "$qgis_process" >/dev/null || fail "$qgis_process not found: install QGIS (make setup)"
# One line per task: "task model PARAMETER=sample ...", with model "-" when no model of the task is shipped.
plan=$("$python" - <<'PY'
import json, sys
from pathlib import Path
from backend.registry import list_models, shipped_models_dir
index = Path("resources/samples/index.json")
if not index.is_file():
    sys.exit(f"{index} is missing (it is written by scripts/make_samples.py)")
for task, sample in json.loads(index.read_text()).items():
    # A task's sample is one raster (its INPUT) or an object of algorithm parameter -> raster
    # (derain_fuse: VISIBLE and INFRARED).
    rasters = {"INPUT": sample} if isinstance(sample, str) else sample
    for name in rasters.values():
        if not (index.parent / name).is_file():
            sys.exit(f"the sample raster {index.parent / name} is missing (scripts/make_samples.py makes it)")
    shipped = [m for m in list_models(task) if m.path.parent.resolve() == shipped_models_dir().resolve()]
    default = next((m for m in shipped if m.default), shipped[0] if shipped else None)
    print(task, default.name if default else "-", *(f"{p}={index.parent / r}" for p, r in rasters.items()))
PY
) || fail "cannot read the samples and shipped models (see above)"

profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
mkdir -p "$profile/profiles/default/QGIS" out
printf '[PythonPlugins]\nqgis_restore_plugin=true\n' > "$profile/profiles/default/QGIS/QGIS3.ini"
site=$(echo "$root"/.venv/lib/python3*/site-packages)

while read -r task model inputs; do
  if [ "$model" = "-" ]; then
    echo "$task: no shipped model, skipped"
    continue
  fi
  read -r -a rasters <<< "$inputs"
  sample=${rasters[0]#*=}
  args=()
  for raster in "${rasters[@]}"; do args+=("${raster%%=*}=$root/${raster#*=}"); done
  output=out/$(basename "$sample" .tif)_$task.tif
  rm -f "$output"
  echo "$task: restoring $sample with model $model (qgis_process run restore:$task) ..."
  start=$(date +%s.%N)
  status=0
  QT_QPA_PLATFORM=offscreen QGIS_CUSTOM_CONFIG_PATH="$profile" QGIS_PLUGINPATH="$root" \
    PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}" RESTORE_MODELS_PATH= \
    "$qgis_process" run "restore:$task" -- "${args[@]}" MODEL="$model" DEVICE=0 \
    OUTPUT="$root/$output" >"$profile/log" 2>&1 || status=$?
  end=$(date +%s.%N)
  grep -v -e '^QStandardPaths' -e 'setapi() is deprecated' "$profile/log" || true
  [ "$status" -eq 0 ] && [ -f "$output" ] || fail "qgis_process run restore:$task failed (exit $status; messages above)"
  awk -v s="$start" -v e="$end" -v out="$root/$output" \
    'BEGIN { printf "wrote %s in %.1f s (qgis_process start-up included)\n", out, e - s }'
done <<< "$plan"
