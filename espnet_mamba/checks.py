"""Build-time checks of component arguments, each error naming the argument.

Types are checked by typeguard's ``@typechecked`` on the constructors, as ESPnet's own
components do (a string is never a bool or an int); these helpers add the ranges.
"""
from typing import Iterable


def at_least(minimum: int, **values) -> None:
    """Raise ValueError for any ``name=value`` below ``minimum``."""
    for name, value in values.items():
        if value < minimum:
            raise ValueError(f"{name} must be >= {minimum}; got {value!r}")


def probability(**values) -> None:
    """Raise ValueError for any ``name=value`` outside [0, 1) (dropout rates)."""
    for name, value in values.items():
        if not 0.0 <= value < 1.0:
            raise ValueError(f"{name} must be in [0, 1); got {value!r}")


def one_of(name: str, value, options: Iterable) -> None:
    """Raise ValueError unless ``value`` is one of ``options``."""
    options = tuple(options)
    if value not in options:
        raise ValueError(f"{name} must be one of {options}; got {value!r}")


def divides(name: str, value: int, of_name: str, of_value: int) -> None:
    """Raise ValueError unless ``value`` divides ``of_value`` (e.g. heads and size)."""
    if of_value % value:
        raise ValueError(f"{name}={value} must divide {of_name}={of_value}")
