"""Checks of the hints JSON: each value read from it, or a ``HintsError`` whose one-line message
names the field (``points[2].rgb[1]: 300 is outside 0..255``). ``hints.Hints.from_dict`` uses them."""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping, Sequence

import numpy as np

from .errors import HintsError

__all__ = ["MAX_SIZE", "check_keys", "fixed_list", "fraction_value", "json_type", "key_name", "number_value",
           "rgb_value", "show_value", "size_value", "xy_value"]

MAX_SIZE = 0.25
"""Largest allowed ``radius`` / ``width`` (as a fraction of the longer side)."""


def json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, (bool, np.bool_)):
        return "boolean"
    if isinstance(value, numbers.Number):
        return "number"
    if isinstance(value, (str, bytes)):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, (list, tuple)):
        return "array"
    return type(value).__name__


def show_value(value: object) -> str:
    text = repr(value) if not isinstance(value, float) else repr(float(value))
    text = " ".join(text.split())
    return text if len(text) <= 40 else text[:37] + "..."


def number_value(value: object, path: str, label: str = "") -> float:
    """A finite real number (bools refused). ``label`` prefixes the value in messages (``x=``)."""
    prefix = f"{label}: " if label else ""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise HintsError(f"{path}: {prefix}expected a number, got {json_type(value)}")
    try:
        number = float(value)
    except (OverflowError, ValueError, TypeError):
        raise HintsError(f"{path}: {prefix}{show_value(value)} is not a usable number") from None
    if not math.isfinite(number):
        raise HintsError(f"{path}: {prefix}{show_value(number)} is not a finite number")
    return number


def fraction_value(value: object, path: str, label: str = "") -> float:
    number = number_value(value, path, label)
    if not 0.0 <= number <= 1.0:
        shown = f"{label}={show_value(value)}" if label else show_value(value)
        raise HintsError(f"{path}: {shown} is outside 0..1")
    return number


def size_value(value: object, path: str) -> float:
    number = number_value(value, path)
    if not 0.0 < number <= MAX_SIZE:
        raise HintsError(
            f"{path}: {show_value(value)} is outside (0, {MAX_SIZE}] "
            f"(a fraction of the image's longer side)"
        )
    return number


def fixed_list(value: object, path: str, length: int, shape: str) -> list:
    """``value`` (a JSON array or numpy array) as a list of ``length`` items, or a ``HintsError``
    that says the ``shape`` expected (``"[r, g, b]"``)."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if not isinstance(value, (list, tuple)):
        raise HintsError(f"{path}: expected {shape}, got {json_type(value)}")
    if len(value) != length:
        raise HintsError(f"{path}: expected {shape}, got an array of length {len(value)}")
    return list(value)


def rgb_value(value: object, path: str) -> tuple[int, int, int]:
    value = fixed_list(value, path, 3, "[r, g, b]")
    out = []
    for i, channel in enumerate(value):
        where = f"{path}[{i}]"
        if isinstance(channel, (bool, np.bool_)) or not isinstance(channel, numbers.Real):
            raise HintsError(f"{where}: expected an integer 0..255, got {json_type(channel)}")
        if isinstance(channel, numbers.Integral):
            integer = int(channel)
        else:
            number = number_value(channel, where)
            if not number.is_integer():
                raise HintsError(f"{where}: {show_value(channel)} is not an integer")
            integer = int(number)
        if not 0 <= integer <= 255:
            raise HintsError(f"{where}: {show_value(channel)} is outside 0..255")
        out.append(integer)
    return (out[0], out[1], out[2])


def xy_value(value: object, path: str) -> tuple[tuple[float, float], ...]:
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if not isinstance(value, (list, tuple)):
        raise HintsError(f"{path}: expected a list of [x, y] pairs, got {json_type(value)}")
    if len(value) == 0:
        raise HintsError(f"{path}: a stroke needs at least 1 point")
    out = []
    for i, pair in enumerate(value):
        where = f"{path}[{i}]"
        pair = fixed_list(pair, where, 2, "[x, y]")
        out.append((fraction_value(pair[0], where, "x"), fraction_value(pair[1], where, "y")))
    return tuple(out)


def key_name(key: object) -> str:
    if not isinstance(key, str):
        return show_value(key)
    text = json.dumps(key)
    return text if len(text) <= 40 else text[:37] + "..."


def check_keys(obj: object, path: str, allowed: Sequence[str], required: Sequence[str]) -> Mapping:
    if not isinstance(obj, Mapping):
        raise HintsError(f"{path}: expected an object, got {json_type(obj)}")
    unknown = [k for k in obj if k not in allowed]
    if unknown:
        names = ", ".join(key_name(k) for k in unknown[:5]) + (", ..." if len(unknown) > 5 else "")
        expected = ", ".join(f'"{k}"' for k in allowed)
        raise HintsError(f"{path}: unknown key(s) {names} (expected {expected})")
    for key in required:
        if key not in obj:
            raise HintsError(f'{path}: missing "{key}"')
    return obj


# ----------------------------------------------------------------------------------------------
# hint items
