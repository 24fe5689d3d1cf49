"""The self-contained build recipe (packaging/pyinstaller): what it packs, computed here from the installed add-ins.

PyInstaller runs on the partner's Windows or macOS machine; `build_inputs.collect`, which decides
what goes in, runs here against the real installed distributions, a real branding file and a
tesseract folder laid out as each platform's installer lays it out.
"""

from __future__ import annotations

import importlib.util
import sys
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType

import pytest

from partnercrmd.platform import frozen_executable, installed_command, url_handlers
from tests.platform_fakes import pretend_to_be

RECIPE = Path(__file__).resolve().parents[1] / "packaging" / "pyinstaller"
BRANDING = RECIPE.parent / "branding.example.toml"


@pytest.fixture(scope="module")
def build_inputs() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_inputs", RECIPE / "build_inputs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["build_inputs"] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def windows_tesseract(folder: Path) -> Path:
    """The UB Mannheim installer's layout: tesseract.exe, its DLLs and tessdata/ side by side."""
    (folder / "tessdata").mkdir(parents=True)
    for name in ("tesseract.exe", "libtesseract-5.dll", "libleptonica-6.dll", "tessdata/eng.traineddata"):
        (folder / name).write_bytes(b"x")
    return folder


def test_a_branded_windows_build_packs_the_core_every_addin_the_branding_and_tesseract(
    build_inputs: ModuleType, tmp_path: Path
) -> None:
    tesseract = windows_tesseract(tmp_path / "Tesseract-OCR")
    inputs = build_inputs.collect("win32", tmp_path / "staging", BRANDING, tesseract)
    assert inputs.name == "Acme Connect"

    shipped = {ep.value.split(":")[0].split(".")[0] for ep in entry_points(group="partnercrmd.addins")}
    assert shipped <= set(inputs.packages) and "partnercrmd" in inputs.packages
    assert {ep.dist.name for ep in entry_points(group="partnercrmd.addins") if ep.dist} <= set(inputs.distributions)

    datas = {(Path(source).name, folder) for source, folder in inputs.datas}
    assert ("branding.toml", "partnercrmd") in datas
    staged = tmp_path / "staging" / "branding.toml"
    assert staged.read_text(encoding="utf-8") == BRANDING.read_text(encoding="utf-8")
    for template in (Path(__file__).parents[1] / "partnercrmd" / "templates").glob("*.html"):
        assert (template.name, "partnercrmd/templates") in datas
    assert ("schema.sql", "partnercrmd/local_book") in datas
    assert ("hubspot.yaml", "partnercrmd_templates/catalogue") in datas
    assert not any("/tests" in folder or name.endswith(".pyc") for name, folder in datas)

    assert inputs.binaries == [
        (str(tesseract / "tesseract.exe"), "tesseract"),
        (str(tesseract / "libleptonica-6.dll"), "tesseract"),
        (str(tesseract / "libtesseract-5.dll"), "tesseract"),
    ]
    assert (str(tesseract / "tessdata" / "eng.traineddata"), "tesseract/tessdata") in inputs.datas
    assert {"pynput.keyboard._win32", "pynput.mouse._win32", "keyring.backends.Windows"} <= set(inputs.hiddenimports)


def test_a_macos_build_takes_tesseract_from_a_homebrew_prefix_and_only_the_chosen_addins(
    build_inputs: ModuleType, tmp_path: Path
) -> None:
    prefix = tmp_path / "homebrew"
    (prefix / "bin").mkdir(parents=True)
    (prefix / "share" / "tessdata").mkdir(parents=True)
    (prefix / "bin" / "tesseract").write_bytes(b"x")
    (prefix / "share" / "tessdata" / "eng.traineddata").write_bytes(b"x")
    inputs = build_inputs.collect("darwin", tmp_path / "staging", None, prefix, ["partnercrmd-carddav"])
    assert inputs.name == "partnercrmd"
    assert inputs.distributions == ["partnercrmd", "partnercrmd-carddav"]
    assert inputs.packages == ["partnercrmd", "partnercrmd_carddav"]
    assert inputs.binaries == [(str(prefix / "bin" / "tesseract"), "tesseract")]
    assert {"pynput.keyboard._darwin", "keyring.backends.macOS"} <= set(inputs.hiddenimports)


def test_a_missing_addin_or_language_data_stops_the_build(build_inputs: ModuleType, tmp_path: Path) -> None:
    with pytest.raises(LookupError, match="partnercrmd-nosuch"):
        build_inputs.collect("win32", tmp_path / "staging", None, None, ["partnercrmd-nosuch"])
    tesseract = windows_tesseract(tmp_path / "Tesseract-OCR")
    (tesseract / "tessdata" / "eng.traineddata").unlink()
    with pytest.raises(FileNotFoundError, match=r"eng\.traineddata"):
        build_inputs.collect("win32", tmp_path / "staging", None, tesseract)


def test_the_spec_is_python_and_uses_the_inputs() -> None:
    text = (RECIPE / "partnercrmd.spec").read_text(encoding="utf-8")
    compile(text, "partnercrmd.spec", "exec")
    assert "build_inputs.collect(" in text and 'module_collection_mode={package: "py"' in text


def test_executable_names_are_safe_for_every_file_system(build_inputs: ModuleType) -> None:
    assert build_inputs.executable_name("Acme Connect") == "Acme Connect"
    assert build_inputs.executable_name('Acme: "Connect"/2') == "Acme Connect2"
    assert build_inputs.executable_name("***") == "partnercrmd"


def test_a_frozen_windows_build_starts_its_windowed_executable_at_sign_in_and_for_links(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pretend_to_be(monkeypatch, "win32")
    console, windowed = tmp_path / "Acme Connect.exe", tmp_path / "Acme Connectw.exe"
    console.write_bytes(b"MZ")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(console))
    assert frozen_executable(windowed=True) == console  # no windowed one built: the console one
    windowed.write_bytes(b"MZ")
    assert frozen_executable(windowed=True) == windowed
    assert frozen_executable() == console
    assert installed_command() == windowed
    assert url_handlers.windows_dial_command() == [str(windowed)]
