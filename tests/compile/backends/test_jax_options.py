"""XLA compile options of tessera's JAX programs
(tessera.compile.backends.jax.options)."""

import jax
import numpy as np
import pytest

import tessera as ts
from tessera.compile.backends.jax import options
from tessera.config import CompilerOptionsError


@pytest.fixture
def chosen_options():
    """Set ``ts.config.jax_compiler_options`` for one test."""
    before = ts.config.jax_compiler_options
    yield lambda value: setattr(ts.config, "jax_compiler_options", value)
    ts.config.jax_compiler_options = before


@pytest.fixture
def recorded(monkeypatch):
    """The ``compiler_options`` of every :func:`options.jit` call (the
    only caller of :func:`jax.jit` that passes the keyword)."""
    calls = []
    real = jax.jit

    def spy(fun=None, **kwargs):
        if "compiler_options" in kwargs:
            calls.append(kwargs["compiler_options"])
        return real(fun, **kwargs) if fun is not None else real(**kwargs)

    monkeypatch.setattr(options.jax, "jit", spy)
    return calls


def _square_sum():
    x = ts.tensor("x", shape=(None,))
    return ts.function([x], (x**2).sum(), backend="jax")


def test_cpu_default_turns_fusion_emitters_off():
    assert jax.default_backend() == "cpu"
    # the installed jaxlib (from KNOWN_FROM on: taken without asking XLA)
    # does accept the options, as a compiled one-op program shows
    assert options._supported(options.CPU_DEFAULTS)
    assert options.compiler_options() == {
        "xla_cpu_use_fusion_emitters": False,
        "xla_cpu_copy_insertion_use_region_analysis": True,
    }


def _rotating_loop(x, y):
    """A loop whose state elements feed each other's next values: XLA
    copies some of them at every iteration."""

    def body(c):
        i, a, b = c
        return i + 1, b * 2.0, a + b

    return jax.lax.while_loop(lambda c: c[0] < 10, body, (0, x, y))


def test_cpu_default_copies_fewer_loop_buffers_with_the_same_results():
    x, y = np.ones(5), np.full(5, 2.0)
    without = {"xla_cpu_use_fusion_emitters": False}
    plain = jax.jit(_rotating_loop, compiler_options=without).lower(x, y).compile()
    ours = options.jit(_rotating_loop).lower(x, y).compile()
    assert ours.as_text().count(" copy(") < plain.as_text().count(" copy(")
    for a, b in zip(ours(x, y), plain(x, y)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("accepted", [True, False])
def test_an_older_jaxlib_is_asked_by_compiling(monkeypatch, accepted):
    monkeypatch.setattr(options, "installed_version", lambda dist: (0, 4, 30))
    asked = []
    monkeypatch.setattr(options, "_supported", lambda o: asked.append(o) or accepted)
    monkeypatch.setattr(options, "_resolved", {})
    expected = options.CPU_DEFAULTS if accepted else {}
    assert options.compiler_options() == expected
    assert asked == [options.CPU_DEFAULTS]


def test_config_overrides_the_default(chosen_options):
    chosen_options({})
    assert options.compiler_options() == {}
    chosen_options({"xla_cpu_use_fusion_emitters": True})
    assert options.compiler_options() == {"xla_cpu_use_fusion_emitters": True}
    # a copy: changing it leaves the setting alone
    options.compiler_options()["other"] = 1
    assert ts.config.jax_compiler_options == {"xla_cpu_use_fusion_emitters": True}


def test_jax_backend_functions_compile_with_the_options(recorded):
    f = _square_sum()
    assert float(f([1.0, 2.0])) == 5.0
    assert recorded and all(o == options.CPU_DEFAULTS for o in recorded)


@pytest.mark.parametrize(
    "value", [{}, {"xla_cpu_use_fusion_emitters": True}], ids=["xla-defaults", "on"]
)
def test_same_values_under_xla_defaults(chosen_options, recorded, value):
    x = np.linspace(-2.0, 3.0, 7)
    expected = float(_square_sum()(x))
    chosen_options(value)
    assert float(_square_sum()(x)) == pytest.approx(expected, rel=1e-14)
    assert recorded[-1] == (value or None)


def test_an_unknown_option_is_named(chosen_options):
    chosen_options({"xla_no_such_option": True})
    with pytest.raises(CompilerOptionsError) as info:
        _square_sum()([1.0])
    assert "jax_compiler_options" in str(info.value)
    assert "No such compile option: 'xla_no_such_option'" in str(info.value)


def test_unknown_options_raise_instead_of_a_numpy_fallback(chosen_options):
    """backend="auto" falls back to NumPy for a model JAX cannot run, not
    for a setting XLA rejects."""
    from tessera import ppl

    with ppl.Model() as m:
        ppl.Normal("mu", 0.0, 1.0)
    chosen_options({"xla_no_such_option": True})
    with pytest.raises(CompilerOptionsError, match="xla_no_such"):
        ppl.sample(draws=5, tune=5, chains=1, model=m, progressbar=False)


def test_sampler_and_vi_programs_get_the_options(recorded):
    from tessera import ppl

    with ppl.Model() as m:
        mu = ppl.Normal("mu", 0.0, 1.0)
        ppl.Normal("y", mu, 1.0, observed=np.array([0.3, -0.1]))
    ppl.sample(draws=20, tune=20, chains=1, model=m, progressbar=False, random_seed=1)
    n_sample = len(recorded)
    ppl.fit(50, method="advi", model=m, progressbar=False, random_seed=1)
    # the model's function and the sampler's program; the VI step program
    assert n_sample >= 2 and len(recorded) > n_sample
    assert all(o == options.CPU_DEFAULTS for o in recorded)


def test_a_sampler_compiled_under_other_options_is_not_reused(chosen_options, recorded):
    from tessera import ppl

    with ppl.Model() as m:
        mu = ppl.Normal("mu", 0.0, 1.0)
        ppl.Normal("y", mu, 1.0, observed=np.array([0.3, -0.1]))
    kw = dict(draws=20, tune=20, chains=1, model=m, progressbar=False, random_seed=1)
    ppl.sample(**kw)
    n = len(recorded)
    ppl.sample(**kw)
    assert len(recorded) == n  # same options: the program is reused
    chosen_options({})
    ppl.sample(**kw)
    assert len(recorded) == n + 1 and recorded[-1] is None
