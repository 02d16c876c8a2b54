"""Gufunc signatures: ``"(m,n),(n)->(m)"``.

A signature names the core dims of each input and output. Dims are names
(matched across arguments) or integer literals (fixed sizes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_DIM = r"\s*(?:\w+)\s*"
_ARG = rf"\((?:{_DIM}(?:,{_DIM})*)?\)"
_ARGS = rf"(?:{_ARG}(?:\s*,\s*{_ARG})*)?"
_SIG_RE = re.compile(rf"^\s*({_ARGS})\s*->\s*({_ARGS})\s*$")


def _parse_args(text: str) -> tuple[tuple[str, ...], ...]:
    out = []
    for arg in re.findall(r"\(([^()]*)\)", text):
        dims = tuple(d.strip() for d in arg.split(",") if d.strip())
        out.append(dims)
    return tuple(out)


@dataclass(frozen=True)
class Signature:
    """A parsed gufunc signature.

    Attributes
    ----------
    inputs, outputs : tuple of tuple of str
        Core dim names (or integer literals as strings) per argument.

    Examples
    --------
    >>> sig = Signature.parse("(m,n),(n)->(m)")
    >>> sig.inputs, sig.outputs
    ((('m', 'n'), ('n',)), (('m',),))
    >>> sig.input_ndims
    (2, 1)
    """

    inputs: tuple[tuple[str, ...], ...]
    outputs: tuple[tuple[str, ...], ...]
    text: str

    @classmethod
    def parse(cls, text: str) -> Signature:
        m = _SIG_RE.match(text)
        if m is None:
            raise ValueError(f"not a valid gufunc signature: {text!r}")
        ins, outs = _parse_args(m.group(1)), _parse_args(m.group(2))
        known = {d for arg in ins for d in arg}
        for arg in outs:
            for d in arg:
                if d not in known and not d.isdigit():
                    raise ValueError(
                        f"signature {text!r}: output dim {d!r} appears in no input"
                    )
        return cls(ins, outs, text)

    @property
    def input_ndims(self) -> tuple[int, ...]:
        return tuple(len(a) for a in self.inputs)

    @property
    def output_ndims(self) -> tuple[int, ...]:
        return tuple(len(a) for a in self.outputs)

    def bind_static(self, shapes, op_name: str) -> dict[str, int | None]:
        """Match core dims of the inputs' static core shapes.

        Returns the size of every named dim (None where unknown); raises a
        ValueError naming the op, the signature, the dim and both sizes on a
        mismatch, or a literal dim that does not match.
        """
        sizes: dict[str, int | None] = {}
        where: dict[str, int] = {}
        for k, (dims, shp) in enumerate(zip(self.inputs, shapes)):
            for d, s in zip(dims, shp):
                if d.isdigit():
                    if s is not None and s != int(d):
                        raise ValueError(
                            f"{op_name}: core dim of input {k} must be {d} by the "
                            f"signature {self.text!r}, got {s}"
                        )
                    continue
                prev = sizes.get(d)
                if prev is not None and s is not None and prev != s:
                    raise ValueError(
                        f"{op_name}: signature {self.text!r}: dim {d!r} is {prev} in "
                        f"input {where[d]} but {s} in input {k}"
                    )
                if prev is None:
                    sizes[d] = s
                    where.setdefault(d, k)
        return sizes

    def __str__(self) -> str:
        return self.text


def parse_signature(text: str) -> Signature:
    """Parse a gufunc signature (cached on the returned object).

    Examples
    --------
    >>> parse_signature("(m,m)->(m,m)").output_ndims
    (2,)
    """
    return _cache.get(text) or _cache.setdefault(text, Signature.parse(text))


_cache: dict[str, Signature] = {}
