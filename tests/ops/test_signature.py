import pytest

from tessera.ops.signature import parse_signature


@pytest.mark.parametrize(
    "text, ins, outs",
    [
        ("(m,n),(n)->(m)", (("m", "n"), ("n",)), (("m",),)),
        ("(),()->()", ((), ()), ((),)),
        ("(m,m)->(m),(m,m)", (("m", "m"),), (("m",), ("m", "m"))),
        ("(n, 3) -> (n)", (("n", "3"),), (("n",),)),
        ("(k)->()", (("k",),), ((),)),
    ],
)
def test_parse(text, ins, outs):
    sig = parse_signature(text)
    assert sig.inputs == ins
    assert sig.outputs == outs
    assert sig.input_ndims == tuple(len(i) for i in ins)


@pytest.mark.parametrize("text", ["(m,n)", "(m,n)->(p)", "m->n", "(m,n->(m)"])
def test_parse_errors(text):
    with pytest.raises(ValueError):
        parse_signature(text)


def test_bind_static_mismatch_names_dim_and_sizes():
    sig = parse_signature("(m,n),(n,p)->(m,p)")
    assert sig.bind_static([(2, 3), (3, None)], "matmul") == {"m": 2, "n": 3, "p": None}
    with pytest.raises(ValueError, match=r"dim 'n' is 3 in input 0 but 4 in input 1"):
        sig.bind_static([(2, 3), (4, 5)], "matmul")


def test_bind_static_literal():
    sig = parse_signature("(n,3)->(n)")
    with pytest.raises(ValueError, match="must be 3"):
        sig.bind_static([(2, 4)], "op")
