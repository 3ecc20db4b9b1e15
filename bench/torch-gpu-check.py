"""The Python half of bench/torch-gpu-check.sh (read that file first): checks the modules
`estc build --emit torch` writes on one torch device against estc's CPU back end, and times the
generated ReSTE layer. Needs torch, nothing of Node: the expectations come from the pack
(bench/lib/torch-pack.ts).

1. equality: every program case of the pack (every stdlib and example fn) on DEVICE in float32:
   outputs and input gradients against estc's CPU results (the case's tolerance, relative above
   magnitude 1; NaN where the CPU has NaN); on a device other than the CPU also against torch's
   own CPU run of the same module (the largest difference is reported).
2. rng: Philox-4x32-10 words and uniform/open/normal/Gumbel values drawn on DEVICE, bit for bit
   against runtime/philox.ts and runtime/normal.ts.
3. compile: where torch has torch.compile, the bnn example's loss_reste and the ReSTE layer under
   torch._dynamo.explain (graph breaks, must be 0) and compiled with fullgraph=True (values and
   gradients against eager); on a torch without it, skipped with the reason.
4. timing: forward + backward of the ReSTE layer (sign(x) backward ReSTE(o), o = 3) at N elements:
   the generated function, a hand-written torch.autograd.Function (docs/torch.md's), and
   torch.compile of each where torch has it. Mean over >= --seconds after 3 warm-up steps, the
   device synchronised after each step.

Writes OUT/torch-gpu-check-DEVICE.json and .md; exits 1 when a check fails.
"""
import argparse
import importlib.util
import json
import math
import os
import platform
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
# ReSTE's power in the timing: std/binary's default and the annealed final value. (At o = 2 the
# hand-written a ** -0.5 would take torch's rsqrt fast path, which no other o gets.)
O = 3.0


def load(pack, rel, cache={}):
    """The generated module at pack/rel, imported under a unique name beside its estc_torch.py."""
    if rel not in cache:
        spec = importlib.util.spec_from_file_location(f"estc_pack_{len(cache)}", os.path.join(pack, rel), submodule_search_locations=None)
        folder = os.path.dirname(os.path.join(pack, rel))
        sys.path.insert(0, folder)
        sys.modules.pop("estc_torch", None)  # each folder's own runtime copy
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.path.remove(folder)
        cache[rel] = module
    return cache[rel]


def tensor(spec, device):
    kind = spec.get("dtype", "f32")
    data = [float("nan") if v is None else v for v in spec["data"]]
    if kind == "f32":
        return torch.tensor(data, dtype=torch.float32, device=device).reshape(spec["shape"])
    if kind == "bool":
        return torch.tensor(spec["data"], dtype=torch.bool, device=device).reshape(spec["shape"])
    return torch.tensor(spec["data"], dtype=torch.int64, device=device).reshape(spec["shape"])


def call(module, case, device):
    """Outputs and input gradients (None where torch gives none) of one case on `device`, as CPU float64 lists."""
    fn = getattr(module, case["fn"])
    args = [tensor(s, device) for s in case["inputs"]]
    for a in args:
        if a.dtype == torch.float32:
            a.requires_grad_(True)
    out = fn(*args, **case["scalars"], seed=case["seed"])
    outs = list(out) if isinstance(out, tuple) else [out]
    diff = [(o, tensor(c, device)) for o, c in zip(outs, case["cotangents"]) if o.requires_grad]
    if diff:
        torch.autograd.backward([o for o, _ in diff], [c for _, c in diff])
    flat = lambda t: t.detach().to("cpu", torch.float64).reshape(-1).tolist()
    return [flat(o) for o in outs], [None if a.grad is None else flat(a.grad) for a in args]


def worst(got, want, tol):
    """(largest error in units of the tolerance, what): NaN must meet NaN, infinities match exactly."""
    bad, where = 0.0, ""
    if len(got) != len(want):
        return math.inf, f"{len(got)} elements, not {len(want)}"
    for i, (g, w) in enumerate(zip(got, want)):
        w = math.nan if w is None else w
        if math.isnan(w) or math.isnan(g):
            e = 0.0 if math.isnan(w) and math.isnan(g) else math.inf
        elif math.isinf(w):
            e = 0.0 if g == w else math.inf
        else:
            e = abs(g - w) / (tol * max(1.0, abs(w)))
        if e > bad:
            bad, where = e, f"element {i}: got {g!r}, want {w!r}"
    return bad, where


def equality(pack, cases, device):
    rows, failures, vs_cpu = {}, [], 0.0
    for case in cases:
        module = load(pack, case["module"])
        what = f"{case['file']} {case['fn']}"
        row = rows.setdefault(case["file"], {"file": case["file"], "fns": 0, "failed": 0, "worst": 0.0})
        row["fns"] += 1
        try:
            outs, grads = call(module, case, device)
            checks = [(o, w, f"output {k}") for k, (o, w) in enumerate(zip(outs, case["cpu"]["outputs"]))]
            for k, name in enumerate(case["names"]):
                want = case["cpu"]["grads"].get(name)
                if want is None:
                    continue
                got = grads[k]
                if got is None and all(d != "f32" for d in case["outputDtypes"]):
                    got = [0.0] * len(want)  # no differentiable output: the CPU's vjp gives zeros
                if got is None:
                    raise AssertionError(f"d{name}: torch gave no gradient")
                checks.append((got, want, f"d{name}"))
            for got, want, label in checks:
                e, where = worst(got, want, case["tolerance"])
                row["worst"] = max(row["worst"], e)
                if e > 1:
                    raise AssertionError(f"{label}, {where} (tolerance {case['tolerance']})")
            if device.type != "cpu":
                ref_outs, ref_grads = call(module, case, torch.device("cpu"))
                for a, b in zip(outs + [g for g in grads if g is not None], ref_outs + [g for g in ref_grads if g is not None]):
                    finite = [abs(x - y) for x, y in zip(a, b) if math.isfinite(x) and math.isfinite(y)]
                    vs_cpu = max([vs_cpu] + finite)
        except Exception as e:  # a failure is a row of the report, not the end of the check
            row["failed"] += 1
            failures.append(f"{what}: {type(e).__name__}: {e}")
    return {"rows": list(rows.values()), "fns": len(cases), "failures": failures, "max_abs_diff_vs_torch_cpu": vs_cpu if device.type != "cpu" else None}


def rng(pack, draws, device):
    E = load(pack, "modules/sign_reste/sign_reste.py").E
    rows, failures = [], []
    for d in draws:
        words = E.philox_words(d["seed"], d["site"], d["stream"], d["n"], device).to("cpu").tolist()
        row = {"seed": d["seed"], "site": d["site"], "stream": d["stream"], "n": d["n"], "words": words == d["words"]}
        for kind in ("uniform", "open", "normal", "gumbel"):
            got = E.random(d["seed"], d["site"], d["stream"], [d["n"]], kind, torch.float32, device).to("cpu").tolist()
            row[kind] = got == d[kind]
        rows.append(row)
        failures += [f"seed {d['seed']} site {d['site']} stream {d['stream']}: {k} differ" for k, ok in row.items() if ok is False]
    return {"rows": rows, "failures": failures}


class HandReSTE(torch.autograd.Function):
    """ReSTE as one writes it by hand (docs/torch.md): torch.sign forward, the rule in float32."""

    @staticmethod
    def forward(ctx, x, o):
        ctx.save_for_backward(x)
        ctx.o = o
        return torch.sign(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        o, m, t = ctx.o, 0.1, 1.5
        a = x.abs()
        e = (1 - o) / o
        slope = torch.where(a <= m, torch.full_like(a, m ** e), a ** e / o)
        return g * slope * (a <= t), None


def hand_reste(x, o=2.0):
    return HandReSTE.apply(x, o)


def compile_check(pack, cases, device):
    E = load(pack, "modules/sign_reste/sign_reste.py").E
    reason = E.compile_unavailable()
    if reason is not None:
        return {"skipped": reason}
    import torch._dynamo as dynamo
    picks = [c for c in cases if c["fn"] == "loss_reste"][:2]
    results, failures = [], []
    targets = [(load(pack, c["module"]), c["fn"], [tensor(s, device) for s in c["inputs"]], c["scalars"], c["file"]) for c in picks]
    act = load(pack, "modules/sign_reste/sign_reste.py")
    targets.append((act, "act", [torch.randn(4096, device=device)], {"o": O}, "bench/programs/sign_reste.est"))
    for module, name, args, scalars, file in targets:
        f = lambda *xs, _fn=getattr(module, name), _s=scalars: _fn(*xs, **_s)
        for a in args:
            if a.dtype == torch.float32:
                a.requires_grad_(True)
        dynamo.reset()
        explained = dynamo.explain(f)(*args)
        breaks = int(getattr(explained, "graph_break_count", -1))
        want = f(*args)
        wg = torch.autograd.grad(want.sum(), [a for a in args if a.requires_grad])
        compiled = torch.compile(f, fullgraph=True)
        got = compiled(*args)
        gg = torch.autograd.grad(got.sum(), [a for a in args if a.requires_grad])
        diff = max([(got - want).abs().max().item()] + [(a - b).abs().max().item() for a, b in zip(gg, wg)])
        scale = max([want.abs().max().item()] + [b.abs().max().item() for b in wg] + [1.0])
        results.append({"file": file, "fn": name, "graph_breaks": breaks, "max_diff": diff})
        if breaks != 0:
            failures.append(f"{file} {name}: {breaks} graph breaks ({getattr(explained, 'break_reasons', '')})")
        if diff > 1e-4 * scale:
            failures.append(f"{file} {name}: compiled differs from eager by {diff}")
    return {"rows": results, "failures": failures}


def timing(pack, device, n, seconds):
    act = load(pack, "modules/sign_reste/sign_reste.py").act
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    x = torch.randn(n, device=device, generator=None)
    ct = torch.randn(n, device=device)
    variants = [("generated (estc)", lambda v: act(v, o=O)), ("hand-written autograd.Function", lambda v: hand_reste(v, O))]
    E = load(pack, "modules/sign_reste/sign_reste.py").E
    reason = E.compile_unavailable()
    if reason is None:
        variants += [("torch.compile(generated)", torch.compile(lambda v: act(v, o=O))), ("torch.compile(hand-written)", torch.compile(lambda v: hand_reste(v, O)))]
    rows = []
    grads = {}
    for name, f in variants:
        xs = x.detach().clone().requires_grad_(True)

        def step():
            xs.grad = None
            y = f(xs)
            y.backward(ct)
            return y

        for _ in range(3):
            step()
        sync()
        count, start = 0, time.perf_counter()
        while True:
            step()
            sync()
            count += 1
            elapsed = time.perf_counter() - start
            if elapsed >= seconds and count >= 5:
                break
        ms = 1000 * elapsed / count
        grads[name] = xs.grad.detach().clone()
        # Bytes an ideal fused step moves: read x, write y (forward); read x and ct, write dx (backward).
        rows.append({"variant": name, "n": n, "steps": count, "ms_per_step": ms, "gb_per_s_at_20_bytes": 20 * n / (ms / 1000) / 1e9})
    base = grads["generated (estc)"]
    for r in rows:
        r["max_abs_grad_diff_vs_generated"] = (grads[r["variant"]] - base).abs().max().item()
    return {"rows": rows, "compile": reason or "available"}


def markdown(report):
    lines = [f"# bench/torch-gpu-check.sh on {report['device']}", "", f"torch {report['torch']}, {report['device_name']}, {report['written']}; pack from commit {report['pack'].get('commit', '?')}.", ""]
    eq = report["equality"]
    lines += ["## Equality with estc's CPU back end", "", f"{eq['fns']} fns, {len(eq['failures'])} failed" + (f"; largest |device - torch CPU| {eq['max_abs_diff_vs_torch_cpu']:.3g}" if eq["max_abs_diff_vs_torch_cpu"] is not None else "") + ".", "", "| file | fns | failed | worst error / tolerance |", "| --- | ---: | ---: | ---: |"]
    lines += [f"| {r['file']} | {r['fns']} | {r['failed']} | {r['worst']:.3g} |" for r in eq["rows"]]
    lines += [""] + [f"- FAILED {f}" for f in eq["failures"]]
    lines += ["## Philox draws, bit for bit", "", "| seed | site | stream | n | words | uniform | open | normal | gumbel |", "| ---: | ---: | ---: | ---: | --- | --- | --- | --- | --- |"]
    lines += [f"| {r['seed']} | {r['site']} | {r['stream']} | {r['n']} | " + " | ".join("identical" if r[k] else "DIFFER" for k in ("words", "uniform", "open", "normal", "gumbel")) + " |" for r in report["rng"]["rows"]]
    lines += ["", "## torch.compile", ""]
    c = report["compile"]
    if "skipped" in c:
        lines += [f"Skipped: {c['skipped']}."]
    else:
        lines += ["| file | fn | graph breaks | max |compiled - eager| |", "| --- | --- | ---: | ---: |"] + [f"| {r['file']} | {r['fn']} | {r['graph_breaks']} | {r['max_diff']:.3g} |" for r in c["rows"]]
    t = report["timing"]
    lines += ["", f"## ReSTE layer, forward + backward (o = {O:g}), N = {t['rows'][0]['n']:,}", "", "| variant | ms / step | GB/s at 20 B/element | steps | max |dx - generated dx| |", "| --- | ---: | ---: | ---: | ---: |"]
    lines += [f"| {r['variant']} | {r['ms_per_step']:.3f} | {r['gb_per_s_at_20_bytes']:.2f} | {r['steps']} | {r['max_abs_grad_diff_vs_generated']:.3g} |" for r in t["rows"]]
    if t["compile"] != "available":
        lines += ["", f"torch.compile rows skipped: {t['compile']}."]
    lines += ["", f"Result: {'PASS' if report['ok'] else 'FAIL'}."]
    return "\n".join(lines) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pack", required=True)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--out", default=os.path.join(HERE, "results"))
    p.add_argument("--n", type=int, default=0, help="ReSTE layer size (default 2^26 on CUDA, 2^20 on the CPU)")
    p.add_argument("--seconds", type=float, default=2.0, help="time each variant at least this long")
    args = p.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda":
        # TF32 would round the products' inputs to 10 mantissa bits: the check is of float32.
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    else:
        torch.set_num_threads(max(1, torch.get_num_threads()))
    n = args.n or (2**26 if device.type == "cuda" else 2**20)
    with open(os.path.join(args.pack, "manifest.json")) as f:
        manifest = json.load(f)
    with open(os.path.join(args.pack, "cases.json")) as f:
        cases = json.load(f)
    with open(os.path.join(args.pack, "philox.json")) as f:
        draws = json.load(f)
    started = time.time()
    report = {
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "written": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "pack": {k: manifest.get(k) for k in ("commit", "written", "cases")},
    }
    report["equality"] = equality(args.pack, cases, device)
    report["rng"] = rng(args.pack, draws, device)
    report["compile"] = compile_check(args.pack, cases, device)
    report["timing"] = timing(args.pack, device, n, args.seconds)
    report["seconds"] = time.time() - started
    failures = report["equality"]["failures"] + report["rng"]["failures"] + report["compile"].get("failures", [])
    report["ok"] = not failures
    os.makedirs(args.out, exist_ok=True)
    stem = os.path.join(args.out, f"torch-gpu-check-{device.type}")
    with open(stem + ".json", "w") as f:
        json.dump(report, f, indent=1)
    text = markdown(report)
    with open(stem + ".md", "w") as f:
        f.write(text)
    print(text)
    print(f"wrote {stem}.json and {stem}.md ({report['seconds']:.1f} s)")
    sys.exit(0 if report["ok"] else 1)


main()
