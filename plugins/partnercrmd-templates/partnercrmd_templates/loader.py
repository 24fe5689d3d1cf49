"""Reading a template file: YAML with line numbers, the published JSON Schema, compiled expressions.

Every problem becomes a `TemplateError` whose lines read `FILE:LINE: field.path: what is wrong`,
so an author sees at once where to look. Nothing here does I/O except reading the file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

from .expressions import ExpressionError, Text, compile_path

MAX_FILE_BYTES = 1024 * 1024
FieldPath = tuple[str | int, ...]


class TemplateError(ValueError):
    """A template that cannot be used; `problems` are the lines of the message."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(problems))


@cache
def schema() -> dict[str, Any]:
    """The published JSON Schema of the template format (partnercrmd_templates/schema/template.schema.json)."""
    text = files("partnercrmd_templates").joinpath("schema/template.schema.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def dotted(path: FieldPath) -> str:
    """`operations.lookup.request.query.q`, `parameters[2].key`."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


class _Located:
    """The document and the line (1-based) of every field in it."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.lines: dict[FieldPath, int] = {}
        self.key_lines: dict[FieldPath, int] = {}
        self.problems: list[str] = []

    def line(self, path: FieldPath) -> int:
        while path not in self.lines and path:
            path = path[:-1]
        return self.key_lines.get(path) or self.lines.get(path, 1)

    def problem(self, path: FieldPath, what: str, line: int | None = None) -> None:
        self.problems.append(f"{self.source}:{line or self.line(path)}: {dotted(path)}: {what}")


class _ScalarLoader(yaml.SafeLoader):
    """SafeLoader's scalar resolution (ints, booleans, null…) for one node at a time."""

    def construct_scalar_value(self, node: yaml.ScalarNode) -> Any:
        value = self.construct_object(node, deep=True)
        self.constructed_objects.clear()  # one node at a time: nothing to share between them
        return value


COMPOSER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's parser where PyYAML was built with it (its wheels for Windows, macOS and Linux are): the same nodes and
marks as the pure-Python one, about 15 times as fast (the catalogue's 41 templates: 20 ms instead of 320 ms at every
start of the daemon); its error messages differ, so `_compose` takes those from the pure-Python parser."""


def _compose(text: str) -> yaml.Node | None:
    """The document's node tree; a file that is not YAML is parsed again by the pure-Python parser, whose error
    messages say more than libyaml's ("expected ',' or ']', but got ':'" where libyaml says "did not find expected
    ',' or ']'") and are the same on every machine."""
    try:
        return yaml.compose(text, Loader=COMPOSER)
    except yaml.YAMLError:
        if COMPOSER is yaml.SafeLoader:
            raise
    return yaml.compose(text, Loader=yaml.SafeLoader)


def parse_yaml(text: str, source: str) -> tuple[Any, _Located]:
    located = _Located(source)
    try:
        node = _compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        what = exc.problem or exc.context
        if exc.context and exc.context_mark is not None and exc.context_mark.line + 1 != line:
            what = f"{what} ({exc.context} that starts on line {exc.context_mark.line + 1})"
        raise TemplateError(source, [f"{source}:{line}: not valid YAML: {what}"]) from None
    except yaml.YAMLError as exc:
        raise TemplateError(source, [f"{source}:1: not valid YAML: {exc}"]) from None
    if node is None:
        raise TemplateError(source, [f"{source}:1: the file is empty"])
    data = _build(located, node, (), _ScalarLoader(""))
    return data, located


def _build(located: _Located, node: yaml.Node, path: FieldPath, scalars: _ScalarLoader) -> Any:
    located.lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                located.problem(path, "keys must be plain text", key_node.start_mark.line + 1)
                continue
            key = str(key_node.value)
            if key in out:
                located.problem((*path, key), "is given twice", key_node.start_mark.line + 1)
            located.key_lines[(*path, key)] = key_node.start_mark.line + 1
            out[key] = _build(located, value_node, (*path, key), scalars)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(located, item, (*path, i), scalars) for i, item in enumerate(node.value)]
    assert isinstance(node, yaml.ScalarNode)
    return scalars.construct_scalar_value(node)


def _schema_problem(located: _Located, error: ValidationError) -> None:
    path: FieldPath = tuple(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = set(error.schema.get("properties", {}))
        for extra in sorted(set(error.instance) - known):
            located.problem((*path, extra), "is not a field of this part of a template (misspelt?)")
        return
    if error.validator == "required":
        located.problem(path, error.message.replace("is a required property", "is missing (required)"))
        return
    message = error.message
    if len(message) > 200:
        message = message[:200] + "…"
    located.problem(path, message)


def _schema_errors(error: ValidationError) -> Iterator[ValidationError]:
    """The leaf errors (an `if/then` failure reports the branch's own errors)."""
    if error.context:
        for sub in error.context:
            yield from _schema_errors(sub)
    else:
        yield error


@cache
def _validator() -> Draft202012Validator:
    from jsonschema import Draft202012Validator  # imported when a template is checked, not at every start

    return Draft202012Validator(schema())


def validate(data: Any, located: _Located) -> None:
    """Schema problems, in the order of the file."""
    for error in _validator().iter_errors(data):
        for leaf in _schema_errors(error):
            _schema_problem(located, leaf)


def _walk_texts(value: Any, path: FieldPath) -> Iterator[tuple[FieldPath, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk_texts(item, (*path, i))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk_texts(item, (*path, key))


def _is_jmespath(path: FieldPath) -> bool:
    """Whether a field holds a plain JMESPath expression rather than a template string."""
    if path in (("error_message",), ("rpc_auth_error",), ("auth", "userinfo", "name")):
        return True
    if len(path) == 3 and path[:2] == ("session", "remember"):
        return True
    if len(path) == 3 and path[0] == "parameters" and path[2] == "when":
        return True
    if len(path) < 3 or path[0] != "operations":
        return False
    section = path[2]
    if path[1] == "call_event":  # operations.call_event[.states.STATE[i]].when / .remember.NAME
        inner = path[5:] if section == "states" else path[2:]
        return inner[:1] == ("when",) or (len(inner) == 2 and inner[0] == "remember")
    if section == "response":
        return len(path) >= 4 and (path[3] in ("records", "ids", "record", "id", "activities") or path[3] == "fields")
    if section == "pagination":
        return len(path) == 4 and path[3] in ("next", "more")
    return section == "preconditions" and path[-1] == "check"


TEXT_FREE = {"release_notes", "documentation", "description", "guide_url", "name", "id", "version", "classification"}


def check_expressions(data: Mapping[str, Any], located: _Located) -> None:
    """Compile every expression once, so a typo is reported on load, not on the first call."""
    for path, text in _walk_texts(data, ()):
        if path[0] in TEXT_FREE or (path[0] == "parameters" and path[-1] != "when"):
            continue
        if len(path) >= 3 and path[0] == "operations" and path[2] in ("doing", "forms", "values"):
            continue
        if path[:2] == ("operations", "call_event") and path[-1] == "doing":
            continue
        if path == ("session", "doing"):
            continue
        if len(path) == 4 and path[2] == "pagination" and path[3] == "type":
            continue
        if len(path) >= 3 and path[2] == "request" and path[-1] == "method":
            continue
        if path[:2] == ("auth", "type") or path[:2] in (
            ("auth", "client_auth"),
            ("auth", "scheme"),
            ("auth", "header"),
            ("auth", "service"),
        ):
            continue
        try:
            if _is_jmespath(path):
                compile_path(text)
            else:
                Text.compile(text)
        except ExpressionError as exc:
            located.problem(path, f"{exc}")


@dataclass(frozen=True)
class LoadedTemplate:
    """A template that passed the schema and whose expressions compile."""

    source: str
    data: Mapping[str, Any]
    lines: Mapping[FieldPath, int] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return str(self.data["id"])


def load_text(text: str, source: str, *, check: bool = True) -> LoadedTemplate:
    """The template in `text`, checked against the schema, with every expression compiled and its cross-field rules
    checked; `check` false leaves out those checks (the catalogue's own files at every start of the daemon: their
    tests check each of them, and the checks cost a tenth of a second for 41 templates). Its YAML is read either way.
    """
    data, located = parse_yaml(text, source)
    if not isinstance(data, dict):
        raise TemplateError(source, [f"{source}:1: a template is a mapping of fields (id, name, operations…)"])
    if check:
        validate(data, located)
    if check and not located.problems:
        check_expressions(data, located)
        _check_references(data, located)
    if located.problems:
        raise TemplateError(source, sorted(set(located.problems), key=_line_order))
    return LoadedTemplate(source, data, dict(located.lines))


def _line_order(problem: str) -> tuple[int, str]:
    parts = problem.split(":", 2)
    try:
        return int(parts[1]), problem
    except (IndexError, ValueError):
        return 0, problem


def _check_references(data: Mapping[str, Any], located: _Located) -> None:
    """Cross-field rules the schema cannot say: settings used must be parameters, ids need `get`…"""
    keys = {p["key"] for p in data.get("parameters", [])}
    for path, text in _walk_texts(data, ()):
        if path[:1] in (("parameters",), ("release_notes",), ("documentation",)):
            continue
        for name in _settings_used(text):
            if name not in keys:
                located.problem(path, f"uses settings.{name}, which is not among the parameters")
    operations = data.get("operations", {})
    for name in ("lookup", "search"):
        response = operations.get(name, {}).get("response", {})
        if "ids" in response and "get" not in operations:
            located.problem(("operations", name, "response", "ids"), "needs a `get` operation to read each id")
        if "ids" not in response and "fields" not in response and name in operations:
            located.problem(("operations", name, "response"), "needs `fields` (or `ids` with a `get` operation)")
    if "create_contact" in operations:
        response = operations["create_contact"].get("response", {})
        if "fields" not in response and "get" not in operations:
            located.problem(("operations", "create_contact", "response"), "needs `fields` or a `get` operation")
    call_event = operations.get("call_event")
    if call_event is not None:
        if ("states" in call_event) == ("request" in call_event):
            located.problem(("operations", "call_event"), "needs either `states` or one `request` with `values`")
        elif "request" in call_event and "values" not in call_event:
            located.problem(("operations", "call_event"), "a single `request` needs `values` (which states to send)")
        elif "states" in call_event and ("values" in call_event or "when" in call_event or "remember" in call_event):
            located.problem(("operations", "call_event"), "with `states`, give `when` and `remember` per request")
    for path, request in _requests(data):
        _check_request_kind(request, path, located)
    for index, parameter in enumerate(data.get("parameters", [])):
        if parameter.get("type") == "choice" and not parameter.get("choices"):
            located.problem(("parameters", index, "choices"), "a choice parameter needs its choices")


BODY_KINDS = ("json", "form", "graphql", "jsonrpc", "xmlrpc")
"""What a request sends as its body: at most one of them."""
RPC_KINDS = ("jsonrpc", "xmlrpc")
RPC_CALLS = {"jsonrpc": "a JSON-RPC call", "xmlrpc": "an XML-RPC call"}


def _requests(data: Mapping[str, Any]) -> Iterator[tuple[FieldPath, Mapping[str, Any]]]:
    """Every request of a template with its path: each operation's, its `then` steps', each call event state's
    and the session's."""
    session = data.get("session")
    if isinstance(session, Mapping) and isinstance(session.get("request"), Mapping):
        yield ("session", "request"), session["request"]
    for name, op in dict(data.get("operations", {})).items():
        if not isinstance(op, Mapping):
            continue
        if isinstance(op.get("request"), Mapping):
            yield ("operations", name, "request"), op["request"]
        for index, step in enumerate(op.get("then", [])):
            if isinstance(step, Mapping) and isinstance(step.get("request"), Mapping):
                yield ("operations", name, "then", index, "request"), step["request"]
        for state, steps in dict(op.get("states", {})).items():
            for index, step in enumerate(steps if isinstance(steps, list) else []):
                if isinstance(step, Mapping) and isinstance(step.get("request"), Mapping):
                    yield ("operations", name, "states", state, index, "request"), step["request"]


def _check_request_kind(request: Mapping[str, Any], path: FieldPath, located: _Located) -> None:
    """An RPC call is its request's whole body, always POSTed (JSON-RPC 2.0 over HTTP, XML-RPC's specification)."""
    kinds = [kind for kind in BODY_KINDS if kind in request]
    rpc = [kind for kind in kinds if kind in RPC_KINDS]
    if rpc and len(kinds) > 1:
        located.problem(
            (*path, rpc[0]),
            f"a request sends one body: {rpc[0]} cannot go with {', '.join(k for k in kinds if k != rpc[0])}",
        )
    if rpc and request.get("method", "POST") != "POST":
        located.problem((*path, "method"), f"{RPC_CALLS[rpc[0]]} is POSTed: leave out method or say POST")


def _settings_used(text: str) -> set[str]:
    return set(re.findall(r"settings\.([a-z][a-z0-9_]*)", text))


def load_file(path: Path, *, check: bool = True) -> LoadedTemplate:
    source = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise TemplateError(source, [f"{source}: cannot be read ({exc.strerror or exc})"]) from None
    if len(raw) > MAX_FILE_BYTES:
        raise TemplateError(source, [f"{source}: larger than {MAX_FILE_BYTES // 1024} KB; not a template"])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise TemplateError(source, [f"{source}: not UTF-8 text"]) from None
    return load_text(text, source, check=check)
