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
