"""What a frozen partnercrmd build holds: the core, the add-ins, the partner's branding and tesseract.

`partnercrmd.spec` (PyInstaller, run on the target Windows or macOS machine) reads this; the
project's tests run it on Linux against the installed add-ins, so what the recipe would pack is
checked here even though the build itself runs elsewhere. Standard library only: it must import
without PyInstaller and without partnercrmd.

The core and every add-in package are collected as plain source folders (PyInstaller's
module_collection_mode "py"), so their templates, SQL, YAML and JSON files sit beside the modules
and `importlib.resources` and jinja2's PackageLoader find them as in a normal install; their
dist-info is copied so the `partnercrmd.addins` entry points are found.
"""

from __future__ import annotations

import importlib.util
import re
import tomllib
from dataclasses import dataclass, field
from importlib.metadata import Distribution, distributions
from pathlib import Path

ADDIN_GROUP = "partnercrmd.addins"
SKIPPED_DIRS = {"__pycache__", "tests"}
SKIPPED_SUFFIXES = {".pyc", ".pyo"}
PLATFORM_IMPORTS = {
    # pynput and keyring choose their backend at run time, by platform: PyInstaller cannot see the import
    "win32": ["pynput.keyboard._win32", "pynput.mouse._win32", "keyring.backends.Windows"],
    "darwin": ["pynput.keyboard._darwin", "pynput.mouse._darwin", "keyring.backends.macOS"],
    "linux": ["pynput.keyboard._xorg", "pynput.mouse._xorg", "keyring.backends.SecretService"],
}
ALWAYS_IMPORTS = ["pyperclip", "mss", "pytesseract", "PIL.Image"]


@dataclass
class BuildInputs:
    name: str
    """The executable's and the bundle's name: the product name of the branding file, or partnercrmd."""
    packages: list[str] = field(default_factory=list)
    """Top-level packages collected as source folders (module_collection_mode "py")."""
    distributions: list[str] = field(default_factory=list)
    """Distributions whose metadata (entry points) the build copies."""
    datas: list[tuple[str, str]] = field(default_factory=list)
    """(file, folder inside the build) of everything that is not a package's own file."""
    binaries: list[tuple[str, str]] = field(default_factory=list)
    hiddenimports: list[str] = field(default_factory=list)


def executable_name(product: str) -> str:
    """A file-system-safe executable name for the product name (letters, digits, spaces, dot, dash)."""
    cleaned = re.sub(r"[^A-Za-z0-9 ._-]+", "", product).strip(" .")
    return cleaned or "partnercrmd"


def addin_distributions() -> list[Distribution]:
    """partnercrmd and every installed distribution that provides a partnercrmd add-in, by name."""
    found = {}
    for dist in distributions():
        name = dist.metadata["Name"]
        if name and (name == "partnercrmd" or any(ep.group == ADDIN_GROUP for ep in dist.entry_points)):
            found[name.lower()] = dist
    return [found[name] for name in sorted(found)]


def top_level_packages(dist: Distribution) -> list[str]:
    """The import packages a distribution provides, from its entry points (works for editable installs too)."""
    roots = {ep.value.split(":")[0].split(".")[0] for ep in dist.entry_points if ep.group == ADDIN_GROUP}
    if dist.metadata["Name"] == "partnercrmd":
        roots.add("partnercrmd")
    return sorted(roots)


def package_folder(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise LookupError(f"{package} is not an installed package")
    return Path(next(iter(spec.submodule_search_locations)))


def package_files(package: str) -> list[Path]:
    """Every file of an installed package except caches and tests (what the build must carry)."""
    root = package_folder(package)
    return sorted(
        path
        for path in root.rglob("*")
        if path.is_file()
        and path.suffix not in SKIPPED_SUFFIXES
        and not SKIPPED_DIRS.intersection(path.relative_to(root).parts[:-1])
    )


def package_datas(package: str) -> list[tuple[str, str]]:
    """(file, folder) of a package's files that are not modules: templates, SQL, YAML, JSON, static files."""
    root = package_folder(package)
    return [
        (str(path), str(Path(package, *path.relative_to(root).parts[:-1]).as_posix()))
        for path in package_files(package)
        if path.suffix != ".py"
    ]


def branding_datas(branding_file: Path, staging: Path) -> tuple[str, list[tuple[str, str]]]:
    """The product name and the files that go into the partnercrmd package: branding.toml and what it names.

    The file is copied to `staging/branding.toml` first: the daemon looks for exactly that name.
    """
    text = branding_file.read_text(encoding="utf-8")
    data = tomllib.loads(text)
    product = data.get("product", {})
    staging.mkdir(parents=True, exist_ok=True)
    (staging / "branding.toml").write_text(text, encoding="utf-8")
    files = [(str(staging / "branding.toml"), "partnercrmd")]
    for relative in (product.get("logo"), data.get("licensing", {}).get("licence_file")):
        if relative and (branding_file.parent / relative).is_file():
            files.append((str(branding_file.parent / relative), "partnercrmd"))
    return str(product.get("name") or "partnercrmd"), files


def tesseract_inputs(folder: Path, platform: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(binaries, datas) of a tesseract installation, placed in `tesseract/` beside the executable.

    Windows: the UB Mannheim folder (tesseract.exe and its DLLs). macOS: the tesseract program
    (PyInstaller collects the dylibs it links). Both: tessdata/ (at least eng.traineddata).
    """
    program = folder / ("tesseract.exe" if platform == "win32" else "tesseract")
    if not program.is_file():
        program = folder / "bin" / program.name  # a Homebrew prefix
    if not program.is_file():
        raise FileNotFoundError(f"no tesseract program in {folder}")
    binaries = [(str(program), "tesseract")]
    if platform == "win32":
        binaries += [(str(dll), "tesseract") for dll in sorted(program.parent.glob("*.dll"))]
    tessdata = next((p for p in (folder / "tessdata", folder / "share" / "tessdata") if p.is_dir()), None)
    if tessdata is None or not (tessdata / "eng.traineddata").is_file():
        raise FileNotFoundError(f"no tessdata/eng.traineddata in {folder}")
    datas = [(str(path), "tesseract/tessdata") for path in sorted(tessdata.glob("*.traineddata"))]
    return binaries, datas


def collect(
    platform: str,
    staging: Path,
    branding_file: Path | None = None,
    tesseract_folder: Path | None = None,
    addins: list[str] | None = None,
) -> BuildInputs:
    """Everything the spec passes to PyInstaller for `platform` ("win32", "darwin" or "linux").

    `staging`: a scratch folder of the build. `addins`: the add-in distributions to ship (names as pip
    knows them); None ships every installed one.
    """
    name, datas = branding_datas(branding_file, staging) if branding_file else ("partnercrmd", [])
    inputs = BuildInputs(executable_name(name), datas=datas)
    wanted = {a.lower() for a in addins} if addins is not None else None
    for dist in addin_distributions():
        dist_name = dist.metadata["Name"]
        if wanted is not None and dist_name.lower() not in wanted and dist_name != "partnercrmd":
            continue
        inputs.distributions.append(dist_name)
        for package in top_level_packages(dist):
            inputs.packages.append(package)
            inputs.datas += package_datas(package)
    if wanted is not None:
        missing = wanted - {d.lower() for d in inputs.distributions}
        if missing:
            raise LookupError(f"add-ins not installed: {', '.join(sorted(missing))}")
    inputs.hiddenimports = [*ALWAYS_IMPORTS, *PLATFORM_IMPORTS[platform]]
    if tesseract_folder is not None:
        binaries, tessdata = tesseract_inputs(tesseract_folder, platform)
        inputs.binaries += binaries
        inputs.datas += tessdata
    return inputs
