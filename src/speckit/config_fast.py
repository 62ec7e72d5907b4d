"""Build speckit.toml's pydantic models without pydantic's validator when the data is plainly valid.

Building pydantic's validators for the whole config costs ~20-40 ms on every command
that reads speckit.toml, `speckit run` included. The config models are strict (no
coercion: a string is never a number, a bool never an int, 5.0 never an int; an int
is widened to a float), so a file as `speckit init` writes it can be checked against
the models' own field annotations and constraints here and assembled with
`model_construct`. Anything it does not plainly accept (a model that is not strict,
an unknown key, a wrong type, a validator it does not know how to run, a failing
check) returns None, and the caller validates with pydantic, so every accepted file
is built the same either way and every error message stays the caller's. It reads
pydantic's field and decorator metadata; if that ever changes shape it falls back.
"""

from __future__ import annotations

import inspect
import types
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


class _Reject(Exception):
    """The data is not plainly valid: let pydantic decide (and word the error)."""


def construct(model: type[M], data: object) -> M | None:
    """`model` built from `data` exactly as `model.model_validate` would, or None."""
    try:
        return _model(model, data)
    except _Reject:
        return None
    except Exception:  # a validator's own error, or unexpected metadata: pydantic decides
        return None


def _model(model: type[M], data: object) -> M:
    config = model.model_config
    if not isinstance(data, dict) or config.get("extra") != "forbid" or not config.get("strict"):
        raise _Reject  # a lax model coerces what this refuses: pydantic must decide
    decorators = model.__pydantic_decorators__
    if decorators.validators or decorators.root_validators:
        raise _Reject
    keys = {}
    for name, info in model.model_fields.items():
        if info.validation_alias is not None and info.validation_alias != info.alias:
            raise _Reject
        keys[info.alias or name] = name
    if any(key not in keys for key in data):
        raise _Reject
    values: dict[str, Any] = {}
    for key, name in keys.items():
        info = model.model_fields[name]
        if key in data:
            values[name] = _checked(info.annotation, info.metadata, data[key])
        elif info.is_required():
            raise _Reject
        else:
            values[name] = info.get_default(call_default_factory=True)
    for decorator in decorators.field_validators.values():
        fields = decorator.info.fields
        if decorator.info.mode != "after" or _arity(decorator.func) != 1 or "*" in fields:
            raise _Reject
        for name in fields:
            if name in values:
                values[name] = decorator.func(values[name])
    built = model.model_construct(_fields_set={keys[key] for key in data}, **values)
    for check in decorators.model_validators.values():
        if check.info.mode != "after" or _arity(check.func) != 1:
            raise _Reject
        if check.func(built) is not built:
            raise _Reject
    return built


def _arity(func: Any) -> int:
    return len(inspect.signature(func).parameters)


def _checked(annotation: Any, metadata: list[Any], value: Any) -> Any:
    result = _typed(annotation, value)
    if result is not None:
        for constraint in metadata:
            _constrain(constraint, result)
    return result


def _constrain(constraint: Any, value: Any) -> None:
    if isinstance(constraint, annotated_types.Gt):
        ok = value > constraint.gt
    elif isinstance(constraint, annotated_types.Ge):
        ok = value >= constraint.ge
    elif isinstance(constraint, annotated_types.Lt):
        ok = value < constraint.lt
    elif isinstance(constraint, annotated_types.Le):
        ok = value <= constraint.le
    else:
        raise _Reject
    if not ok:
        raise _Reject


def _typed(annotation: Any, value: Any) -> Any:
    """`value` as pydantic would store it in a field of type `annotation`, or _Reject."""
    origin, args = get_origin(annotation), get_args(annotation)
    if annotation is object or annotation is Any:
        return value
    if origin is Literal:
        if all(isinstance(arg, str) for arg in args) and type(value) is str and value in args:
            return value
        raise _Reject
    if origin is Union or origin is types.UnionType:
        if value is None:
            if type(None) in args:
                return None
            raise _Reject
        matches = []
        for member in args:
            try:
                matches.append(_typed(member, value))
            except _Reject:
                continue
        if len(matches) != 1:  # none, or ambiguous: pydantic's union rules decide
            raise _Reject
        return matches[0]
    if annotation in (str, bool, int) and type(value) is annotation:
        return value
    if annotation is float and type(value) in (int, float):
        return float(value)
    if origin is list and isinstance(value, list):
        return [_typed(args[0], item) for item in value]
    if origin is dict and isinstance(value, dict):
        return {_typed(args[0], key): _typed(args[1], item) for key, item in value.items()}
    if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        return _model(annotation, value)
    raise _Reject
