"""Old spellings of renamed options, kept working with a ``DeprecationWarning``.

Keywords and attributes (``renamed_keywords``, ``RenamedAttribute``) and command-line options
(``add_renamed_option``) each name the spelling that replaced them.
"""

from __future__ import annotations

import argparse
import functools
import warnings
from collections.abc import Callable
from typing import Any

__all__ = ["RenamedAttribute", "add_renamed_option", "renamed_keywords"]


def _warn(old: str, new: str) -> None:
    warnings.warn(f"{old} is deprecated: use {new}", DeprecationWarning, stacklevel=3)


def renamed_keywords(**old_to_new: str) -> Callable:
    """A decorator: a call that passes an old keyword passes it as the new one, with a warning."""
    def wrap(func: Callable) -> Callable:
        @functools.wraps(func)
        def call(*args: Any, **kwargs: Any) -> Any:
            for old, new in old_to_new.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(f"{func.__qualname__}() got both {old}= and {new}= (the same setting)")
                    _warn(f"{old}=", f"{new}=")
                    kwargs[new] = kwargs.pop(old)
            return func(*args, **kwargs)
        return call
    return wrap


class RenamedAttribute:
    """A class attribute that reads and sets the attribute ``new`` under its old name, with a warning."""

    def __init__(self, new: str) -> None:
        self.new = new
        self.old = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.old = name

    def __get__(self, obj: object, owner: type | None = None) -> Any:
        _warn(self.old, self.new)
        return getattr(owner if obj is None else obj, self.new)

    def __set__(self, obj: object, value: Any) -> None:
        _warn(self.old, self.new)
        setattr(obj, self.new, value)

    def __delete__(self, obj: object) -> None:
        _warn(self.old, self.new)
        delattr(obj, self.new)


class _OldSpelling(argparse.Action):
    def __init__(self, option_strings: list[str], dest: str, new: str = "", **kwargs: Any) -> None:
        super().__init__(option_strings, dest, **kwargs)
        self.new = new

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        _warn(option_string or self.option_strings[0], self.new)
        setattr(namespace, self.dest, values)


def add_renamed_option(parser: argparse.ArgumentParser, old: str, new: str, **kwargs: Any) -> None:
    """``old``, an earlier spelling of the option ``new`` (added before, with ``kwargs`` such as its
    ``type``): it sets the same value, with a warning, and ``--help`` shows only ``new``."""
    dest = new.lstrip("-").replace("-", "_")
    parser.add_argument(old, dest=dest, action=_OldSpelling, new=new, default=argparse.SUPPRESS,
                        help=argparse.SUPPRESS, **kwargs)
