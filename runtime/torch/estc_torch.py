# estc_torch: the runtime of modules written by `estc build --emit torch` (docs/torch.md).
#
# `estc build` copies this file beside every generated module, so a module and the runtime it
# was generated against always travel together (the npm package is not a Python package; a copy
# next to the module needs no install). It holds what a generated function does that is more
# than one torch call: call-time checks with the JS runtime's messages and codes, the ops whose
# estc conventions differ from torch's (sign(0) = +1, argmax over several axes, 2:4 masks,
# gathers with a range check, max pooling that picks one tensor's winner and reads another's
# value), and Philox-4x32-10 draws computed with int64 torch ops, bit-identical to
# runtime/philox.ts and runtime/normal.ts.
import math
import re

import torch
import torch.nn.functional as F

__all__ = ["EstcRuntimeError"]


class EstcRuntimeError(RuntimeError):
    """A call the generated function cannot run; `code` is the E6xxx code estc's JS runtime uses."""

    def __init__(self, code, message):
        super().__init__(f"error[{code}]: {message}")
        self.code = code


_DTYPE_NAMES = {"f32": "f32", "i32": "i32", "bool": "bool"}


def _torch_type(t):
    """`f32[2, 3]` for a tensor, as the JS runtime prints a tensor's type."""
    if t.dtype == torch.bool:
        name = "bool"
    elif t.dtype.is_floating_point:
        name = "f32" if t.dtype != torch.float64 else "f64"
    else:
        name = "i32" if t.dtype in (torch.int32, torch.int64, torch.int16, torch.int8, torch.uint8) else str(t.dtype)
    return name if t.dim() == 0 else f"{name}[{', '.join(str(d) for d in t.shape)}]"


def _declared(dtype, shape, bound):
    if len(shape) == 0:
        return dtype
    dims = [str(d) if isinstance(d, int) else (f"{d}={bound[d][0]}" if d in bound else d) for d in shape]
    return f"{dtype}[{', '.join(dims)}]"


def bind_inputs(fn, inputs, values):
    """Checks each input against its declaration `(name, dtype, shape)` and binds the shape symbols.

    Raises EstcRuntimeError with the JS runtime's wording (runtime/validate.ts): E6007 for a rank
    or a dim that does not match (or a value that is not a tensor), E6005 for a wrong dtype.
    Returns (dims, float dtype, device).
    """
    bound = {}
    computed = []
    fdtype = None
    device = None
    for (name, dtype, shape), value in zip(inputs, values):
        def mismatch(code, got, why=""):
            raise EstcRuntimeError(code, f"{fn}: input '{name}': expected {_declared(dtype, shape, bound)}, got {got}{why}")

        if not isinstance(value, torch.Tensor):
            how = ""
            if len(shape) == 0 and isinstance(value, (int, float)):
                how = f"; '{name}' has no default in the .est, so it is a rank-0 tensor input: pass torch.tensor({value}), or give it a default ({name}: {dtype} = …) to make it an option"
            mismatch("E6007", type(value).__name__, how)
        got = _torch_type(value)
        ok = (
            value.dtype in (torch.float32, torch.float64) if dtype == "f32"
            else value.dtype == torch.bool if dtype == "bool"
            else (not value.dtype.is_floating_point and value.dtype != torch.bool)
        )
        if not ok:
            mismatch("E6005", got)
        if dtype == "f32":
            if fdtype is not None and value.dtype != fdtype:
                mismatch("E6005", got, f" — the f32 inputs must share one torch dtype, and an earlier one is {fdtype}")
            fdtype = value.dtype
        if device is None:
            device = value.device
        if value.dim() != len(shape):
            mismatch("E6007", got, f" — rank {value.dim()}, not {len(shape)}")
        local = {}
        for axis, dim in enumerate(shape):
            size = int(value.shape[axis])
            if isinstance(dim, int):
                if size != dim:
                    mismatch("E6007", got, f" — dim {axis} must be {dim}")
                continue
            if not _SYMBOL.match(dim):
                computed.append((name, dtype, shape, got, axis, dim, size))
                continue
            earlier = bound.get(dim) or local.get(dim)
            if earlier is None:
                local[dim] = (size, name, axis)
            elif earlier[0] != size:
                where = f"axis {earlier[2]} of input '{name}'" if earlier[1] == name else f"input '{earlier[1]}'"
                mismatch("E6007", got, f" — {dim} is {earlier[0]} from {where}")
        bound.update(local)
    _settle_computed(fn, computed, bound)
    dims = {d: b[0] for d, b in bound.items()}
    return dims, fdtype or torch.float32, device or torch.device("cpu")


_SYMBOL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _dim_value(text, value):
    """Dim text (`49*C`, `K-1`, `(N+1)/2`) given its symbols' sizes: + - * on integers, / floor
    division, a leading - negating the first term — runtime/dims.ts's evaluateDimText."""
    tokens = re.findall(r"\d+|[A-Za-z_][A-Za-z0-9_]*|[-+*/()]|\S", text)
    at = [0]

    def peek():
        return tokens[at[0]] if at[0] < len(tokens) else None

    def take():
        at[0] += 1
        return tokens[at[0] - 1]

    def atom():
        t = take()
        if t == "(":
            v = total()
            take()
            return v
        return int(t) if t.isdigit() else value(t)

    def product():
        v = atom()
        while peek() in ("*", "/"):
            v = v * atom() if take() == "*" else v // atom()
        return v

    def total():
        negate = peek() == "-" and take() == "-"
        v = product()
        v = -v if negate else v
        while peek() in ("+", "-"):
            v = v + product() if take() == "+" else v - product()
        return v

    return total()


def _settle_computed(fn, computed, bound):
    """Binds the symbols only computed dims mention (solving a linear one for its one unbound
    symbol while that binds more), then checks each computed dim: runtime/validate.ts's
    settleComputedDims, with its E6007 words."""
    size = lambda sym: bound[sym][0]
    grew = True
    while grew:
        grew = False
        for name, _, _, _, axis, text, got in computed:
            free = [t for t in dict.fromkeys(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text)) if t not in bound]
            if len(free) != 1:
                continue
            at = lambda n: _dim_value(text, lambda t: n if t == free[0] else size(t))
            c = at(0)
            k = at(1) - c
            if k == 0 or (got - c) % k != 0:
                continue
            n = (got - c) // k
            if n >= 0 and at(n) == got:
                bound[free[0]] = (n, name, axis)
                grew = True
    for name, dtype, shape, got_type, axis, text, got in computed:
        free = [t for t in dict.fromkeys(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text)) if t not in bound]
        if not free and _dim_value(text, size) == got:
            continue
        why = f", which is {text} for no whole {', '.join(free)}" if free else f", not {text} = {_dim_value(text, size)}"
        raise EstcRuntimeError("E6007", f"{fn}: input '{name}': expected {_declared(dtype, shape, bound)}, got {got_type} — dim {axis} is {got}{why}")


def check_scalar(fn, name, dtype, value, lo=None, hi=None, required_by=None):
    """A runtime scalar: a finite number of its dtype (E6013) inside its `require` range (E6031), worded as runtime/validate.ts."""
    if isinstance(value, torch.Tensor) and value.dim() == 0:
        value = value.item()

    def bad(what):
        raise EstcRuntimeError("E6013", f"{fn}: option '{name}' must be {what}, got {value!r}")

    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        bad(f"a finite number ({dtype})")
    if dtype == "i32" and not (value == int(value) and -(2**31) <= value < 2**31):
        bad("an integer in the i32 range")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        lo_s, hi_s = (None if b is None else _js_number(b) for b in (lo, hi))
        rng = f"{lo_s} <= {name} <= {hi_s}" if lo is not None and hi is not None else f"{name} >= {lo_s}" if lo is not None else f"{name} <= {hi_s}"
        raise EstcRuntimeError("E6031", f"{fn}: option '{name}' is {_js_number(value)}, outside its valid range {rng} (required by {required_by or 'an estimator'})")
    return float(value) if dtype == "f32" else int(value)


def _js_number(v):
    """A number as JavaScript's String() prints it (0.5, 2, 1e-7), so messages match the JS runtime's."""
    return str(int(v)) if float(v).is_integer() and abs(v) < 1e21 else repr(float(v))


def check_seed(fn, seed):
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0 or seed >= 2**53:
        raise EstcRuntimeError("E6003", f"{fn}: seed must be an integer in [0, 2^53), got {seed!r}")
    return seed


def is_compiling():
    """True while torch.compile (Dynamo) traces the caller: the data-dependent checks below, which
    read tensor values on the host, are then left to torch's own (a read is a graph break)."""
    compiler = getattr(torch, "compiler", None)
    if compiler is not None and hasattr(compiler, "is_compiling"):
        return compiler.is_compiling()
    dynamo = getattr(torch, "_dynamo", None)
    return bool(dynamo is not None and hasattr(dynamo, "is_compiling") and dynamo.is_compiling())


def check_labels(fn, source, name, labels, k, k_name=None):
    """E6008 for the first one_hot label outside [0, k), worded as runtime/kernels.ts's checkIndexBounds.

    one_hot compares the labels with an iota, so an out-of-range label would give an all-zero row
    and a silently wrong loss. Skipped under torch.compile (see is_compiling); on CUDA tensors the
    check costs one device-to-host read of a bool.
    """
    if is_compiling() or labels.numel() == 0:
        return
    flat = labels.reshape(-1)
    bad = (flat < 0) | (flat >= k)
    if not bool(bad.any()):
        return
    j = int(torch.nonzero(bad)[0].item())
    bound = str(k) if k_name is None else f"{k_name} = {k}"
    raise EstcRuntimeError("E6008", f"{fn} ({source}): input '{name}': element {j} is {int(flat[j].item())}, outside [0, {bound}) — it is one_hot's labels, and a label out of range would give an all-zero row (check the labels, or K)")


def second_derivative(fn):
    """E6032: a backward run with create_graph=True, which would differentiate the backward itself."""
    return EstcRuntimeError("E6032", f"{fn}: the torch functions estc generates are differentiable once: their backward is estc's vjp, not a graph torch can differentiate again, so create_graph=True (a double backward, a gradient penalty, a Hessian-vector product) through '{fn}' is not supported; take first derivatives only, or compute the second-order quantity with estc's own back ends")


def fit(x, shape):
    """`x` broadcast to `shape` and made contiguous: an output or gradient has the declared shape."""
    return x.expand(shape).contiguous() if tuple(x.shape) != tuple(shape) else x


# ------------------------------------------------------------------ elementwise conventions


def sign(x):
    """estc's sign: +1 where x >= 0 (so sign(±0) = +1), -1 where x < 0, NaN where x is NaN (as the
    JS, Wasm and WGSL kernels). torch.sign(0) is 0."""
    # The mask cast and scaled in place: on torch 1.13's CPU, 2-3x faster than torch.where over
    # 0-dim ±1 and 3-4x faster than torch.where over two filled tensors. NaN is put back after.
    s = (x >= 0).to(x.dtype).mul_(2).sub_(1)
    return torch.where(torch.isnan(x), x, s) if x.is_floating_point() else s


def step(x):
    """estc's step: 1 where x > 0, 0 where x <= 0, NaN where x is NaN (as the other back ends)."""
    s = (x > 0).to(x.dtype)
    return torch.where(torch.isnan(x), x, s) if x.is_floating_point() else s


def signum(x):
    """Three-valued sign that passes NaN through, as Math.sign (torch.sign(NaN) is 0 on some builds)."""
    return torch.where(torch.isnan(x), x, torch.sign(x))


def softplus(x):
    """log1p(exp(-|x|)) + max(x, 0): never overflows, and no threshold as in torch's F.softplus."""
    return torch.log1p(torch.exp(-torch.abs(x))) + torch.clamp_min(x, 0)


def to_i32(x):
    """estc's f32 -> i32: truncation toward zero that saturates to [-2^31, 2^31 - 1], NaN giving 0
    (docs/language.md §10); computed in float64, which holds both bounds exactly. As int64."""
    t = torch.nan_to_num(x.to(torch.float64), nan=0.0, posinf=2.0**31 - 1, neginf=-(2.0**31))
    return torch.clamp(torch.trunc(t), -(2.0**31), 2.0**31 - 1).to(torch.int64)


def wrap_i32(x):
    """An int64 result of i32 arithmetic wrapped modulo 2^32 into [-2^31, 2^31), as estc's i32 wraps."""
    return torch.remainder(x + 2**31, 2**32) - 2**31


def mod_i32(a, b):
    """estc's i32 %: floored (the sign of the divisor), and x % 0 = 0 where torch would raise."""
    zero = b == 0
    return torch.where(zero, torch.zeros_like(a), torch.remainder(a, torch.where(zero, torch.ones_like(b), b)))


def nonzero(c):
    return c if c.dtype == torch.bool else c != 0


def iota(shape, axis, dtype, device):
    n = shape[axis]
    view = [1] * len(shape)
    view[axis] = n
    return torch.arange(n, dtype=dtype, device=device).reshape(view).expand(shape)


# ------------------------------------------------------------------ reductions and structure


def arg_reduce(x, axes, keepdims, largest, dtype):
    """ArgMax/ArgMin over `axes`: the row-major index within the reduced block; first wins ties, NaN is the extreme."""
    rank = x.dim()
    axes = list(range(rank)) if len(axes) == 0 else list(axes)
    kept = [a for a in range(rank) if a not in axes]
    moved = x.permute(kept + axes).reshape([x.shape[a] for a in kept] + [-1])
    if not largest:
        # argmin with NaN as the extreme: flip the order but keep NaN first.
        moved = torch.where(torch.isnan(moved), moved, -moved)
    idx = torch.argmax(moved, dim=-1)
    if keepdims:
        idx = idx.reshape([1 if a in axes else x.shape[a] for a in range(rank)])
    return idx.to(dtype)


def gather(x, idx, axis):
    """NumPy take(x, idx, axis); an index outside [0, size) is E6008, never wrapped."""
    size = x.shape[axis]
    flat = idx.reshape(-1).long()
    # Under torch.compile the range check is index_select's own (an error too, with torch's wording).
    if not is_compiling() and flat.numel() > 0 and (bool((flat < 0).any()) or bool((flat >= size).any())):
        bad = flat[(flat < 0) | (flat >= size)][0].item()
        raise EstcRuntimeError("E6008", f"gather: index {bad} is out of range [0, {size}) on axis {axis}")
    out = torch.index_select(x, axis, flat)
    return out.reshape(list(x.shape[:axis]) + list(idx.shape) + list(x.shape[axis + 1:]))


def gather_grad(ct, idx, axis, shape):
    """The scatter-add of a gather's cotangent into zeros of x's shape."""
    flat = idx.reshape(-1).long()
    pre = list(shape[:axis])
    post = list(shape[axis + 1:])
    src = ct.reshape(pre + [flat.numel()] + post)
    return torch.zeros(shape, dtype=ct.dtype, device=ct.device).index_add_(axis, flat, src)


def nm_mask(w, n, m, dtype):
    """1 for the n largest |w| of each group of m on the last axis; lower index wins ties, NaN ranks as 0."""
    mag = torch.nan_to_num(torch.abs(w), nan=0.0).reshape(-1, m)
    order = torch.sort(-mag, dim=1, stable=True).indices[:, :n]
    mask = torch.zeros(mag.shape, dtype=torch.bool, device=w.device).scatter_(1, order, True)
    return mask.reshape(w.shape).to(dtype)


# ------------------------------------------------------------------ convolutions and poolings (NCHW)


def conv2d_input_grad(ct, w, shape, stride, padding, dilation, groups):
    return torch.nn.grad.conv2d_input(list(shape), w, ct, stride, padding, dilation, groups)


def conv2d_weight_grad(x, ct, shape, stride, padding, dilation, groups):
    return torch.nn.grad.conv2d_weight(x, list(shape), ct, stride, padding, dilation, groups)


def _pool_indices(x, kernel, stride, padding):
    # torch picks the first maximum of a window in row-major order, as estc does; padding never wins.
    return F.max_pool2d(x, kernel, stride, padding, return_indices=True)[1]


def max_pool2d(x, v, kernel, stride, padding):
    """v at the winner of each window of x (max pooling itself is v = x)."""
    idx = _pool_indices(x, kernel, stride, padding)
    out = v.flatten(2).gather(2, idx.flatten(2))
    return out.reshape(idx.shape)


def max_pool2d_grad(x, ct, kernel, stride, padding):
    idx = _pool_indices(x, kernel, stride, padding)
    grad = torch.zeros_like(x).flatten(2)
    return grad.scatter_add_(2, idx.flatten(2), ct.flatten(2)).reshape(x.shape)


def avg_pool2d(x, kernel, stride, padding):
    return F.avg_pool2d(x, kernel, stride, padding, ceil_mode=False, count_include_pad=True)


def avg_pool2d_grad(ct, shape, kernel, stride, padding):
    like = torch.empty(shape, dtype=ct.dtype, device=ct.device)
    return torch.ops.aten.avg_pool2d_backward(ct, like, kernel, stride, padding, False, True, None)


# ------------------------------------------------------------------ Philox-4x32-10 (runtime/philox.ts)

_M0, _M1 = 0xD2511F53, 0xCD9E8D57
_W0, _W1 = 0x9E3779B9, 0xBB67AE85
_MASK = 0xFFFFFFFF
_MAX_ELEMENTS = 2**34


def _mul_hi_lo(m, c):
    """(hi, lo) 32-bit words of the 64-bit product m·c for the constant m and u32 tensor c, without int64 overflow."""
    a = c * (m & 0xFFFF)
    b = c * (m >> 16)
    hi = (b + (a >> 16)) >> 16
    lo = (a + ((b & 0xFFFF) << 16)) & _MASK
    return hi & _MASK, lo


def philox_words(seed, site, stream, n, device):
    """The u32 words (as int64) of elements 0..n-1 of sampling site `site` and `stream` under `seed`."""
    if n > _MAX_ELEMENTS:
        raise EstcRuntimeError("E6003", f"element range [0, {n}) is outside [0, 2^34)")
    k0, k1 = seed % 2**32, seed // 2**32
    blocks = (n + 3) // 4
    c0 = torch.arange(blocks, dtype=torch.int64, device=device)
    c1 = torch.full_like(c0, site)
    c2 = torch.full_like(c0, stream)
    c3 = torch.zeros_like(c0)
    for r in range(10):
        if r > 0:
            k0 = (k0 + _W0) & _MASK
            k1 = (k1 + _W1) & _MASK
        hi0, lo0 = _mul_hi_lo(_M0, c0)
        hi1, lo1 = _mul_hi_lo(_M1, c2)
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
    return torch.stack([c0, c1, c2, c3], dim=1).reshape(-1)[:n]


def _f32(v, device):
    return torch.tensor(v, dtype=torch.float32, device=device)


def _bits(x):
    return x.view(torch.int32).to(torch.int64) & _MASK


def _from_bits(b):
    return (((b + 2**31) % 2**32) - 2**31).to(torch.int32).view(torch.float32)


def _reciprocal(d):
    r = _from_bits(0x7EF311C3 - _bits(d))
    for _ in range(4):
        r = r * (2 - d * r)
    return r


def _square_root(v):
    y = _from_bits(0x5F3759DF - (_bits(v) >> 1))
    h = 0.5 * v
    for _ in range(4):
        y = y * (1.5 - (h * y) * y)
    return v * y


_LN2_HI = 0.693145751953125


def _log_of_bits(b, offset):
    dev = b.device
    e = (b >> 23) - 127 - offset
    x = _from_bits((b & 0x007FFFFF) | 0x3F800000)
    big = x >= _f32(math.sqrt(2), dev)
    x = torch.where(big, x * 0.5, x)
    e = (e + big.to(torch.int64)).to(torch.float32)
    s = (x - 1) * _reciprocal(x + 1)
    s2 = s * s
    atanh = [_f32(1 / k, dev) for k in (3, 5, 7, 9, 11)]
    p = atanh[4].expand_as(s2)
    for k in (3, 2, 1, 0):
        p = atanh[k] + s2 * p
    lnx = 2 * s + ((2 * s) * s2) * p
    return e * _f32(_LN2_HI, dev) + (lnx + e * _f32(math.log(2) - _LN2_HI, dev))


def _log_of_open(m):
    return _log_of_bits(_bits(m.to(torch.float32)), 24)


def _poly(coeffs, t2):
    p = coeffs[5].expand_as(t2)
    for k in (4, 3, 2, 1, 0):
        p = coeffs[k] + t2 * p
    return p


def _cos_turn(k):
    dev = k.device
    fact = [math.factorial(i) for i in range(14)]
    cos_c = [_f32((-1 if n % 2 == 0 else 1) / fact[i], dev) for n, i in enumerate((2, 4, 6, 8, 10, 12))]
    sin_c = [_f32((-1 if n % 2 == 0 else 1) / fact[i], dev) for n, i in enumerate((3, 5, 7, 9, 11, 13))]
    q = k >> 22
    r = k & 0x3FFFFF
    upper = r >= 0x200000
    t = r.to(torch.float32) * 2**-22
    a = torch.where(upper, 1 - t, t)
    t2c = (a * a) * _f32((math.pi / 2) ** 2, dev)
    cos_v = 1 + t2c * _poly(cos_c, t2c)
    ts = a * _f32(math.pi / 2, dev)
    t2s = ts * ts
    sin_v = ts + (ts * t2s) * _poly(sin_c, t2s)
    use_sin = ((q & 1) == 1) != upper
    v = torch.where(use_sin, sin_v, cos_v)
    return torch.where((q == 1) | (q == 2), -v, v)


def random(seed, site, stream, shape, kind, dtype, device):
    """Philox draws of a Random node (compiler/interpret.ts): element i row-major over `shape`.

    kind is "uniform" ([0, 1)), "open" ((0, 1)), "normal" (Box–Muller of streams 0 and 1) or
    "gumbel"; each is computed in f32 exactly as runtime/normal.ts does, then cast to `dtype`.
    """
    n = 1
    for d in shape:
        n *= d
    w = philox_words(seed, site, 0 if kind == "normal" else stream, n, device)
    if kind == "uniform":
        v = (w >> 8).to(torch.float64) * 2.0**-24
    elif kind == "open":
        v = ((w >> 9).to(torch.float64) + 0.5) * 2.0**-23
    elif kind == "normal":
        angles = philox_words(seed, site, 1, n, device)
        radius = _square_root(-2 * _log_of_open(2 * (w >> 9) + 1))
        v = radius * _cos_turn(angles >> 8)
    elif kind == "gumbel":
        lnu = _log_of_open(2 * (w >> 9) + 1)
        v = -_log_of_bits(_bits(-lnu), 0)
    else:
        raise ValueError(f"estc_torch.random: unknown kind {kind!r}")
    return v.to(dtype).reshape(shape)


def compile_unavailable():
    """Why torch.compile cannot be used here (a sentence), or None where this torch has it."""
    if getattr(torch, "compile", None) is None:
        return f"torch {torch.__version__} has no torch.compile (it arrived in PyTorch 2.0)"
    return None


def compile_if_available(fn, **options):
    """torch.compile(fn, **options) where this torch has it (2.x); fn itself on 1.x (compile_unavailable() says why)."""
    return fn if compile_unavailable() is not None else torch.compile(fn, **options)
