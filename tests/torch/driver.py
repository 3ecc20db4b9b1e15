# Test driver for tests/torch: reads {"dir", "jobs"} as JSON on stdin, runs each job against the
# modules `estc build --emit torch` wrote into dir, and prints one JSON result per job. One
# process serves a whole test file: `import torch` alone takes seconds.
import importlib
import importlib.util
import json
import math
import sys

import torch


def enc(t):
    t = t.detach().to("cpu")
    if t.dtype == torch.bool:
        t = t.to(torch.int64)
    return [None if isinstance(v, float) and math.isnan(v) else v for v in t.reshape(-1).tolist()]


def tensor(spec, dtype):
    kind = spec.get("dtype", "f32")
    if kind == "f32":
        data = [float("nan") if v is None else v for v in spec["data"]]
        return torch.tensor(data, dtype=dtype).reshape(spec["shape"])
    if kind == "bool":
        return torch.tensor(spec["data"], dtype=torch.bool).reshape(spec["shape"])
    return torch.tensor(spec["data"], dtype=torch.int64).reshape(spec["shape"])


def run(job, modules):
    kind = job["kind"]
    if kind == "philox":
        E = modules["estc_torch"]
        return {"values": enc(E.random(job["seed"], job["site"], job["stream"], [job["n"]], job["draw"], torch.float32, torch.device("cpu"))),
                "words": enc(E.philox_words(job["seed"], job["site"], job["stream"], job["n"], torch.device("cpu")))}
    mod = modules[job["module"]]
    fn = getattr(mod, job["fn"])
    dtype = torch.float64 if job.get("double") else torch.float32
    args = [tensor(s, dtype) for s in job["inputs"]]
    for a in args:
        if a.dtype == dtype:
            a.requires_grad_(True)
    kwargs = dict(job.get("scalars", {}))
    if "seed" in job:
        kwargs["seed"] = job["seed"]
    if kind == "double":
        # A second derivative through the generated Function: torch's once_differentiable error.
        out = fn(*args, **kwargs)
        try:
            grads = torch.autograd.grad(out.sum(), [a for a in args if a.requires_grad], create_graph=True)
            sum(g.sum() for g in grads).backward()
        except RuntimeError as e:
            return {"error": str(e), "code": getattr(e, "code", None)}
        return {"ok": True}
    if kind == "compile":
        return compile_job(mod, fn, args, kwargs)
    if kind == "modes":
        # Plain eager use: under no_grad and inference_mode the forward is the same and records nothing.
        want = fn(*args, **kwargs)
        with torch.no_grad():
            a = fn(*args, **kwargs)
        with torch.inference_mode():
            b = fn(*[x.detach() for x in args], **kwargs)
        return {"same": bool(torch.equal(a, want) and torch.equal(b, want)), "recorded": [a.grad_fn is not None, b.grad_fn is not None, want.grad_fn is not None]}
    if kind == "gradcheck":
        f = lambda *xs: fn(*xs, **kwargs)
        ok = torch.autograd.gradcheck(f, tuple(args), eps=1e-6, atol=1e-5, rtol=1e-4, raise_exception=False)
        return {"ok": bool(ok)}
    try:
        out = fn(*args, **kwargs)
    except Exception as e:  # the call-time checks' messages are what the test reads
        return {"error": str(e), "code": getattr(e, "code", None)}
    outs = list(out) if isinstance(out, tuple) else [out]
    result = {"outputs": [enc(o) for o in outs]}
    cts = job.get("cotangents")
    if cts is not None:
        diff = [(o, tensor(c, dtype)) for o, c in zip(outs, cts) if o.requires_grad]
        if diff:
            torch.autograd.backward([o for o, _ in diff], [c for _, c in diff])
        result["grads"] = [None if a.grad is None else enc(a.grad) for a in args]
    return result


def compile_job(mod, fn, args, kwargs):
    """torch.compile of a generated fn where torch has it: graph breaks (torch._dynamo.explain) and
    the compiled forward and gradients against eager; else the reason it is skipped."""
    reason = mod.E.compile_unavailable()
    if reason is not None:
        return {"skipped": reason}
    import torch._dynamo as dynamo
    f = lambda *xs: fn(*xs, **kwargs)
    explained = dynamo.explain(f)(*args)
    breaks = getattr(explained, "graph_break_count", None)
    want = f(*args)
    want_grads = torch.autograd.grad(want.sum(), [a for a in args if a.requires_grad])
    compiled = torch.compile(f, fullgraph=True, backend="aot_eager")
    got = compiled(*args)
    got_grads = torch.autograd.grad(got.sum(), [a for a in args if a.requires_grad])
    diff = max([(got - want).abs().max().item()] + [(g - w).abs().max().item() for g, w in zip(got_grads, want_grads)])
    return {"graph_breaks": breaks, "max_diff": diff}


def main():
    req = json.load(sys.stdin)
    sys.path.insert(0, req["dir"])
    modules = {"estc_torch": importlib.import_module("estc_torch")}
    for j in req["jobs"]:
        name = j.get("module")
        if name is None or name in modules:
            continue
        if name.endswith(".py"):
            # A module given by path: two built files of one name (std/policy, examples/policy) both load.
            spec = importlib.util.spec_from_file_location(f"estc_test_{len(modules)}", name)
            modules[name] = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(modules[name])
        else:
            modules[name] = importlib.import_module(name)
    torch.set_num_threads(1)
    results = []
    for job in req["jobs"]:
        try:
            results.append(run(job, modules))
        except Exception as e:
            results.append({"crash": f"{type(e).__name__}: {e}"})
    json.dump({"torch": torch.__version__, "results": results}, sys.stdout)


main()
