"""model_to_graphviz: nodes, shapes and styles, plates and edges of the DOT source."""

import re
import shutil

import numpy as np
import pytest

from tessera import ppl
from tessera.ppl.model.graphviz import model_to_graphviz, parent_names

Y = np.array([28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0])
SIGMA = np.array([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])
NO_DOT = shutil.which("dot") is None


@pytest.fixture(scope="module")
def schools():
    coords = {"school": [f"s{i}" for i in range(8)]}
    with ppl.Model(coords=coords) as m:
        sigma = ppl.Data("sigma_obs", SIGMA, dims="school")
        mu = ppl.Normal("mu", 0.0, 5.0)
        tau = ppl.HalfCauchy("tau", 5.0)
        theta_t = ppl.Normal("theta_t", 0.0, 1.0, dims="school")
        theta = ppl.Deterministic("theta", mu + tau * theta_t, dims="school")
        ppl.Potential("tau_penalty", -(tau**2))
        y_data = ppl.Data("y_data", Y, dims="school")
        ppl.Normal("obs", theta, sigma, observed=y_data, dims="school")
        ppl.Normal("z", 0.0, 1.0, shape=(3, 2))
    return m


def _node(source: str, name: str) -> str:
    match = re.search(rf"^\s*{name} \[(.*?)\]$", source, re.M | re.S)
    assert match is not None, f"no node {name} in\n{source}"
    return match.group(1)


def _cluster(source: str, label: str) -> str:
    pattern = rf'subgraph "?cluster{re.escape(label)}"? \{{(.*?)\n\t\}}'
    match = re.search(pattern, source, re.S)
    assert match is not None, f"no cluster {label} in\n{source}"
    return match.group(1)


def _edges(source: str) -> set[tuple[str, str]]:
    return set(re.findall(r"^\s*(\w+) -> (\w+)", source, re.M))


def test_node_labels_and_styles(schools):
    src = model_to_graphviz(schools).source
    assert 'label="mu\n~\nNormal"' in _node(src, "mu")
    assert "shape=ellipse" in _node(src, "mu")
    assert "style" not in _node(src, "mu")
    assert 'label="tau\n~\nHalfCauchy"' in _node(src, "tau")
    obs = _node(src, "obs")
    assert "style=filled" in obs and "fillcolor=gray" in obs
    assert "shape=box" in _node(src, "theta")
    assert "Deterministic" in _node(src, "theta")
    data = _node(src, "y_data")
    assert "shape=box" in data and 'style="rounded, filled"' in data
    assert "Data" in data
    assert "shape=octagon" in _node(src, "tau_penalty")
    assert "Potential" in _node(src, "tau_penalty")


def test_plates_by_dims_and_shape(schools):
    src = model_to_graphviz(schools).source
    school = _cluster(src, "school (8)")
    for name in ("sigma_obs", "theta_t", "theta", "y_data", "obs"):
        assert re.search(rf"^\s*{name} \[", school, re.M), name
    for name in ("mu", "tau", "z"):
        assert not re.search(rf"^\s*{name} \[", school, re.M), name
    assert re.search(r"^\s*z \[", _cluster(src, "3 x 2"), re.M)
    assert 'label="school (8)"' in school


def test_edges(schools):
    edges = _edges(model_to_graphviz(schools).source)
    assert edges == {
        ("mu", "theta"),
        ("tau", "theta"),
        ("theta_t", "theta"),
        ("tau", "tau_penalty"),
        ("theta", "obs"),
        ("sigma_obs", "obs"),
        ("obs", "y_data"),
    }


def test_parents_stop_at_nearest_named_variable(schools):
    # obs uses theta, not theta's own parents mu/tau/theta_t
    assert parent_names(schools, "obs") == ["theta", "sigma_obs"]
    assert parent_names(schools, "mu") == []


def test_var_names_selects_ancestors(schools):
    src = model_to_graphviz(schools, var_names=["theta"]).source
    assert _edges(src) == {("mu", "theta"), ("tau", "theta"), ("theta_t", "theta")}
    assert "obs" not in src and "sigma_obs" not in src
    src = model_to_graphviz(schools, var_names=["obs"]).source
    assert "y_data" in src and ("obs", "y_data") in _edges(src)
    assert "tau_penalty" not in src


def test_method_and_context_default(schools):
    assert schools.to_graphviz().source == model_to_graphviz(schools).source
    with schools:
        assert model_to_graphviz().source == model_to_graphviz(schools).source


def test_figsize():
    with ppl.Model() as m:
        ppl.Normal("x", 0.0, 1.0)
    assert 'size="4,3"' in model_to_graphviz(m, figsize=(4, 3)).source


def test_data_sized_variable_plate():
    with ppl.Model() as m:
        x = ppl.Data("x", np.arange(5.0))
        ppl.Normal("y", x, 1.0)
    src = model_to_graphviz(m).source
    assert re.search(r"^\s*y \[", _cluster(src, "5"), re.M)
    assert ("x", "y") in _edges(src)


def test_errors(schools):
    with pytest.raises(ValueError, match="formatting='latex'"):
        model_to_graphviz(schools, formatting="latex")
    with pytest.raises(ValueError, match="'nope'"):
        model_to_graphviz(schools, var_names=["nope"])
    with pytest.raises(ValueError, match="no extension"):
        model_to_graphviz(schools, save="graph")


@pytest.mark.skipif(NO_DOT, reason="the Graphviz 'dot' program is not installed")
@pytest.mark.parametrize("ext", ["svg", "png"])
def test_save_renders(schools, tmp_path, ext):
    path = tmp_path / f"model.{ext}"
    model_to_graphviz(schools, save=path)
    data = path.read_bytes()
    if ext == "svg":
        assert b"<svg" in data and b"theta" in data
    else:
        assert data[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.skipif(not NO_DOT, reason="checks the error raised without 'dot'")
def test_save_without_dot_says_so(schools, tmp_path):
    with pytest.raises(RuntimeError, match="'dot' program"):
        model_to_graphviz(schools, save=tmp_path / "model.svg")
