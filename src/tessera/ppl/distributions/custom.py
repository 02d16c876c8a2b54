"""CustomDist: user-defined distributions, from functions or from other distributions.

Two forms, as in PyMC:

* **callables**: ``logp(value, *params)`` returns a tessera graph of the
  log-density (batch-shaped: event dims reduced), ``random(*params, rng=,
  size=)`` returns a NumPy array of shape ``size + event shape``, and
  optionally ``logcdf(value, *params)`` and ``support_point(*params)``
  (the model's initial point; zeros by default). Without ``random`` the
  variable still has a log-density (NUTS, MAP, VI work); drawing it raises.
  The log-density graph is made of tessera ops, so it runs on every
  backend; ``random`` is NumPy code, so draws cannot run on JAX (the
  ``backend="auto"`` choice falls back to NumPy, naming the op).
* **dist=**: ``dist(*params, size)`` builds the variable from other
  distributions' ``.dist(...)`` and tensor ops. Draws run that graph; the
  log-density is derived from it (:mod:`.transformed_logp`: the change of
  variables through invertible elementwise ops), unless ``logp`` is given.

``signature`` (``"(),()->()"``, ``"(n),(n,n)->(n)"``) gives the core dims of
the parameters and of a draw; by default every parameter is a scalar and
draws have ``ndim_supp`` (0) event dims. Parameters with batch dims
broadcast as for every distribution.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tessera.config import config
from tessera.graph.basic import Variable
from tessera.graph.traversal import ancestors, clone_replace
from tessera.ops.basic import as_tensor
from tessera.ops.creation import zeros
from tessera.ops.signature import parse_signature
from tessera.ops.type import TensorType
from tessera.ppl.distributions.base import register_op
from tessera.ppl.distributions.per_call import PerCallDistribution
from tessera.ppl.distributions.transformed_logp import transformed_logp
from tessera.random.op import RandomVariable
from tessera.random.type import RandomGeneratorType, is_none_const

__all__ = ["CustomDist", "CustomDistRV", "SymbolicCustomDistRV"]


def _default_signature(n_params: int, ndim_supp: int, who: str) -> str:
    if ndim_supp:
        raise ValueError(
            f"CustomDist {who!r}: ndim_supp={ndim_supp} needs a signature giving "
            "the core dims of the parameters and of a draw, e.g. "
            "signature='(n),(n,n)->(n)'"
        )
    return ",".join(["()"] * n_params) + "->()"


def _resolve_dtype(dtype: str) -> str:
    return config.floatX if dtype == "floatX" else np.dtype(dtype).name


class CustomDistRV(RandomVariable):
    """Sampler of a CustomDist given by callables: ``random(*params, rng, size)``.

    Parameters
    ----------
    dist_name : str
        The variable's name (or ``"CustomDist"``), for error messages.
    random, logp, logcdf, support_point : callable or None
    signature : str
    dtype : str
    """

    name = "custom_dist"
    __props__ = (
        "dist_name",
        "random",
        "logp",
        "logcdf",
        "support_point",
        "signature",
        "dtype",
    )

    def __init__(
        self, dist_name, random, logp, logcdf, support_point, signature, dtype
    ):
        self.dist_name = dist_name
        self.random = random
        self.logp = logp
        self.logcdf = logcdf
        self.support_point = support_point
        super().__init__(signature=signature, dtype=dtype)

    def __str__(self) -> str:
        return f"CustomDist({self.dist_name})"

    def rng_fn(self, rng, *params, size):
        if self.random is None:
            raise NotImplementedError(
                f"CustomDist {self.dist_name!r} cannot be drawn: no `random` "
                "function was given (pass random=fn(*params, rng=, size=) or "
                "dist=fn(*params, size))"
            )
        out = np.asarray(self.random(*params, rng=rng, size=tuple(size)))
        return out.astype(np.dtype(self.out_dtype()), copy=False)


class SymbolicCustomDistRV(RandomVariable):
    """Sampler of a CustomDist built by ``dist(*params, size)`` (an inner graph).

    The inner graph maps placeholders of the parameters and of the size (an
    int64 vector), and one generator placeholder per inner draw, to the
    draw. ``rng_fn`` runs it on the NumPy backend with generators spawned
    from its own.
    """

    name = "custom_dist"
    __props__ = ("dist_name", "inner_output", "signature", "dtype")

    def __init__(
        self,
        dist_name: str,
        param_inputs: Sequence[Variable],
        size_input: Variable,
        rng_inputs: Sequence[Variable],
        inner_output: Variable,
        signature: str,
        dist_fn: Callable,
        overrides: tuple = (None, None, None),
    ):
        self.dist_name = dist_name
        #: user logp, logcdf and support_point taking precedence
        self.overrides = tuple(overrides)
        self.param_inputs = list(param_inputs)
        self.size_input = size_input
        self.rng_inputs = list(rng_inputs)
        self.inner_output = inner_output
        self.dist_fn = dist_fn
        self._compiled = {}
        super().__init__(signature=signature, dtype=inner_output.dtype)

    def __str__(self) -> str:
        return f"CustomDist({self.dist_name})"

    def rng_fn(self, rng, *params, size):
        size = tuple(int(s) for s in size)
        key = (len(size), tuple((np.ndim(p), np.asarray(p).dtype.name) for p in params))
        fn = self._compiled.get(key)
        if fn is None:
            # a vectorized draw (more batch dims than the graph was built
            # with) rebuilds the graph for its own dims
            fn = self._compiled[key] = self._compile(key)
        gens = rng.spawn(fn.n_rngs)
        out = np.asarray(fn(*gens, np.asarray(size, dtype=np.int64), *params))
        if out.shape[: len(size)] != size:
            raise ValueError(
                f"CustomDist {self.dist_name!r}: dist returned a draw of shape "
                f"{out.shape}, not of batch shape {size}; pass `size` on to the "
                ".dist(...) calls"
            )
        return out

    def _compile(self, key):
        from tessera.compile.function import function

        batch_nd, specs = key
        params = [TensorType(dt, (None,) * nd)() for nd, dt in specs]
        phs, size_ph, rngs, out = inner_graph(
            self.dist_name, self.dist_fn, params, batch_nd, self.ndim_supp
        )
        fn = function([*rngs, size_ph, *phs], out, backend="numpy")
        fn.n_rngs = len(rngs)
        return fn

    def logp_graph(self, value: Variable, params: Sequence[Variable]) -> Variable:
        """The derived log-density at ``value`` with the node's ``params``."""
        out = clone_replace(self.inner_output, dict(zip(self.param_inputs, params)))
        lp = transformed_logp(out, value)
        leaked = {self.size_input, *self.rng_inputs} & set(ancestors([lp]))
        if leaked:
            raise NotImplementedError(
                f"CustomDist {self.dist_name!r}: the derived log-density depends "
                f"on {sorted(str(v) for v in leaked)}; give a logp function"
            )
        return lp


class CustomDist(PerCallDistribution):
    r"""A distribution defined by the user: by functions, or by a graph of others.

    Parameters
    ----------
    name : str
        (Model form only) the variable's name.
    *dist_params : tensor_like
        The parameters, passed on to ``logp``, ``random``, ``dist``...
    logp : callable, optional
        ``logp(value, *params) -> graph`` of the log-density, batch-shaped.
        Required unless ``dist`` is given.
    random : callable, optional
        ``random(*params, rng: np.random.Generator, size: tuple) -> ndarray``.
    logcdf : callable, optional
        ``logcdf(value, *params) -> graph``.
    support_point : callable, optional
        ``support_point(*params) -> graph``: a point in the support (the
        initial value of a free variable); zeros by default.
    dist : callable, optional
        ``dist(*params, size) -> variable`` built from ``.dist(...)`` of
        other distributions and tensor ops; its log-density is derived.
    signature : str, optional
        gufunc signature of parameters and draw, e.g. ``"(n),(n,n)->(n)"``.
    ndim_supp : int
        Event ndim of a draw when no signature is given (only 0 then).
    dtype : str
        ``"floatX"`` (default) or e.g. ``"int64"`` for a discrete variable
        (callable form; the ``dist`` form takes its graph's dtype).

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> from tessera import ppl
    >>> def logp(value, mu):
    ...     return -0.5 * (value - mu) ** 2 - 0.5 * np.log(2 * np.pi)
    >>> def random(mu, rng=None, size=None):
    ...     return rng.normal(mu, 1.0, size=size)
    >>> x = ppl.CustomDist.dist([0.0, 1.0], logp=logp, random=random)
    >>> ppl.logp(x, 0.0).eval().round(4)
    array([-0.9189, -1.4189])
    >>> ppl.draw(x, random_seed=0).shape
    (2,)
    >>> y = ppl.CustomDist.dist(
    ...     0.0, 1.0, dist=lambda mu, s, size: ts.exp(ppl.Normal.dist(mu, s, size=size))
    ... )
    >>> round(float(ppl.logp(y, 1.0).eval()), 4)  # a log-normal
    -0.9189
    """

    params = ()

    def __new__(cls, name: str, *args: Any, **kwargs: Any):
        # errors and op names say which variable, as PyMC's class_name does
        kwargs.setdefault("class_name", name)
        return super().__new__(cls, name, *args, **kwargs)

    @classmethod
    def dist(
        cls,
        *dist_params: Any,
        logp: Callable | None = None,
        random: Callable | None = None,
        logcdf: Callable | None = None,
        support_point: Callable | None = None,
        dist: Callable | None = None,
        signature: str | None = None,
        ndim_supp: int | None = None,
        dtype: str = "floatX",
        class_name: str = "CustomDist",
        size: Any = None,
        shape: Any = None,
        rng: Any = None,
    ) -> Variable:
        """An unregistered CustomDist variable (see the class docstring)."""
        who = class_name
        params = [_as_param(p) for p in dist_params]
        if signature is None:
            signature = _default_signature(len(params), ndim_supp or 0, who)
        if shape is not None:
            if size is not None:
                raise TypeError(f"CustomDist {who!r}: give size or shape, not both")
            shape = (shape,) if isinstance(shape, int) else tuple(shape)
            nd = parse_signature(signature).output_ndims[0]
            size = shape[: len(shape) - nd] if nd else shape
        if dist is not None:
            if random is not None:
                raise TypeError(f"CustomDist {who!r}: give dist or random, not both")
            overrides = (logp, logcdf, support_point)
            op = _symbolic_op(who, dist, params, size, signature, overrides)
        else:
            if logp is None:
                raise TypeError(
                    f"CustomDist {who!r}: give a logp function (or a dist function "
                    "to derive it from)"
                )
            for what, fn in (
                ("logp", logp),
                ("random", random),
                ("logcdf", logcdf),
                ("support_point", support_point),
            ):
                if fn is not None and not callable(fn):
                    raise TypeError(f"CustomDist {who!r}: {what} must be callable")
            op = CustomDistRV(
                who, random, logp, logcdf, support_point, signature, dtype
            )
        try:
            return op(*params, size=size, rng=rng)
        except ValueError as err:
            raise ValueError(f"CustomDist {who!r}: {err}") from err

    @classmethod
    def _draw_dtype(cls, *args: Any, **kwargs: Any) -> str:
        if kwargs.get("dist") is None:
            return _resolve_dtype(kwargs.get("dtype", "floatX"))
        return cls.dist(*args, **kwargs).dtype

    # --- maths, from the op --------------------------------------------------
    @classmethod
    def node_logp(cls, op, value, params):
        user = _user_fn(op, "logp")
        if user is not None:
            return _as_float_graph(user(value, *params), op, "logp")
        return op.logp_graph(value, params)

    @classmethod
    def node_logcdf(cls, op, value, params):
        user = _user_fn(op, "logcdf")
        if user is None:
            raise NotImplementedError(
                f"CustomDist {op.dist_name!r} has no log-CDF: pass logcdf=..."
            )
        return _as_float_graph(user(value, *params), op, "logcdf")

    @classmethod
    def node_moment(cls, op, params):
        user = _user_fn(op, "support_point")
        if user is not None:
            return as_tensor(user(*params))
        return zeros((), dtype=op.out_dtype())


def _user_fn(op, what: str):
    if isinstance(op, CustomDistRV):
        return getattr(op, what)
    logp, logcdf, support_point = op.overrides
    return {"logp": logp, "logcdf": logcdf, "support_point": support_point}[what]


def _as_param(p: Any) -> Variable:
    p = as_tensor(p)
    if p.dtype.startswith("float") and p.dtype != config.floatX:
        p = p.astype(config.floatX)
    return p


def _as_float_graph(out: Any, op, what: str) -> Variable:
    if out is None or not isinstance(out, Variable | np.ndarray | float | int):
        raise TypeError(
            f"CustomDist {op.dist_name!r}: {what} must return a tessera graph, "
            f"got {type(out).__name__}"
        )
    out = as_tensor(out)
    return out if out.dtype == config.floatX else out.astype(config.floatX)


def _symbolic_op(
    who, dist_fn, params, size, signature, overrides
) -> SymbolicCustomDistRV:
    """Build ``dist_fn`` on placeholders: the inner graph of the op."""
    sig = parse_signature(signature)
    batch_nd = _batch_ndim(sig.input_ndims, params, size)
    phs, size_ph, rngs, inner = inner_graph(
        who, dist_fn, params, batch_nd, sig.output_ndims[0], signature
    )
    return SymbolicCustomDistRV(
        who, phs, size_ph, rngs, inner, signature, dist_fn, overrides
    )


def inner_graph(who, dist_fn, params, batch_nd, ndim_supp, signature=None):
    """``dist_fn`` applied to placeholders of ``params`` and of a size vector.

    Returns the parameter placeholders, the size placeholder, one generator
    placeholder per inner draw and the draw.
    """
    phs = [
        TensorType(p.dtype, (None,) * p.ndim)(name=f"param{k}")
        for k, p in enumerate(params)
    ]
    size_ph = TensorType("int64", (batch_nd,))(name="size")
    out = dist_fn(*phs, size_ph)
    if not isinstance(out, Variable):
        raise TypeError(
            f"CustomDist {who!r}: dist must return a tessera variable, got "
            f"{type(out).__name__}"
        )
    if out.ndim != batch_nd + ndim_supp:
        raise ValueError(
            f"CustomDist {who!r}: dist returned a variable with {out.ndim} dims; "
            f"expected {batch_nd} batch dims plus {ndim_supp} event dims "
            f"(signature {signature!r}); pass `size` on to the .dist(...) calls"
        )
    draws = [
        v.owner
        for v in ancestors([out])
        if v.owner is not None and isinstance(v.owner.op, RandomVariable)
    ]
    if not draws:
        raise ValueError(
            f"CustomDist {who!r}: dist returned a graph without random variables"
        )
    rngs = {}
    for node in draws:
        rng = node.inputs[0]
        if rng.owner is None and rng not in rngs:
            rngs[rng] = RandomGeneratorType()(name=f"rng{len(rngs)}")
    inner = clone_replace(out, rngs) if rngs else out
    return phs, size_ph, list(rngs.values()), inner


def _batch_ndim(ndims_params, params, size) -> int:
    if size is not None and not (isinstance(size, Variable) and is_none_const(size)):
        if isinstance(size, int | np.integer):
            return 1
        if isinstance(size, Variable):
            return int(size.type.shape[0])
        return len(tuple(size))
    return max([p.ndim - nd for p, nd in zip(params, ndims_params)] + [0])


register_op(CustomDistRV, CustomDist)
register_op(SymbolicCustomDistRV, CustomDist)
