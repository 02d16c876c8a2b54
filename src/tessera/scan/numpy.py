"""Scan on the NumPy backend: one compiled inner function, a generated loop.

The inner graph is rewritten and linked once per op with the NumPy
backend's straight-line linker (:func:`~tessera.compile.backends.numpy.numpy_link`).
The loop itself is generated Python too, specialised to the node: output
buffers are allocated once (a recurrent output's buffer holds its initial
rows, then one row per step), each step reads its slices as views
(``x[t, ...]``, a 0-d array even for scalars, so the inner function's input
checks take their fast path) and writes its results into the buffers.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tessera.compile.backends.numpy.dispatch import numpy_funcify
from tessera.compile.backends.numpy.linker import numpy_link
from tessera.compile.backends.registry import NUMPY
from tessera.graph.fg import FunctionGraph
from tessera.scan.op import Scan, ScanInfo, check_lengths, check_step_shape


def inner_numpy_function(op: Scan) -> Callable:
    """The inner graph rewritten and linked with the NumPy linker (cached).

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> x = ts.tensor("x", shape=(None,))
    >>> ys, _ = ts.scan(lambda xt, acc: acc + xt, sequences=[x],
    ...                 outputs_info=[ts.constant(0.0)])
    >>> f = inner_numpy_function(ys.owner.op)
    >>> f(np.array(2.0), np.array(1.0))
    [array(3.)]
    """
    fn = op.cache.get("numpy")
    if fn is None:
        from tessera.rewrite import rewrite_graph

        fg = FunctionGraph(op.inner_inputs, op.inner_outputs, clone=True)
        rewrite_graph(fg, "fast_run", exclude=NUMPY.exclude)
        # the loop passes slices of checked buffers and the step's own
        # outputs (their types fixed when the op was built): no input checks
        fn, _ = numpy_link(
            fg, fg.inputs, len(fg.outputs), [], single=False, check_inputs=False
        )
        op.cache["numpy"] = fn
    return fn


def _loop_source(info: ScanInfo) -> str:
    """Python source of the loop for a Scan of this layout."""
    seqs = [f"s{k}" for k in range(info.n_seqs)]
    inits = [f"b{j}" for j in range(info.n_mit)]
    carries = [f"c{k}" for k in range(info.n_carry)]
    non_seqs = [f"q{k}" for k in range(info.n_non_seqs)]
    lines = [f"def scan_loop(n, {', '.join(seqs + inits + carries + non_seqs)}):"]
    lines.append("    n = int(n)")
    lines.append(
        f"    _check_lengths(_info, n, [{', '.join(seqs)}], [{', '.join(inits)}])"
    )
    for j, L in enumerate(info.max_lags):
        lines.append(f"    m{j} = _empty((n + {L},) + b{j}.shape[1:], _mdt{j})")
        lines.append(f"    m{j}[:{L}] = b{j}")
    for k in range(info.n_nit):
        lines.append(f"    o{k} = _empty_nit{k}(n)")
    results = [f"r{k}" for k in range(info.n_outputs)]
    args = [f"s{k}[t, ...]" for k in range(info.n_seqs)]
    for j, (taps, L) in enumerate(zip(info.mit_taps, info.max_lags)):
        args += [f"m{j}[t + {L + k}, ...]" for k in taps]
    args += carries + non_seqs
    lines.append("    for t in range(n):")
    target = ", ".join(results) + ("," if len(results) == 1 else "")
    lines.append(f"        {target} = _inner({', '.join(args)})")
    if info.n_mit or info.n_nit:
        lines.append("        if t == 0:")
        for j in range(info.n_mit):
            lines.append(
                f"            _check_shape(_label, {j}, r{j}.shape, b{j}.shape[1:])"
            )
        for k in range(info.n_nit):
            r = f"r{info.n_mit + k}"
            lines.append(f"            o{k} = _empty((n,) + _shape({r}), _odt{k})")
        if not (info.n_mit or info.n_nit):
            lines.append("            pass")
    for j, L in enumerate(info.max_lags):
        lines.append(f"        m{j}[t + {L}] = r{j}")
    for k in range(info.n_nit):
        lines.append(f"        o{k}[t] = r{info.n_mit + k}")
    for k in range(info.n_carry):
        lines.append(f"        c{k} = r{info.n_mit + info.n_nit + k}")
    outs = [f"m{j}[{L}:]" for j, L in enumerate(info.max_lags)]
    outs += [f"o{k}" for k in range(info.n_nit)] + carries
    lines.append(f"    return ({', '.join(outs)}{',' if len(outs) == 1 else ''})")
    return "\n".join(lines) + "\n"


@numpy_funcify.register(Scan)
def _funcify_scan(op: Scan, node) -> Callable:
    info = op.info
    ns: dict[str, object] = {
        "_info": info,
        "_label": info.label(),
        "_inner": inner_numpy_function(op),
        "_empty": np.empty,
        "_shape": np.shape,
        "_check_lengths": check_lengths,
        "_check_shape": check_step_shape,
    }
    for j in range(info.n_mit):
        ns[f"_mdt{j}"] = node.outputs[j].type.numpy_dtype
    for k in range(info.n_nit):
        out = node.outputs[info.n_mit + k]
        dtype = out.type.numpy_dtype
        shape = tuple(0 if s is None else s for s in out.type.shape[1:])
        ns[f"_odt{k}"] = dtype
        # the shape of an output not fed back is known after the first step;
        # an empty loop gives its static shape (unknown dims as 0)
        ns[f"_empty_nit{k}"] = lambda n, _s=shape, _d=dtype: np.empty((n, *_s), _d)
    src = _loop_source(info)
    exec(compile(src, f"<tessera-{op}>", "exec"), ns)
    loop = ns["scan_loop"]
    if info.n_outputs == 1:
        return lambda *args: loop(*args)[0]
    return loop
