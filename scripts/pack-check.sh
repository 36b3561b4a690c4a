#!/usr/bin/env bash
# The package as npm ships it: packs the tarball from this checkout, checks what it holds, installs
# it alone (without dev dependencies) into an empty prefix, and runs the installed CLI on the
# shipped examples against its embedded server. Run by .ci/run; needs the npm registry for the
# package's dependencies.
#
#   bash scripts/pack-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

tarball=$(npm pack --silent --pack-destination "$work" | tail -n1)
echo "pack-check: $tarball, $(du -k "$work/$tarball" | cut -f1) KiB"
files=$(tar -tzf "$work/$tarball")
echo "pack-check: $(wc -l <<<"$files") files"
if bad=$(grep -E '^package/(test|bench|src|scripts|\.ci)/' <<<"$files"); then
  echo "pack-check: the tarball holds files it must not ship:" >&2
  head -20 <<<"$bad" >&2
  exit 1
fi
for want in package/dist/sms-reconcile.mjs package/bin/sms-reconcile.mjs package/schemas/manifest.v1.schema.json \
  package/examples/quickstart package/README.md package/LICENSE package/CHANGELOG.md; do
  grep -q "^$want" <<<"$files" || { echo "pack-check: the tarball lacks $want" >&2; exit 1; }
done

prefix="$work/prefix"
mkdir -p "$prefix"
(cd "$prefix" && npm init -y >/dev/null && npm install --omit=dev --no-audit --no-fund --loglevel=error "$work/$tarball" >/dev/null)
cli="$prefix/node_modules/.bin/sms-reconcile"
pkg="$prefix/node_modules/sms-reconcile"
echo "pack-check: installed: $(ls "$prefix/node_modules" | wc -l) packages, sms-reconcile --version $("$cli" --version)"
[ ! -e "$prefix/node_modules/tsx" ] && [ ! -e "$prefix/node_modules/esbuild" ] || { echo "pack-check: tsx or esbuild was installed as a runtime dependency" >&2; exit 1; }

run="$work/run"
mkdir -p "$run"
cd "$run"
for ex in quickstart waves gitops/manifests; do
  "$cli" validate -f "$pkg/examples/$ex"
  "$cli" plan -f "$pkg/examples/$ex" --state "$run/$(basename "$ex").json" --embedded-dir "$run/embedded-$(basename "$ex")" --no-color
done
echo "pack-check: ok"
