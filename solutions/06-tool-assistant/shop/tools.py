"""The order API's functions as model tools: their strict schemas, argument validation and results.

The argument models are built from the functions' own signatures, so the schema the model sees and
the validation its calls go through cannot drift from the code that runs.
"""

from __future__ import annotations

import inspect
import json
import typing
from collections.abc import Callable
from dataclasses import dataclass, fields, is_dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any

import openai
from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from shop.orders import OrderDesk

# Read-only tools run as soon as the model asks; acting tools wait for the support agent.
READ_ONLY = ("lookup_order", "list_orders")
ACTING = ("start_return", "issue_refund")


class ToolRejected(Exception):
    """A tool call that is not run: unknown tool, or arguments that do not fit the function."""


@dataclass(frozen=True)
class Tool:
    """One function of the order API offered to the model."""

    name: str
    acting: bool
    arguments: type[BaseModel]
    function: Callable[..., Any]

    def spec(self) -> dict[str, Any]:
        """The Chat Completions function tool, strict, with the function's docstring as description."""
        summary = (inspect.getdoc(self.function) or self.name).split("\n\n")[0].replace("\n", " ")
        spec = openai.pydantic_function_tool(self.arguments, name=self.name, description=summary)
        return _without_titles(dict(spec))


@dataclass(frozen=True)
class ToolCall:
    """A validated call, ready to run."""

    call_id: str
    tool: Tool
    arguments: dict[str, Any]  # as the model sent them (JSON values)
    validated: BaseModel

    def run(self) -> str:
        """Run the function; its result, or the business error it raised, as JSON for the model."""
        try:
            result = self.tool.function(**dict(self.validated))
        except (LookupError, ValueError) as err:  # the order API's documented refusals
            return error_result(str(err))
        return json.dumps(jsonable(result))


def _without_titles(schema: Any) -> Any:
    """The schema without pydantic's `title`s and enum docstrings: tokens the model gains nothing from."""
    if isinstance(schema, dict):
        return {k: _without_titles(v) for k, v in schema.items()
                if k != "title" and not (k == "description" and "enum" in schema)}
    if isinstance(schema, list):
        return [_without_titles(v) for v in schema]
    return schema


def _arguments_model(name: str, function: Callable[..., Any]) -> type[BaseModel]:
    hints = typing.get_type_hints(function)
    params = {
        pname: (hints[pname], ... if p.default is inspect.Parameter.empty else p.default)
        for pname, p in inspect.signature(function).parameters.items()
    }
    # strict=True would refuse 15 for a float; extra="forbid" refuses parameters the function does not take.
    return create_model(name, __config__=ConfigDict(extra="forbid"), **params)


class Toolbox:
    """The four tools over one OrderDesk. Only these names can ever run, whatever the model asks."""

    def __init__(self, desk: OrderDesk) -> None:
        self._tools = {
            name: Tool(name, name in ACTING, _arguments_model(name, getattr(desk, name)), getattr(desk, name))
            for name in READ_ONLY + ACTING
        }

    def specs(self) -> list[dict[str, Any]]:
        """The tools to offer the model, in a stable order."""
        return [tool.spec() for tool in self._tools.values()]

    def prepare(self, call_id: str, name: str, raw_arguments: str) -> ToolCall:
        """Validate one call of the model; raises ToolRejected with a message for the model."""
        tool = self._tools.get(name)
        if tool is None:
            raise ToolRejected(f"unknown tool {name!r}; the tools are {', '.join(self._tools)}")
        try:
            arguments = json.loads(raw_arguments or "{}")
        except json.JSONDecodeError as err:
            raise ToolRejected(f"the arguments of {name} are not valid JSON ({err.msg})") from None
        if not isinstance(arguments, dict):
            raise ToolRejected(f"the arguments of {name} must be a JSON object")
        try:
            validated = tool.arguments.model_validate(arguments)
        except ValidationError as err:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or name}: {e['msg']}" for e in err.errors())
            raise ToolRejected(f"invalid arguments for {name}: {problems}") from None
        return ToolCall(call_id, tool, arguments, validated)


def error_result(message: str) -> str:
    """The tool result of a call that was not run or failed."""
    return json.dumps({"error": message})


def jsonable(value: Any) -> Any:
    """The order API's results as JSON values; objects with a `ref` property keep it."""
    if is_dataclass(value) and not isinstance(value, type):
        data = {f.name: jsonable(getattr(value, f.name)) for f in fields(value)}
        if isinstance(getattr(type(value), "ref", None), property):
            data = {"ref": value.ref, **data}
        # The database id means nothing to the model (the ref does), nor does the moment a row was just
        # written; leaving the latter out also keeps recorded conversations reproducible.
        for dropped in ("id", "created_at"):
            data.pop(dropped, None)
        return data
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return value
