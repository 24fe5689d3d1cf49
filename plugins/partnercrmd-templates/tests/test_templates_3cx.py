"""3CX CRM template import: a 3CX template for Freshdesk converts, and the result works through the daemon.

tests/data/freshdesk-3cx.xml is a 3CX CRM template written from 3CX's documented template format
(Crm, Number Prefix/MaxLength, Parameters, Authentication, Scenarios with Request, Rules, Variables
and Outputs) for Freshdesk's API v2; the Freshdesk it talks to is the local reproduction of
Freshdesk's documented API in crm_freshdesk.py. The parts that cannot be converted are listed, each
with where it was and why.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import crm_freshdesk
import pytest
import yaml
from aiohttp import web
from partnercrmd_templates.threecx import convert, convert_file
from templates_fake_crm import FakeCrm

from partnercrmd.sdk import ConfigError
from partnercrmd.testing import ApiSession, RecordingOpener, configure_book, remove_default_book

XML = Path(__file__).parent / "data" / "freshdesk-3cx.xml"


def test_the_3cx_template_converts_and_says_what_it_could_not() -> None:
    result = convert_file(XML)
    template = result.template
    assert (template["id"], template["name"], template["version"]) == ("freshdesk-3cx", "Freshdesk 3CX", "3")
    assert template["base_url"] == "{{ settings.helpdesk_url }}"
    assert template["auth"] == {"type": "basic", "username": "{{ settings.api_key }}", "password": "X"}
    keys = {p["key"]: p for p in template["parameters"]}
    assert keys["api_key"]["type"] == "secret" and keys["report_call_enabled"]["default"] is True
    assert keys["call_subject"]["when"] == "settings.report_call_enabled"  # Parent="ReportCallEnabled"
    assert set(template["operations"]) == {"lookup", "search", "log_call", "create_contact", "pop"}
    assert template["operations"]["lookup"]["forms"] == ["e164"]  # Number Prefix="AsIs", no MaxLength
    assert template["operations"]["lookup"]["request"]["url"] == "/api/v2/contacts?phone={{ number }}"
    assert template["operations"]["log_call"]["request"]["json"]["source"] == 3  # Type="Integer"
    assert template["operations"]["pop"] == {"view": "{{ settings.helpdesk_url }}/a/contacts/{{ id }}"}
    assert result.notes == [
        "Scenario '' Variable JobTitle: its Filter is not converted",
        "Scenario 'LookupByEmail': partnercrmd has no such operation; not converted",
        "Scenario 'ReportCall': SkipIf '[ReportCallEnabled]!=True' is not converted",
        "Scenario 'ReportCall': the date format \"yyyy-MM-dd HH:mm\" of [CallStartTimeUTC] became ISO 8601 "
        "(2026-11-25T14:03:00Z)",
        "Scenario 'ReportCall': [Agent] (the agent's name) was left empty",
    ]
    assert yaml.safe_load(result.yaml_text) == template
    assert result.yaml_text.count("#   - ") == len(result.notes)


@pytest.mark.parametrize(
    ("xml", "reason"),
    [
        ("<Crm><Scenarios>", "is not XML"),
        ("<Template/>", "its root element is <Template>, not <Crm>"),
        (
            '<Crm Name="X"><Scenarios><Scenario Id="LookupByEmail" Type="REST"><Request Url="https://x/e"/>'
            "</Scenario></Scenarios></Crm>",
            "no scenario could be converted: Scenario 'LookupByEmail': partnercrmd has no such operation",
        ),
        (
            '<!DOCTYPE Crm [<!ENTITY a "aaaa">]><Crm Name="&a;"/>',
            "was refused",
        ),
    ],
)
def test_what_is_not_a_3cx_template_is_refused_clearly(xml: str, reason: str) -> None:
    with pytest.raises(ConfigError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        convert(xml, "upload.xml")


def test_number_max_length_and_other_authentication() -> None:
    xml = """<Crm Name="Acme" Version="1.2"><Number Prefix="Remove" MaxLength="[Digits]"/>
      <Parameters><Parameter Name="Digits" Type="Integer" Default="9" Title="Digits"/>
      <Parameter Name="Token" Type="Password" Title="Token"/></Parameters>
      <Authentication Type="OAuth"><Value>x</Value></Authentication>
      <Scenarios><Scenario Id="" Type="REST"><Request Url="https://acme.example/find?n=[Number]" RequestType="Get"/>
      <Rules><Rule Type="Any">people.id</Rule></Rules>
      <Variables><Variable Name="Id" Path="people.id"/><Variable Name="First" Path="people.name.first"/>
      <Variable Name="Last" Path="people.name.last"/></Variables>
      <Outputs><Output Type="EntityId" Value="[Id]"/><Output Type="Name" Value="[First] [Last]"/>
      <Output Type="Gender" Value="x"/></Outputs></Scenario></Scenarios></Crm>"""
    result = convert(xml, "acme.xml")
    lookup = result.template["operations"]["lookup"]
    assert (lookup["forms"], lookup["last_digits"]) == (["last"], 9)
    assert lookup["response"]["records"] == "people"
    assert (
        lookup["response"]["fields"]["ContactName"]
        == "join('', [to_string(name.first || ''), to_string(' ' || ''), to_string(name.last || '')])"
    )
    assert result.template["base_url"] == "https://acme.example" and lookup["request"]["url"] == "/find?n={{ number }}"
    assert any(n.startswith("Authentication: type OAuth cannot be converted") for n in result.notes)
    assert "Scenario '' Output Gender: partnercrmd has no such field; not converted" in result.notes
    assert "Number: MaxLength comes from the parameter Digits; its default 9 is used" in result.notes


def test_the_command_writes_the_template_and_lists_the_rest_on_stderr(tmp_path: Path) -> None:
    out = tmp_path / "freshdesk-3cx.yaml"
    done = subprocess.run(
        [sys.executable, "-m", "partnercrmd", "template", "import-3cx", str(XML), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PARTNERCRMD_HOME": str(tmp_path / "home")},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"Wrote {out} (5 part(s) not converted)."
    assert (
        done.stderr.splitlines()[1]
        == "not converted: Scenario 'LookupByEmail': partnercrmd has no such operation; not converted"
    )
    checked = subprocess.run(
        [sys.executable, "-m", "partnercrmd", "template", "validate", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0 and "ok (freshdesk-3cx 3:" in checked.stdout
    missing = subprocess.run(
        [sys.executable, "-m", "partnercrmd", "template", "import-3cx", str(tmp_path / "nope.xml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 2 and "nope.xml cannot be read" in missing.stderr


# --- the converted template, through the daemon, against Freshdesk ------------------------------------


@pytest.fixture
def templates_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "freshdesk-3cx.yaml").write_text(convert_file(XML).yaml_text, encoding="utf-8")
    monkeypatch.setenv("PARTNERCRMD_TEMPLATES_DIR", str(folder))
    return folder


@pytest.fixture
async def freshdesk() -> AsyncIterator[FakeCrm]:
    crm = crm_freshdesk.build()
    # 3CX passes the number as it comes (Prefix="AsIs"): Freshdesk's exact filter finds numbers stored in E.164.
    crm.records["43000009001"] = {**crm.records[next(iter(crm.records))], "id": 43000009001, "name": "Hedy Lamarr"}
    crm.records["43000009001"].update(phone="+442071838751", email="hedy@example.com")
    await crm.start()
    yield crm
    await crm.stop()


@pytest.fixture
async def book(templates_dir: Path, api: ApiSession, partnercrmd_app: web.Application, freshdesk: FakeCrm) -> str:
    await remove_default_book(partnercrmd_app)
    settings: dict[str, Any] = {"helpdesk_url": freshdesk.url, "api_key": crm_freshdesk.API_KEY}
    return await configure_book(partnercrmd_app, "freshdesk-3cx", **settings)


async def records(api: ApiSession, book: str, query: str) -> list[dict[str, Any]]:
    [found] = [c for c in await api.call("POST", "Search", query=query) if c["AddinId"] == book]
    assert found["ExceptionText"] == ""
    return list(found["Records"])


async def test_the_converted_template_finds_pops_logs_and_creates(
    templates_dir: Path, api: ApiSession, book: str, freshdesk: FakeCrm, partnercrmd_opener: RecordingOpener
) -> None:
    [hedy] = await records(api, book, "020 7183 8751")
    assert hedy["DisplayText"] == "Hedy Lamarr"
    assert [r["DisplayText"] for r in await records(api, book, "Dana")] == ["Dana Whitfield"]

    await api.call(
        "POST", "DoAction", actionId=next(a["ActionId"] for a in hedy["Actions"] if a["SpecialKind"] == "Open")
    )
    assert partnercrmd_opener.urls == [f"{freshdesk.url}/a/contacts/43000009001"]

    start = (datetime.now(UTC) - timedelta(minutes=5)).replace(microsecond=0)
    log = next(a["ActionId"] for a in hedy["Actions"] if a["SpecialKind"] == "LogActivity")
    await api.call(
        "POST",
        "DoAction",
        actionId=log,
        Direction="Outbound",
        CallerNumber="+44 20 7946 0000",
        CalledNumber="+44 20 7183 8751",
        StartTimeUtc=start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        DurationSeconds=61,
    )
    [ticket] = freshdesk.written["calls"]
    assert (ticket["requester_id"], ticket["source"], ticket["status"]) == (43000009001, 3, 5)
    assert ticket["subject"] == "Phone call: Outbound +44 20 7183 8751"
    assert ticket["description"] == (
        f"Outbound call with +44 20 7183 8751 handled by , started {start:%Y-%m-%dT%H:%M:%SZ}, lasting 00:01:01."
    )

    created = await api.call(
        "POST",
        "CreateNewRecord",
        RecordTypeId=f"{book}/Contact",
        FirstName="Grace",
        LastName="Hopper",
        Phone="+442071838750",
    )
    assert created["DisplayText"] == "Grace Hopper"
    assert freshdesk.written["contacts"] == [{"name": "Grace Hopper", "phone": "+442071838750"}]
    assert [r["DisplayText"] for r in await records(api, book, "+44 20 7183 8750")] == ["Grace Hopper"]
