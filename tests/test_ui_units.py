"""Units of the configuration UI: reordering, reading book forms, branding helpers; and an unbranded page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from multidict import MultiDict, MultiDictProxy

from partnercrmd.books import BookConfig, read_books
from partnercrmd.branding import Branding
from partnercrmd.integration import Capability, ConfigField, FieldKind, Integration
from partnercrmd.local_book.addin import LOCAL
from partnercrmd.ui.book_forms import form_fields, read_book_form
from partnercrmd.ui.common import branded_text, branding_css, guide_link, partner_link
from partnercrmd.ui.integrations import move_book
from partnercrmd.vault import Vault
from tests.ui_support import Client, log_in, page_text

BRANDED = Branding(
    product_name="Acme Connect", source=Path("/etc/acme/branding.toml"), guide_url="https://acme.example/g"
)
SCHEMA = Integration(
    id="demo",
    name="Demo",
    version="1",
    open=lambda context: None,  # type: ignore[arg-type,return-value]  # never opened here
    capabilities=frozenset({Capability.SEARCH_NAME}),
    config=(
        ConfigField("url", "Server", FieldKind.URL, required=True),
        ConfigField("password", "Password", FieldKind.SECRET, required=True),
        ConfigField("pages", "Pages", FieldKind.INT, default=5),
        ConfigField("fast", "Fast", FieldKind.BOOL, default=True),
        ConfigField("mode", "Mode", FieldKind.CHOICE, choices=("a", "b")),
    ),
)


def form(*pairs: tuple[str, str]) -> MultiDictProxy[Any]:
    return MultiDictProxy(MultiDict(pairs))


def vault_with(tmp_path: Path, priorities: dict[str, int]) -> Vault:
    vault = Vault.open(tmp_path)
    vault.update(
        lambda doc: doc.update(
            books={
                book_id: BookConfig(id=book_id, type="local", name=book_id.title(), priority=p).to_dict()
                for book_id, p in priorities.items()
            }
        )
    )
    return vault


def order(vault: Vault) -> list[tuple[str, int]]:
    return [(b.id, b.priority) for b in read_books(vault.read())]


def test_moving_swaps_two_distinct_priorities_and_renumbers_equal_ones(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("PARTNERCRMD_KEYRING", "0")  # a key file in tmp_path, never the developer's keyring
    vault = vault_with(tmp_path / "a", {"a": 10, "b": 20, "c": 35})
    move_book(vault, "c", -1)
    assert order(vault) == [("a", 10), ("c", 20), ("b", 35)]
    move_book(vault, "a", -1)  # the first one cannot go higher
    assert order(vault) == [("a", 10), ("c", 20), ("b", 35)]
    move_book(vault, "b", 1)
    assert order(vault) == [("a", 10), ("c", 20), ("b", 35)]
    same = vault_with(tmp_path / "b", {"a": 100, "b": 100, "c": 100})
    move_book(same, "c", -1)
    assert order(same) == [("a", 10), ("c", 20), ("b", 30)]


def test_a_book_form_keeps_blank_secrets_numbers_and_choices_and_reads_checkboxes() -> None:
    given, shown = read_book_form(
        SCHEMA,
        form(("o.name", " Demo 1 "), ("s.url", "https://x"), ("s.password", ""), ("s.pages", ""), ("s.fast", "0")),
        editing=True,
    )
    assert given == {"name": "Demo 1", "enabled": False, "url": "https://x", "fast": False}
    given, shown = read_book_form(SCHEMA, form(("s.password", "pw"), ("s.fast", "0"), ("s.fast", "1")), editing=False)
    assert given == {"password": "pw", "fast": True} and "password" not in shown


def test_form_fields_never_carry_a_secret_and_say_whether_one_is_set() -> None:
    fields = {f.name: f for f in form_fields(SCHEMA, {"url": "https://x", "password": "pw"}, editing=True)}
    assert fields["s.password"].value == "" and fields["s.password"].secret_set
    assert not fields["s.password"].required  # a stored secret need not be typed again
    assert fields["s.url"].value == "https://x" and fields["s.url"].input_type == "url"
    new = {f.name: f for f in form_fields(SCHEMA, {}, editing=False)}
    assert new["s.pages"].value == "5" and new["s.fast"].checked and new["s.password"].required


def test_branding_helpers() -> None:
    unbranded = Branding()
    project = "https://github.com/partnercrmd/partnercrmd/blob/main/docs/x.md"
    assert guide_link(unbranded, project) == project
    assert guide_link(BRANDED, project) == "https://acme.example/g"
    assert guide_link(BRANDED, "https://vendor.example/guide") == "https://vendor.example/guide"
    assert partner_link(BRANDED, project) == "" and partner_link(unbranded, project) == project
    assert branded_text(BRANDED, "Start partnercrmd from the desktop") == "Start Acme Connect from the desktop"
    assert branded_text(BRANDED, "pip install partnercrmd-carddav") == "pip install partnercrmd-carddav"
    assert branded_text(BRANDED, "run `partnercrmd apps approve x`") == "run `partnercrmd apps approve x`"
    assert branded_text(BRANDED, "e.g. postgresql://partnercrmd@db/crm") == "e.g. postgresql://acme-connect@db/crm"
    assert branded_text(unbranded, "partnercrmd runs") == "partnercrmd runs"
    css = branding_css(Branding(colours={"primary": "#123456", "text": "red;} body{display:none", "other": "#fff"}))
    assert "--primary: #123456;" in css and "display" not in css and "other" not in css


async def test_unbranded_pages_name_partnercrmd(partnercrmd_client: Client) -> None:
    await log_in(partnercrmd_client)
    page = await page_text(partnercrmd_client, "/ui/integrations")
    assert "<strong>partnercrmd</strong>" in page and "<title>Integrations · partnercrmd</title>" in page
    assert LOCAL.guide_url in page  # the project's own guide links stay in an unbranded build
