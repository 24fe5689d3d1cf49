"""Guarded add-in loading: a broken entry point, a failing hook or a disabled add-in never stops the host."""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points

import pytest

from partnercrmd.addin_host import DISABLE_ENV, ENTRY_POINT_GROUP, AddinHost, create_host
from tests.fake_addins import ExplodingAddin, FakeAddins


def test_builtin_local_book_is_found_through_its_entry_point() -> None:
    host = create_host()
    assert "local" in host.integrations
    provider = host.provider("local")
    assert provider is not None and provider.builtin and provider.distribution == "partnercrmd"


def test_entry_point_that_fails_to_import_is_reported_and_skipped() -> None:
    host = AddinHost()
    broken = EntryPoint(name="broken", value="partnercrmd_no_such_module_xyz", group=ENTRY_POINT_GROUP)
    host.load_entry_points([broken, *entry_points(group=ENTRY_POINT_GROUP, name="local")], set())
    host.collect_integrations()
    assert host.addins["broken"].error is not None and "ModuleNotFoundError" in host.addins["broken"].error
    assert "local" in host.integrations
    assert "failed to load" in host.unavailable_reason("broken")


def test_named_add_ins_can_be_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DISABLE_ENV, "local")
    host = create_host()
    assert "local" not in host.integrations
    assert host.addins["local"].disabled
    assert "disabled" in host.unavailable_reason("local")


def test_star_disables_third_party_add_ins_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DISABLE_ENV, "*")
    host = create_host()
    assert "local" in host.integrations
    assert all(info.builtin for info in host.addins.values() if not info.disabled)


def test_failing_hook_and_duplicate_ids_are_reported() -> None:
    host = create_host([("fakes", FakeAddins()), ("exploding", ExplodingAddin()), ("again", FakeAddins())])
    assert host.addins["exploding"].error == "RuntimeError: cannot list integrations"
    error = host.addins["again"].error or host.addins["fakes"].error
    assert error is not None and "already provided" in error
    assert "loose" in host.integrations
