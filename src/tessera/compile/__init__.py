"""Compilation of graphs to callables."""

from tessera.compile.function import Function, function

__all__ = ["Function", "function"]
