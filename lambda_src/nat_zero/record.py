"""Immutable value records, without the cost of dataclasses at cold start.

`dataclasses` imports `inspect` (and with it `ast`, `dis`, `tokenize`) and
builds each class's methods with `exec`: some 25 ms for the reconciler's
record types, paid on every cold start of an invocation that should take a
few hundred. A Record is written like a frozen dataclass (annotated fields,
defaults by assignment); the fields become `__slots__` and construction,
equality (type included, so StopNat(az, i) != StartNat(az, i)), hashing and
repr come from the base class. `_compared` narrows what equality looks at.
"""

from __future__ import annotations


class _RecordType(type):
    def __new__(mcs, name, bases, namespace):
        fields = tuple(namespace.get("__annotations__", {}))
        defaults = {}
        for field_name in fields:
            if field_name in namespace:
                defaults[field_name] = namespace.pop(field_name)
        namespace["__slots__"] = fields
        namespace["_defaults"] = defaults
        namespace.setdefault("_compared", fields)
        return super().__new__(mcs, name, bases, namespace)


class Record(metaclass=_RecordType):
    def __init__(self, *args, **kwargs):
        if len(args) > len(self.__slots__):
            raise TypeError(f"{type(self).__name__} takes {len(self.__slots__)} fields, got {len(args)}")
        unknown = set(kwargs) - set(self.__slots__)
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field {', '.join(sorted(unknown))}")
        values = {**self._defaults, **dict(zip(self.__slots__, args)), **kwargs}
        missing = [name for name in self.__slots__ if name not in values]
        if missing:
            raise TypeError(f"{type(self).__name__} is missing {', '.join(missing)}")
        for name in self.__slots__:
            object.__setattr__(self, name, values[name])

    def __setattr__(self, name, value):
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name):
        raise AttributeError(f"{type(self).__name__} is immutable")

    def fields(self) -> dict:
        return {name: getattr(self, name) for name in self.__slots__}

    def replace(self, **changes):
        return type(self)(**{**self.fields(), **changes})

    def _key(self) -> tuple:
        return tuple(getattr(self, name) for name in self._compared)

    def __eq__(self, other):
        return type(self) is type(other) and self._key() == other._key()

    def __hash__(self):
        return hash((type(self),) + self._key())

    def __repr__(self):
        inner = ", ".join(f"{name}={value!r}" for name, value in self.fields().items())
        return f"{type(self).__name__}({inner})"
