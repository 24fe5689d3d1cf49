"""Template files against the published JSON Schema: good ones load, broken ones are refused with
messages that name the file, the LINE and the field, and say what is wrong."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator
from partnercrmd_templates import loader
from partnercrmd_templates.discovery import catalogue_dir
from partnercrmd_templates.loader import TemplateError, load_file, load_text, schema

MINIMAL = """\
format: 1
id: demo
name: Demo CRM
version: "1.0"
parameters:
  - key: url
    label: Address
    type: url
    required: true
  - key: token
    label: Token
    type: secret
base_url: "{{ settings.url }}"
auth:
  type: bearer
  token: "{{ settings.token }}"
operations:
  lookup:
    request:
      url: /people
      query: {phone: "{{ number }}"}
    response:
      records: items
      fields:
        Id: id
        ContactName: name
"""


def problems_of(text: str) -> list[str]:
    with pytest.raises(TemplateError) as refused:
        load_text(text, "demo.yaml")
    return refused.value.problems


def test_the_published_schema_is_a_valid_json_schema() -> None:
    Draft202012Validator.check_schema(schema())
    assert schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize("path", sorted(catalogue_dir().glob("*.yaml")), ids=lambda p: p.stem)
def test_every_catalogue_template_is_valid(path: Path) -> None:
    loaded = load_file(path)
    assert loaded.data["documentation"] and loaded.data["release_notes"]
    # And they satisfy the published schema on their own, as any other tool would check them.
    assert list(Draft202012Validator(schema()).iter_errors(json.loads(json.dumps(loaded.data)))) == []


def test_a_minimal_template_loads() -> None:
    loaded = load_text(MINIMAL, "demo.yaml")
    assert loaded.id == "demo" and loaded.lines[("operations", "lookup", "request", "url")] == 20


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        # An unknown (misspelt) field: its own line.
        (
            ("      url: /people", "      url: /people\n      metod: GET"),
            "demo.yaml:21: operations.lookup.request.metod: is not a field of this part of a template (misspelt?)",
        ),
        # A value outside its choices.
        (("    type: secret", "    type: password"), "demo.yaml:12: parameters[1].type: 'password' is not one of"),
        # A required field missing: the line of the part that lacks it.
        (('  token: "{{ settings.token }}"\n', ""), "demo.yaml:14: auth: 'token' is missing (required)"),
        # A field of the wrong type.
        (('version: "1.0"', "version: 1.0"), "demo.yaml:4: version: 1.0 is not of type 'string'"),
        # An id the schema's pattern refuses.
        (("id: demo", "id: Demo CRM"), "demo.yaml:2: id: 'Demo CRM' does not match"),
        # A JMESPath that does not compile.
        (
            ("      records: items", "      records: items[?"),
            "demo.yaml:23: operations.lookup.response.records: Invalid jmespath",
        ),
        # A template string with an unclosed placeholder.
        (
            ('query: {phone: "{{ number }}"}', 'query: {phone: "{{ number"}'),
            "demo.yaml:21: operations.lookup.request.query.phone: a {{ without its }}",
        ),
        # A setting used but not declared.
        (
            ('token: "{{ settings.token }}"', 'token: "{{ settings.tokn }}"'),
            "demo.yaml:16: auth.token: uses settings.tokn, which is not among the parameters",
        ),
        # A key given twice.
        (("name: Demo CRM", "name: Demo CRM\nname: Other"), "demo.yaml:4: name: is given twice"),
        # An auth type's own fields.
        (("  type: bearer", "  type: basic"), "demo.yaml:14: auth: 'username' is missing (required)"),
    ],
)
def test_broken_templates_name_the_line_and_the_field(change: tuple[str, str], expected: str) -> None:
    old, new = change
    assert old in MINIMAL
    problems = problems_of(MINIMAL.replace(old, new, 1))
    assert any(p.startswith(expected) for p in problems), problems


def test_not_yaml_names_the_line() -> None:
    [problem] = problems_of(MINIMAL.replace("  lookup:\n", "  lookup: [\n"))
    assert problem == (
        "demo.yaml:20: not valid YAML: expected ',' or ']', but got ':' "
        "(while parsing a flow sequence that starts on line 18)"
    )


def test_every_problem_is_reported_at_once_in_file_order() -> None:
    text = MINIMAL.replace("    type: secret", "    type: password").replace("      url: /people", "      url: 7")
    problems = problems_of(text)
    assert [p.split(":")[1] for p in problems] == ["12", "20"]
    assert "operations.lookup.request.url: 7 is not of type 'string'" in problems[1]


def test_ids_need_a_get_operation() -> None:
    text = MINIMAL.replace(
        "      records: items\n      fields:\n        Id: id\n        ContactName: name\n", "      ids: items[].id\n"
    )
    [problem] = problems_of(text)
    assert problem == "demo.yaml:23: operations.lookup.response.ids: needs a `get` operation to read each id"


def test_files_that_are_not_templates(tmp_path: Path) -> None:
    for name, content, reason in [
        ("empty.yaml", b"", "the file is empty"),
        ("list.yaml", b"- 1\n- 2\n", "a template is a mapping of fields"),
        ("binary.yaml", b"\xff\xfe\x00", "not UTF-8 text"),
    ]:
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(TemplateError, match=reason):
            load_file(path)
    with pytest.raises(TemplateError, match="cannot be read"):
        load_file(tmp_path / "missing.yaml")


def test_the_validate_command(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(MINIMAL, encoding="utf-8")
    bad.write_text(MINIMAL.replace("    type: secret", "    type: password"), encoding="utf-8")
    run = [sys.executable, "-m", "partnercrmd", "template", "validate"]
    ok = subprocess.run([*run, str(good)], capture_output=True, text=True, timeout=60)
    assert (ok.returncode, ok.stdout.strip(), ok.stderr) == (0, f"{good}: ok (demo 1.0: lookup)", "")
    failed = subprocess.run([*run, str(good), str(bad)], capture_output=True, text=True, timeout=60)
    assert failed.returncode == 1
    assert failed.stderr.startswith(f"{bad}:12: parameters[1].type: 'password' is not one of")


def test_libyaml_reads_every_catalogue_template_as_the_pure_python_parser_does(monkeypatch: pytest.MonkeyPatch) -> None:
    """The daemon parses the catalogue with libyaml at every start (15 times as fast); the values and the line of
    every field must be those the pure-Python parser gives."""
    assert loader.COMPOSER.__name__ == "CSafeLoader"  # PyYAML's wheels carry libyaml
    for path in sorted(catalogue_dir().glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        fast, fast_lines = loader.parse_yaml(text, path.name)
        monkeypatch.setattr(loader, "COMPOSER", yaml.SafeLoader)
        slow, slow_lines = loader.parse_yaml(text, path.name)
        monkeypatch.undo()
        assert (fast, fast_lines.lines, fast_lines.key_lines) == (slow, slow_lines.lines, slow_lines.key_lines), path
