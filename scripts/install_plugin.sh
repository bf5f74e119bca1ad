#!/usr/bin/env bash
# Install the plugin zip into a QGIS profile, enable it, and check that qgis_process lists its algorithms.
#
# Usage: scripts/install_plugin.sh [dist/qgis_restore_plugin.zip]
# The profile is QGIS's default one (~/.local/share/QGIS/QGIS3/profiles/default), or the "default"
# profile under $QGIS_CUSTOM_CONFIG_PATH when that is set (what QGIS itself does with that variable).
#
# Then it installs the plugin's Python dependencies (the pins of qgis_restore_plugin/requirements.txt)
# with the plugin's own installer, the one behind the Install button in QGIS, into the private folder
# <profile>/python/restore_packages/python3.X, which the plugin adds to the import path: after this script,
# `qgis_process run restore:dehaze` works with no PYTHONPATH. QGIS_PYTHON names QGIS's interpreter
# (default /usr/bin/python3); RESTORE_RUNTIME=cpu|gpu overrides the ONNX Runtime build (default: the GPU
# build where an NVIDIA driver is present); pip's own PIP_* variables (PIP_FIND_LINKS, PIP_NO_INDEX,
# PIP_INDEX_URL) apply; RESTORE_SKIP_DEPENDENCIES=1 skips this step.
set -euo pipefail

zip_path=${1:-dist/qgis_restore_plugin.zip}
plugin=qgis_restore_plugin
qgis_process=${QGIS_PROCESS:-/usr/bin/qgis_process.bin}  # /usr/bin/qgis_process's wrapper breaks headless
export QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen}

[ -f "$zip_path" ] || { echo "install_plugin: $zip_path does not exist; run 'make package' first" >&2; exit 1; }
command -v "$qgis_process" >/dev/null || { echo "install_plugin: $qgis_process not found; install QGIS (make setup)" >&2; exit 1; }

config_root=${QGIS_CUSTOM_CONFIG_PATH:-$HOME/.local/share/QGIS/QGIS3}
plugins_dir="$config_root/profiles/default/python/plugins"
mkdir -p "$plugins_dir"

# Replace any previous version atomically enough: unpack beside it, then swap.
staging=$(mktemp -d "$plugins_dir/.${plugin}.XXXXXX")
trap 'rm -rf "$staging"' EXIT
/usr/bin/python3 -m zipfile -e "$zip_path" "$staging"
[ -f "$staging/$plugin/metadata.txt" ] || { echo "install_plugin: $zip_path has no $plugin/metadata.txt" >&2; exit 1; }
rm -rf "${plugins_dir:?}/$plugin"
mv "$staging/$plugin" "$plugins_dir/$plugin"
echo "installed $plugin into $plugins_dir"

"$qgis_process" plugins enable "$plugin" >/dev/null 2>&1 || true
if ! "$qgis_process" plugins 2>/dev/null | grep -q "^\* *$plugin\$"; then
  # Older qgis_process without "plugins enable": the same setting QGIS writes when you tick the plugin.
  ini="$config_root/profiles/default/QGIS/QGIS3.ini"
  mkdir -p "$(dirname "$ini")"
  /usr/bin/python3 - "$ini" "$plugin" <<'EOF'
import configparser, sys
ini, plugin = sys.argv[1:]
cp = configparser.RawConfigParser()
cp.optionxform = str
cp.read(ini)
cp.setdefault("PythonPlugins", {})
cp["PythonPlugins"][plugin] = "true"
with open(ini, "w") as handle:
    cp.write(handle)
EOF
fi

algorithms=$("$qgis_process" list 2>/dev/null | grep -o 'restore:[a-z_]*' | sort -u || true)
count=$(printf '%s\n' "$algorithms" | grep -c 'restore:' || true)
if [ "$count" -ne 6 ]; then
  echo "install_plugin: qgis_process lists $count of the 6 restore: algorithms after installing:" >&2
  printf '%s\n' "$algorithms" >&2
  exit 1
fi
echo "enabled; qgis_process lists:" $algorithms

if [ "${RESTORE_SKIP_DEPENDENCIES:-0}" = 1 ]; then
  echo "RESTORE_SKIP_DEPENDENCIES=1: Python dependencies not installed; restore:diagnostics says what is missing"
  exit 0
fi
qgis_python=${QGIS_PYTHON:-/usr/bin/python3}
echo "installing the plugin's Python dependencies for $qgis_python ..."
"$qgis_python" "$plugins_dir/$plugin/installer.py" --profile "$config_root/profiles/default" \
  --runtime "${RESTORE_RUNTIME:-auto}" | grep -v '^PROGRESS '
report=$("$qgis_process" run restore:diagnostics 2>/dev/null | grep '^REPORT:' || true)
echo "restore:diagnostics: ${report#REPORT:}"
case "$report" in
  *"missing dependencies"*) echo "install_plugin: the plugin still misses Python packages (above)" >&2; exit 1 ;;
esac
