"""Values as plain data: what crosses between the grader and a learner host.

Every value is JSON: None, bool, int, float and str as themselves; anything else is an object tagged
with `"$"`: a tuple, list, dict (items as pairs, so keys keep their type), set, an enum member, a
record (a dataclass, a pydantic model or a named tuple, with its fields), a datetime, Decimal, Path,
bytes, a pandas DataFrame or Series with its dtypes, or a *handle*: an object that stays in the host
(a service, a repository, a class, a module), named by a number.

The host encodes what learner code returns (`HostCodec.encode`) and decodes the grader's arguments;
the grader decodes into its own plain types (`Record`, `EnumValue`, real datetimes and DataFrames)
and never into an object of the learner's classes, so no learner code runs when a check compares
values. Decoding is bounded in depth and size; anything malformed is a `CodecError`.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import decimal
import enum
import math
from collections.abc import Callable, Mapping
from pathlib import Path, PurePath
from typing import Any

MAX_DEPTH = 40
MAX_ITEMS = 200_000  # values in one message, all levels together


class CodecError(Exception):
    """A value that cannot be encoded, or data that is not a well-formed encoded value."""


def type_name(value: Any) -> str:
    """`helpdesk.models.Ticket`: the module and qualified name of a value's type (plain strings only)."""
    kind = type(value)
    module = getattr(kind, "__module__", None)
    qual = getattr(kind, "__qualname__", None)
    module = module if isinstance(module, str) else "?"
    qual = qual if isinstance(qual, str) else "?"
    return qual if module == "builtins" else f"{module}.{qual}"


# --------------------------------------------------------------------------- grader-side plain types


class Record:
    """A dataclass, pydantic model or named tuple from the learner's code, as its fields.

    Fields read as attributes (`ticket.queue`); another attribute (a property, a method) is read from
    the learner's object, and a missing one raises AttributeError, so `getattr(ticket, "routed_by",
    None)` works. Two records are equal when type and fields are.
    A record passed back to the learner's code stands for the object it was read from (`origin`).
    """

    __slots__ = ("_type", "_fields", "_origin")

    def __init__(self, type_: str, fields: Mapping[str, Any], origin: Any = None) -> None:
        object.__setattr__(self, "_type", type_)
        object.__setattr__(self, "_fields", dict(fields))
        object.__setattr__(self, "_origin", origin)

    def __getattr__(self, name: str) -> Any:
        fields = object.__getattribute__(self, "_fields")
        if name in fields:
            return fields[name]
        origin = object.__getattribute__(self, "_origin")
        if origin is not None and not (name.startswith("__") and name.endswith("__")):
            return getattr(origin, name)  # a property or method of the learner's object, read in its process
        raise AttributeError(f"{self._type} has no field {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a record from the learner's code is read-only")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Record) and (self._type, self._fields) == (other._type, other._fields)

    def __hash__(self) -> int:
        return hash(self._type)

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self._fields.items())
        return f"{self._type.rsplit('.', 1)[-1]}({inner})"

    @property
    def type_name(self) -> str:
        return self._type

    @property
    def origin(self) -> Any:
        """The handle of the learner object this record was read from (None when there is none)."""
        return self._origin

    def fields(self) -> dict[str, Any]:
        """The fields as a new dict."""
        return dict(self._fields)


@dataclasses.dataclass(frozen=True)
class EnumValue:
    """An enum member from the learner's code: its type's name, the member's name and its value."""

    type_name: str
    name: str
    value: Any
    origin: Any = dataclasses.field(default=None, compare=False, hash=False)  # the member, passed back

    def __repr__(self) -> str:
        return f"<{self.type_name.rsplit('.', 1)[-1]}.{self.name}: {self.value!r}>"


def plain(value: Any) -> Any:
    """An enum member's value, anything else as it is: what a check compares with a plain string."""
    return value.value if isinstance(value, EnumValue | enum.Enum) else value


# --------------------------------------------------------------------------- shared pieces


def _float(value: float) -> Any:
    return value if math.isfinite(value) else {"$": "float", "v": repr(value)}


def _encode_frame_cell(value: Any, encode: Callable[[Any], Any]) -> Any:
    return encode(value.item() if hasattr(value, "item") and not isinstance(value, str | bytes) else value)


class _Counter:
    def __init__(self) -> None:
        self.count = 0

    def tick(self) -> None:
        self.count += 1
        if self.count > MAX_ITEMS:
            raise CodecError(f"a value of more than {MAX_ITEMS} parts")


def _encode_common(value: Any, encode: Callable[[Any], Any]) -> Any:
    """Encodings both sides use; `NotImplemented` when `value` is none of them."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int) and not isinstance(value, enum.Enum):
        return int(value)
    if isinstance(value, float) and not isinstance(value, enum.Enum):
        return _float(float(value))
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return {"$": "tuple", "items": [encode(v) for v in value]}
    if isinstance(value, list):
        return {"$": "list", "items": [encode(v) for v in value]}
    if isinstance(value, dict):
        return {"$": "dict", "items": [[encode(k), encode(v)] for k, v in value.items()]}
    if isinstance(value, set | frozenset):
        return {"$": "set", "items": [encode(v) for v in value]}
    if isinstance(value, dt.datetime):
        return {"$": "datetime", "v": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$": "date", "v": value.isoformat()}
    if isinstance(value, dt.time):
        return {"$": "time", "v": value.isoformat()}
    if isinstance(value, dt.timedelta):
        return {"$": "timedelta", "v": value.total_seconds()}
    if isinstance(value, decimal.Decimal):
        return {"$": "decimal", "v": str(value)}
    if isinstance(value, PurePath):
        return {"$": "path", "v": str(value)}
    if isinstance(value, bytes | bytearray):
        return {"$": "bytes", "v": base64.b64encode(bytes(value)).decode()}
    return NotImplemented


def _encode_pandas(value: Any, encode: Callable[[Any], Any]) -> Any:
    """A DataFrame or Series with its dtypes, index and values; `NotImplemented` for anything else."""
    module = type(value).__module__ or ""
    if not module.startswith("pandas"):
        return NotImplemented
    import pandas as pd

    if isinstance(value, pd.DataFrame):
        return {"$": "frame", "columns": [encode(c) for c in value.columns],
                "dtypes": [str(t) for t in value.dtypes], "index": encode(list(value.index)),
                "data": [[_encode_frame_cell(v, encode) for v in value.iloc[:, i].tolist()]
                         for i in range(value.shape[1])]}
    if isinstance(value, pd.Series):
        return {"$": "series", "name": encode(value.name), "dtype": str(value.dtype),
                "index": encode(list(value.index)), "data": [_encode_frame_cell(v, encode) for v in value.tolist()]}
    if value is pd.NA:
        return {"$": "na"}
    if value is pd.NaT:
        return {"$": "nat"}
    if isinstance(value, pd.Timestamp):
        return {"$": "datetime", "v": value.isoformat()}
    return NotImplemented


def _items(data: dict[str, Any], key: str = "items") -> list[Any]:
    items = data.get(key)
    if not isinstance(items, list):
        raise CodecError(f"a {data.get('$')!r} without its {key}")
    return items


def _decode_frame(data: dict[str, Any], decode: Callable[[Any], Any]) -> Any:
    import pandas as pd

    columns = [decode(c) for c in _items(data, "columns")]
    dtypes = _items(data, "dtypes")
    cells = _items(data, "data")
    index = decode(data.get("index"))
    if not (len(columns) == len(dtypes) == len(cells)) or not isinstance(index, list):
        raise CodecError("a DataFrame whose columns, dtypes and data do not line up")
    frame = pd.DataFrame({i: pd.Series([decode(v) for v in col], dtype=_dtype(t), index=index)
                          for i, (col, t) in enumerate(zip(cells, dtypes, strict=True))})
    frame.columns = columns
    return frame


def _decode_series(data: dict[str, Any], decode: Callable[[Any], Any]) -> Any:
    import pandas as pd

    index = decode(data.get("index"))
    values = [decode(v) for v in _items(data, "data")]
    if not isinstance(index, list) or len(index) != len(values):
        raise CodecError("a Series whose index and data do not line up")
    return pd.Series(values, dtype=_dtype(data.get("dtype")), index=index, name=decode(data.get("name")))


def _dtype(name: Any) -> Any:
    """A dtype from its name, or `object` when pandas does not know it (never an error)."""
    import pandas as pd

    if not isinstance(name, str) or len(name) > 100:
        return object
    try:
        return pd.api.types.pandas_dtype(name)
    except (TypeError, ValueError):
        return object


def _decode_common(data: Any, decode: Callable[[Any], Any]) -> Any:
    """Decodings both sides share; `NotImplemented` for a tag this function does not handle."""
    tag = data.get("$")
    if tag == "tuple":
        return tuple(decode(v) for v in _items(data))
    if tag == "list":
        return [decode(v) for v in _items(data)]
    if tag == "dict":
        result = {}
        for pair in _items(data):
            if not isinstance(pair, list) or len(pair) != 2:
                raise CodecError("a dict item that is not a pair")
            key = decode(pair[0])
            try:
                result[key] = decode(pair[1])
            except TypeError as exc:  # an unhashable key
                raise CodecError(f"a dict key that cannot be a key ({exc})") from exc
        return result
    if tag == "set":
        try:
            return {decode(v) for v in _items(data)}
        except TypeError as exc:
            raise CodecError(f"a set member that cannot be hashed ({exc})") from exc
    value = data.get("v")
    try:
        if tag == "float":
            return float(str(value)) if str(value) in ("nan", "inf", "-inf") else _bad(tag)
        if tag == "datetime":
            return dt.datetime.fromisoformat(str(value))
        if tag == "date":
            return dt.date.fromisoformat(str(value))
        if tag == "time":
            return dt.time.fromisoformat(str(value))
        if tag == "timedelta":
            return dt.timedelta(seconds=float(value))
        if tag == "decimal":
            return decimal.Decimal(str(value))
        if tag == "path":
            return Path(str(value))
        if tag == "bytes":
            return base64.b64decode(str(value), validate=True)
    except (ValueError, TypeError, ArithmeticError, OverflowError) as exc:
        raise CodecError(f"a malformed {tag} ({exc})") from exc
    if tag == "frame":
        return _decode_frame(data, decode)
    if tag == "series":
        return _decode_series(data, decode)
    if tag in ("na", "nat"):
        import pandas as pd

        return pd.NA if tag == "na" else pd.NaT
    return NotImplemented


def _bad(tag: str) -> Any:
    raise CodecError(f"a malformed {tag}")


class _Bounded:
    """Depth and size limits around a recursive decode."""

    def __init__(self, step: Callable[[Any, Callable[[Any], Any]], Any]) -> None:
        self.step = step
        self.depth = 0
        self.counter = _Counter()

    def __call__(self, data: Any) -> Any:
        self.counter.tick()
        if data is None or isinstance(data, bool | int | float | str):
            return data
        if not isinstance(data, dict):
            raise CodecError(f"a bare {type(data).__name__} where a tagged value belongs")
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise CodecError(f"a value nested more than {MAX_DEPTH} levels deep")
            return self.step(data, self)
        finally:
            self.depth -= 1


# --------------------------------------------------------------------------- grader side


def decode_from_host(data: Any, make_handle: Callable[[int, str], Any]) -> Any:
    """What a host sent, as the grader's plain types; handles through `make_handle(id, type_name)`."""

    def step(item: dict[str, Any], decode: Callable[[Any], Any]) -> Any:
        tag = item.get("$")
        origin = None
        if tag in ("enum", "record", "handle"):
            ident = item.get("id")
            if not isinstance(ident, int) or isinstance(ident, bool):
                raise CodecError(f"a {tag} without its handle number")
            origin = make_handle(ident, str(item.get("type", "?"))[:300])
        if tag == "enum":
            return EnumValue(str(item.get("type", "?")), str(item.get("name", "?")), decode(item.get("value")), origin)
        if tag == "record":
            fields = item.get("fields")
            if not isinstance(fields, dict):
                raise CodecError("a record without fields")
            return Record(str(item.get("type", "?")), {str(k): decode(v) for k, v in fields.items()}, origin)
        if tag == "handle":
            return origin
        found = _decode_common(item, decode)
        if found is NotImplemented:
            raise CodecError(f"an unknown tag {str(tag)[:40]!r}")
        return found

    return _Bounded(step)(data)


def encode_for_host(value: Any, reference: Callable[[Any], Any | None]) -> Any:
    """A check's argument as plain data; `reference(value)` gives the tag of a handle, a client or a
    clock (None for anything else). A Record or EnumValue goes back as the object it was read from."""

    def encode(item: Any) -> Any:
        if isinstance(item, Record | EnumValue) and item.origin is not None:
            item = item.origin
        ref = reference(item)
        if ref is not None:
            return ref
        found = _encode_common(item, encode)
        if found is NotImplemented:
            found = _encode_pandas(item, encode)
        if found is NotImplemented:
            raise CodecError(f"a check passed a {type_name(item)}, which cannot be sent to the learner's code")
        return found

    return encode(value)


# --------------------------------------------------------------------------- host side


class HostCodec:
    """The learner host's half: learner objects out as plain data (or handles), arguments in."""

    def __init__(self, resolve: Callable[[dict[str, Any]], Any]) -> None:
        self.objects: dict[int, Any] = {}
        self._ids: dict[int, int] = {}  # id(obj) -> handle number, so one object keeps one handle
        self._resolve = resolve  # a client or clock tag -> the host-side object

    def handle(self, value: Any) -> dict[str, Any]:
        key = id(value)
        number = self._ids.get(key)
        if number is None or self.objects.get(number) is not value:
            number = len(self.objects) + 1
            self.objects[number] = value
            self._ids[key] = number
        return {"$": "handle", "id": number, "type": type_name(value)}

    def encode(self, value: Any) -> Any:
        counter = _Counter()
        depth = [0]

        def encode(item: Any) -> Any:
            counter.tick()
            depth[0] += 1
            try:
                if depth[0] > MAX_DEPTH:
                    raise CodecError(f"a value nested more than {MAX_DEPTH} levels deep")
                return self._encode_one(item, encode)
            finally:
                depth[0] -= 1

        return encode(value)

    def _encode_one(self, value: Any, encode: Callable[[Any], Any]) -> Any:
        if isinstance(value, enum.Enum):
            return {"$": "enum", "type": type_name(value), "name": str(value.name), "value": encode(value.value),
                    "id": self.handle(value)["id"]}
        found = _encode_common(value, encode)
        if found is not NotImplemented:
            return found
        found = _encode_pandas(value, encode)
        if found is not NotImplemented:
            return found
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            fields = {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
            return {"$": "record", "type": type_name(value), "fields": fields, "id": self.handle(value)["id"]}
        model_fields = getattr(type(value), "model_fields", None)
        if isinstance(model_fields, dict) and hasattr(value, "model_dump"):  # a pydantic model
            return {"$": "record", "type": type_name(value), "id": self.handle(value)["id"],
                    "fields": {str(name): encode(getattr(value, name)) for name in model_fields}}
        if isinstance(value, tuple) and isinstance(getattr(value, "_fields", None), tuple):  # a named tuple
            return {"$": "record", "type": type_name(value), "id": self.handle(value)["id"],
                    "fields": {str(name): encode(v) for name, v in zip(value._fields, value, strict=False)}}
        if type(value).__module__ == "sqlite3" and type(value).__name__ == "Row":
            return {"$": "dict", "items": [[encode(k), encode(value[k])] for k in value.keys()]}
        if type(value).__module__ == "numpy" and hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
            return encode(value.item())
        return self.handle(value)

    def decode(self, data: Any) -> Any:
        """A grader's argument as a host value (handles back to their objects)."""

        def step(item: dict[str, Any], decode: Callable[[Any], Any]) -> Any:
            tag = item.get("$")
            if tag == "handle":
                number = item.get("id")
                if number not in self.objects:
                    raise CodecError(f"no object with handle {number!r}")
                return self.objects[number]
            if tag in ("client", "clock"):
                return self._resolve(item)
            found = _decode_common(item, decode)
            if found is NotImplemented:
                raise CodecError(f"an unknown tag {str(tag)[:40]!r}")
            return found

        return _Bounded(step)(data)
