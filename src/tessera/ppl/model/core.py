"""The Model: named random variables, data, deterministics (its coords and
dims: :mod:`tessera.ppl.model.dims`).

Inside ``with ppl.Model(coords=...) as model:``, ``ppl.Normal("x", ...)``
creates a draw with ``ppl.Normal.dist(...)`` and registers it under ``"x"``
(see :meth:`Model.register_distribution`):

* a *free* random variable gets a *value variable* on the unconstrained
  space (``x_log__`` for a positive ``x``), the input of the model's
  compiled log-density (see :mod:`tessera.ppl.model.compile`);
* an *observed* one (``observed=array``) is conditioned on its data.

Dims
----
``dims`` names every axis of a variable (event axes included) after the
model's coords. A dim's length comes from ``Model(coords=...)`` (fixed) or
from a :func:`~tessera.ppl.Data` variable declared with it (mutable: it
follows the data through :func:`~tessera.ppl.set_data`). A variable created
while its dim was fixed keeps that length.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from tessera.graph.basic import Variable
from tessera.ops.basic import as_tensor
from tessera.ops.type import shape_str
from tessera.ppl.model import context
from tessera.ppl.model.dims import Dims
from tessera.ppl.model.printing import model_str
from tessera.ppl.model.values import (
    UNSET,
    _check_initval,
    _data_array,
    _value_variable,
    checked_total_size,
    chosen_transform,
    observed_input,
)
from tessera.ppl.transforms import Transform


class Model(Dims):
    """A probabilistic model: a context in which named variables register.

    Parameters
    ----------
    coords : dict of str to sequence, optional
        Coordinate values of each dim (``{"group": ["a", "b", "c"]}``); a
        value of None declares a dim without labels whose length is set by
        the first :func:`~tessera.ppl.Data` declared with it.

    Attributes
    ----------
    free_RVs, observed_RVs : list of TensorVariable
        Registered random variables, in creation order.
    deterministics, potentials : list of TensorVariable
    data_vars : list of SharedVariable
    value_vars : list of TensorVariable
        The free RVs' value variables (unconstrained space), in the order of
        ``free_RVs``: the inputs of the compiled log-density and the order
        of the flat vector (see :meth:`point_to_array`).
    rvs_to_values, rvs_to_transforms, values_to_rvs : dict
    named_vars : dict of str to Variable
    named_vars_to_dims : dict of str to tuple of str

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> with ppl.Model(coords={"group": ["a", "b"]}) as model:
    ...     mu = ppl.Normal("mu", 0.0, 1.0, dims="group")
    ...     sigma = ppl.HalfNormal("sigma", 1.0)
    ...     y = ppl.Normal("y", mu, sigma, observed=np.array([0.1, -0.2]))
    >>> [v.name for v in model.value_vars]
    ['mu', 'sigma_log__']
    >>> print(model)
       mu ~ Normal(0, 1)      dims=(group,) shape=(2,)
    sigma ~ HalfNormal(1)                   shape=()
        y ~ Normal(mu, sigma)               shape=(2,) observed
    """

    def __init__(self, coords: Mapping[str, Any] | None = None):
        self._coords: dict[str, tuple | None] = {}
        self._dim_len: dict[str, int | None] = {}
        self._dim_vars: dict[str, Variable] = {}
        self._dim_source: dict[str, str] = {}
        self._fixed_dim_users: dict[str, list[str]] = {}
        self.named_vars: dict[str, Variable] = {}
        self.named_vars_to_dims: dict[str, tuple[str, ...]] = {}
        self.free_RVs: list[Variable] = []
        self.observed_RVs: list[Variable] = []
        self.basic_RVs: list[Variable] = []
        self.deterministics: list[Variable] = []
        self.potentials: list[Variable] = []
        self.data_vars: list[Variable] = []
        self.rvs_to_values: dict[Variable, Variable] = {}
        self.rvs_to_transforms: dict[Variable, Transform | None] = {}
        self.values_to_rvs: dict[Variable, Variable] = {}
        self.rvs_to_initial_values: dict[Variable, np.ndarray] = {}
        self.rvs_to_total_sizes: dict[Variable, int] = {}
        self._observed_data: dict[str, Any] = {}
        self._value_names: set[str] = set()
        self._kinds: dict[str, str] = {}
        self._cache: dict = {}
        if coords:
            self.add_coords(coords)

    # --- context ------------------------------------------------------------
    def __enter__(self) -> Model:
        context.push(self)
        return self

    def __exit__(self, *exc) -> None:
        context.pop(self)

    # --- lookup -------------------------------------------------------------
    def __getitem__(self, name: str) -> Variable:
        try:
            return self.named_vars[name]
        except KeyError:
            raise KeyError(
                f"the model has no variable named {name!r}; its variables are "
                f"{list(self.named_vars)}"
            ) from None

    def __contains__(self, name: str) -> bool:
        return name in self.named_vars

    @property
    def value_vars(self) -> list[Variable]:
        """Value variables of the free RVs, in ``free_RVs`` order."""
        return [self.rvs_to_values[rv] for rv in self.free_RVs]

    @property
    def unobserved_RVs(self) -> list[Variable]:
        """Free RVs then deterministics (what a posterior holds)."""
        return self.free_RVs + self.deterministics

    def kind(self, name: str) -> str:
        """``"free"``, ``"observed"``, ``"deterministic"``, ``"potential"`` or
        ``"data"``."""
        self[name]
        return self._kinds[name]

    def _invalidate(self) -> None:
        self._cache.clear()

    # --- registration -------------------------------------------------------
    def _check_name(self, name: Any) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError(f"a variable name must be a non-empty str, got {name!r}")
        if name in self.named_vars:
            raise ValueError(
                f"duplicate variable name {name!r}: the model already has a "
                f"{self._kinds[name]} variable with that name"
            )
        if name in self._value_names:
            raise ValueError(
                f"variable name {name!r} is already the name of a value variable"
            )

    def _add(self, name: str, var: Variable, kind: str, dims) -> None:
        var.name = name
        self.named_vars[name] = var
        self._kinds[name] = kind
        if dims is not None:
            self.named_vars_to_dims[name] = dims
        self._invalidate()

    def register_distribution(
        self,
        cls,
        name: str,
        *args: Any,
        dims: Any = None,
        shape: Any = None,
        size: Any = None,
        observed: Any = None,
        transform: Any = UNSET,
        initval: Any = None,
        total_size: int | None = None,
        rng: Any = None,
        **kwargs: Any,
    ) -> Variable:
        """Create ``cls.dist(*args, **kwargs)`` and register it as ``name``.

        Called by ``Distribution.__new__`` (``ppl.Normal("x", ...)``).

        Parameters
        ----------
        dims : str or tuple of str, optional
            Names of every axis (event axes included); gives the shape.
        shape, size : optional
            As in ``Distribution.dist``; checked against ``dims``.
        observed : array_like or Data variable, optional
            Makes the variable observed. Its shape is the shape of the
            variable unless ``dims``/``shape``/``size`` say otherwise.
        transform : Transform, str, None, optional
            The map to the unconstrained space; default: the distribution's
            ``default_transform``; None disables it.
        initval : array_like, optional
            Initial value (constrained space) instead of the distribution's
            moment.
        total_size : int, optional
            Rows of the full data of an observed variable fed minibatches:
            recorded in ``rvs_to_total_sizes``; variational fits scale its
            log-likelihood by ``total_size / rows`` (``model.logp`` does not).

        Returns
        -------
        TensorVariable
            The registered draw.
        """
        self._check_name(name)
        dims = self._check_dims(name, dims)
        obs_var, obs_shape = None, None
        if observed is not None:
            if initval is not None:
                raise ValueError(
                    f"variable {name!r}: initval applies to free variables; an "
                    "observed variable's value is its data"
                )
            obs_var, obs_shape = observed_input(self, name, cls, observed)
        shape = self._draw_shape(name, dims, shape, size, obs_shape)
        try:
            rv = cls.dist(*args, shape=shape, size=size, rng=rng, **kwargs)
        except (ValueError, TypeError) as err:
            raise type(err)(f"variable {name!r}: {err}") from err
        if dims is not None:
            self._check_shape_vs_dims(name, dims, rv.type.shape)
        if total_size is not None:
            self.rvs_to_total_sizes[rv] = checked_total_size(name, total_size, obs_var)
        if obs_var is not None:
            self._add_observed(name, rv, obs_var, dims)
        else:
            self._add_free(name, rv, dims, chosen_transform(rv, transform), initval)
        return rv

    def _draw_shape(self, name: str, dims, shape, size, obs_shape):
        """The ``shape`` to draw with: from ``dims``, else from the observed data."""
        if dims is not None:
            if shape is not None:
                self._check_shape_vs_dims(name, dims, _static_entries(shape))
            if size is None:
                shape = self._dims_shape(name, dims)
        elif shape is None and size is None and obs_shape is not None:
            shape = obs_shape
        return shape

    def _add_observed(self, name: str, rv: Variable, obs_var: Variable, dims) -> None:
        _check_same_shape(name, rv.type.shape, obs_var.type.shape)
        self._add(name, rv, "observed", dims)
        self.observed_RVs.append(rv)
        self.basic_RVs.append(rv)
        self.rvs_to_values[rv] = obs_var
        self.rvs_to_transforms[rv] = None

    def _add_free(self, name: str, rv: Variable, dims, t, initval) -> None:
        value = _value_variable(name, rv, t)
        if value.name in self.named_vars or value.name in self._value_names:
            raise ValueError(
                f"variable {name!r}: its value variable name {value.name!r} is "
                "already used"
            )
        if initval is not None:
            self.rvs_to_initial_values[rv] = _check_initval(name, rv, initval, t)
        self._add(name, rv, "free", dims)
        self._value_names.add(value.name)
        self.free_RVs.append(rv)
        self.basic_RVs.append(rv)
        self.rvs_to_values[rv] = value
        self.rvs_to_transforms[rv] = t
        self.values_to_rvs[value] = rv

    # --- deterministics, potentials, data -------------------------------------
    def register_deterministic(self, name: str, var: Any, dims: Any = None):
        """Register ``var`` (a function of the model's variables) as ``name``."""
        self._check_name(name)
        dims = self._check_dims(name, dims)
        var = _fresh(as_tensor(var), self)
        if dims is not None:
            self._check_shape_vs_dims(name, dims, var.type.shape)
        self._add(name, var, "deterministic", dims)
        self.deterministics.append(var)
        return var

    def register_potential(self, name: str, var: Any, dims: Any = None):
        """Register ``var`` as a term added to the model's log-density."""
        self._check_name(name)
        dims = self._check_dims(name, dims)
        var = _fresh(as_tensor(var), self)
        if var.dtype.startswith(("int", "uint", "bool")):
            var = var.astype("float64")
        if dims is not None:
            self._check_shape_vs_dims(name, dims, var.type.shape)
        self._add(name, var, "potential", dims)
        self.potentials.append(var)
        return var

    def register_data(self, name: str, value: Any, dims: Any = None):
        """Register a shared data variable (see :func:`tessera.ppl.Data`)."""
        from tessera.ops.basic import shared
        from tessera.ops.shape import shape_i

        self._check_name(name)
        arr = _data_array(name, value)
        if dims is not None:
            dims = (dims,) if isinstance(dims, str) else tuple(dims)
            if len(dims) != arr.ndim:
                raise ValueError(
                    f"Data {name!r}: dims {dims} name {len(dims)} axes but the "
                    f"data has shape {arr.shape}"
                )
            for d in dims:
                if not isinstance(d, str):
                    raise TypeError(f"Data {name!r}: dims must be str, got {d!r}")
                if d not in self._coords:
                    # a data variable may introduce a dim (unlabelled)
                    self._coords[d] = None
                    self._dim_len[d] = None
            if len(set(dims)) != len(dims):
                raise ValueError(f"Data {name!r}: repeated dim in dims={dims}")
            want = tuple(self._dim_len[d] for d in dims)
            if any(w is not None and w != s for w, s in zip(want, arr.shape)):
                raise ValueError(
                    f"Data {name!r}: dims {dims} have shape {shape_str(want)} but "
                    f"the data has shape {arr.shape}"
                )
        var = shared(arr, name=name)
        if dims is not None:
            for axis, d in enumerate(dims):
                self._dim_len[d] = arr.shape[axis]
                if d not in self._dim_vars:
                    self._dim_vars[d] = shape_i(var, axis)
                    self._dim_source[d] = name
        self._add(name, var, "data", dims)
        self.data_vars.append(var)
        return var

    # --- printing -------------------------------------------------------------
    def __str__(self) -> str:
        return model_str(self)

    def __repr__(self) -> str:
        return model_str(self)

    def to_graphviz(self, **kwargs: Any):
        """The model's graph as a ``graphviz.Digraph`` (see
        :func:`tessera.ppl.model.graphviz.model_to_graphviz` for the keywords)."""
        from tessera.ppl.model.graphviz import model_to_graphviz

        return model_to_graphviz(self, **kwargs)

    def debug(self, point=None, fn: str = "logp", verbose: bool = False):
        """Report the terms of the log-density that are not finite at ``point``
        and why (see :func:`tessera.ppl.model.debug.debug_model`)."""
        from tessera.ppl.model.debug import debug_model

        return debug_model(self, point=point, fn=fn, verbose=verbose)

    # --- compiled functions (tessera.ppl.model.compile) -------------------------
    def replace_rvs_by_values(self, graphs, jacobian: bool = True):
        """``graphs`` with random variables replaced by their (constrained)
        values: value variables for free RVs, data for observed ones.

        Examples
        --------
        >>> from tessera import ppl
        >>> with ppl.Model() as m:
        ...     s = ppl.HalfNormal("s", 1.0)
        >>> e = m.replace_rvs_by_values(2 * s)
        >>> float(e.eval({m.value_vars[0]: 0.0}))
        2.0
        """
        from tessera.ppl.model.compile import replace_rvs_by_values

        return replace_rvs_by_values(self, graphs)

    def logp(self, vars=None, jacobian: bool = True, sum: bool = True):
        """Symbolic log-density over the value variables (see
        :func:`tessera.ppl.model.compile.model_logp`)."""
        from tessera.ppl.model.compile import model_logp

        return model_logp(self, vars=vars, jacobian=jacobian, sum=sum)

    def dlogp(self, vars=None, jacobian: bool = True):
        """Symbolic gradient of :meth:`logp` w.r.t. the continuous value
        variables, flattened and concatenated in ``value_vars`` order."""
        from tessera.ppl.model.compile import model_dlogp

        return model_dlogp(self, vars=vars, jacobian=jacobian)

    def compile_logp(self, vars=None, jacobian: bool = True, sum: bool = True):
        """A function ``point -> log-density`` (point: dict of value-variable
        name to array). See :class:`tessera.ppl.model.compile.PointFunction`."""
        from tessera.ppl.model.compile import compile_logp

        return compile_logp(self, vars=vars, jacobian=jacobian, sum=sum)

    def compile_dlogp(self, vars=None, jacobian: bool = True, as_dict: bool = False):
        """A function ``point -> gradient`` (flat, in ``value_vars`` order, or
        a dict of value-variable name to array with ``as_dict``)."""
        from tessera.ppl.model.compile import compile_dlogp

        return compile_dlogp(self, vars=vars, jacobian=jacobian, as_dict=as_dict)

    def compile_fn(self, outputs, point_fn: bool = True):
        """Compile graphs of the model's variables into a function of a point."""
        from tessera.ppl.model.compile import compile_fn

        return compile_fn(self, outputs, point_fn=point_fn)

    def logp_dlogp_function(self, jacobian: bool = True, **kwargs):
        """The flat-vector log-density and gradient ``f(x) -> (logp, grad)``
        (see :class:`tessera.ppl.model.flat.FlatLogpDlogp`)."""
        from tessera.ppl.model.flat import FlatLogpDlogp

        return FlatLogpDlogp(self, jacobian=jacobian, **kwargs)

    def flat_layout(self):
        """The mapping between points and flat vectors (a
        :class:`tessera.ppl.model.flat.FlatLayout`)."""
        from tessera.ppl.model.flat import flat_layout

        return flat_layout(self)

    def point_to_array(self, point: Mapping[str, Any]) -> np.ndarray:
        """Concatenate a point's values (raveled, ``value_vars`` order)."""
        return self.flat_layout().point_to_array(point)

    def array_to_point(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Split a flat vector into a point (inverse of :meth:`point_to_array`)."""
        return self.flat_layout().array_to_point(x)

    def initial_point(self, random_seed: Any = None, jitter: bool = False):
        """The default starting point on the unconstrained space (see
        :func:`tessera.ppl.model.compile.initial_point`)."""
        from tessera.ppl.model.compile import initial_point

        return initial_point(self, random_seed=random_seed, jitter=jitter)

    def point_logps(self, point=None) -> dict[str, float]:
        """Log-density of each variable at ``point`` (see
        :func:`tessera.ppl.model.compile.point_logps`)."""
        from tessera.ppl.model.compile import point_logps

        return point_logps(self, point)

    def check_start_vals(self, point) -> None:
        """Raise a clear error if ``point`` is not a valid start (see
        :func:`tessera.ppl.model.compile.check_start_vals`)."""
        from tessera.ppl.model.compile import check_start_vals

        check_start_vals(self, point)

    def compile_constrained_draws(self, var_names=None):
        """A batched map from flat draws to the posterior's variables,
        compiled once (see :func:`tessera.ppl.model.flat.constrained_draws`)."""
        from tessera.ppl.model.flat import constrained_draws

        return constrained_draws(self, var_names)


# --- helpers -------------------------------------------------------------------
def _static_entries(shape: Any) -> tuple:
    if isinstance(shape, int | np.integer):
        return (int(shape),)
    return tuple(
        int(s) if isinstance(s, int | np.integer) else None for s in tuple(shape)
    )


def _check_same_shape(name: str, rv_shape: tuple, obs_shape: tuple) -> None:
    if len(rv_shape) != len(obs_shape) or any(
        a is not None and b is not None and a != b for a, b in zip(rv_shape, obs_shape)
    ):
        raise ValueError(
            f"variable {name!r}: the observed data has shape {shape_str(obs_shape)} "
            f"but the variable has shape {shape_str(rv_shape)}"
        )


def _fresh(var: Variable, model: Model) -> Variable:
    """``var``, or a copy of it when it is already a named model variable
    (naming it again would rename the original)."""
    from tessera.ops.math import identity

    if var.owner is None or var in model.named_vars.values():
        return identity(var)
    return var
