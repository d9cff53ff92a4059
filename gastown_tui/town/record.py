"""Frozen, slotted records without the `dataclasses` module.

`@dataclass` imports inspect (and with it ast, dis, tokenize): ~8 ms at the start of every
gt/bd process, which agents run constantly. The few records that every command touches
(RigInfo, Address) derive from Record instead: the same constructor (positional or keyword,
defaults), equality, hash, repr and immutability as `@dataclass(frozen=True, slots=True)`."""

from __future__ import annotations


class Record:
    """Subclasses name their fields in `__slots__` and may give `_defaults` for the last ones."""

    __slots__ = ()
    _defaults: dict[str, object] = {}

    def __init__(self, *args: object, **kwargs: object) -> None:
        names = self.__slots__
        if len(args) > len(names):
            raise TypeError(f"{type(self).__name__}() takes {len(names)} arguments, "
                            f"{len(args)} given")
        values = dict(zip(names, args, strict=False))
        for key, value in kwargs.items():
            if key not in names:
                raise TypeError(f"{type(self).__name__}() has no field {key!r}")
            if key in values:
                raise TypeError(f"{type(self).__name__}() got {key!r} twice")
            values[key] = value
        for key in names:
            if key not in values:
                if key not in self._defaults:
                    raise TypeError(f"{type(self).__name__}() is missing {key!r}")
                values[key] = self._defaults[key]
            object.__setattr__(self, key, values[key])

    def _fields(self) -> tuple[object, ...]:
        return tuple(getattr(self, key) for key in self.__slots__)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return self._fields() == other._fields()  # type: ignore[attr-defined]
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        inner = ", ".join(f"{key}={getattr(self, key)!r}" for key in self.__slots__)
        return f"{type(self).__name__}({inner})"

    def __setattr__(self, key: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {key!r}: {type(self).__name__} is frozen")

    def __delattr__(self, key: str) -> None:
        raise AttributeError(f"cannot delete field {key!r}: {type(self).__name__} is frozen")

    def __reduce__(self):  # pickle and copy: rebuilt through __init__
        return type(self), self._fields()
