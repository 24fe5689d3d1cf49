"""The built wheel installs with pip into a fresh venv and the README's run command serves the sample contacts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str | Path, timeout: float = 600) -> str:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout, check=False)
    assert result.returncode == 0, f"{args} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    return result.stdout


def post(port: int, route: str, fields: dict[str, str], headers: dict[str, str]) -> tuple[int, bytes]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/{route}",
        data="&".join(f"{k}={v}" for k, v in fields.items()).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded", **headers},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read()


def test_sdist_and_wheel_install_in_a_fresh_venv_and_serve_the_sample_book(tmp_path: Path) -> None:
    """The sdist holds what the wheel needs: the wheel is built from the sdist, not from the source tree."""
    run(sys.executable, "-m", "build", "--sdist", "--outdir", tmp_path / "sdist", ROOT)
    (sdist,) = (tmp_path / "sdist").glob("partnercrmd-*.tar.gz")
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp_path / "dist", sdist)
    (wheel,) = (tmp_path / "dist").glob("partnercrmd-*.whl")
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv)
    run(venv / "bin" / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check", wheel)
    home = tmp_path / "home"
    env = {**os.environ, "PARTNERCRMD_HOME": str(home), "PARTNERCRMD_KEYRING": "0"}
    env.pop("PYTHONPATH", None)
    daemon = subprocess.Popen(
        [venv / "bin" / "partnercrmd", "serve", "--port", "0", "--region", "GB"],
        env=env,
        cwd=tmp_path,  # not the source tree: only the installed package may be used
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not (home / "api.json").exists():
            assert daemon.poll() is None, "the installed daemon exited"
            assert time.monotonic() < deadline, "the installed daemon did not start"
            time.sleep(0.1)
        time.sleep(0.2)
        info = json.loads((home / "api.json").read_text())
        status, _ = post(
            info["port"], "Register", {"Name": "wheel", "Id": "wheel-1"}, {"Authorization": f"Bearer {info['token']}"}
        )
        assert status == 204
        status, body = post(info["port"], "Search", {"query": "02079460958"}, {"ApplicationId": "wheel-1"})
        assert status == 200
        assert [r["DisplayText"] for r in json.loads(body)[0]["Records"]] == ["Alice Hartley"]
        with urllib.request.urlopen(f"http://127.0.0.1:{info['port']}/static/style.css", timeout=10) as css:
            assert css.status == 200  # static files ship in the wheel
        extension = ROOT / "partnercrmd" / "static" / "extension" / "partnercrmd-firefox.zip"
        url = f"http://127.0.0.1:{info['port']}/extension/partnercrmd-firefox.zip"
        with urllib.request.urlopen(url, timeout=10) as package:
            assert package.read() == extension.read_bytes()  # so do the browser extension's packages
        explorer = ROOT / "partnercrmd" / "static" / "explorer" / "swagger-ui-bundle.js"
        url = f"http://127.0.0.1:{info['port']}/static/explorer/{explorer.name}"
        with urllib.request.urlopen(url, timeout=10) as bundle:
            assert bundle.read() == explorer.read_bytes()  # and the API explorer's Swagger UI

        # OCR is the `ocr` extra: the base install leaves it out and says what to install.
        assert subprocess.run([venv / "bin" / "python", "-c", "import PIL"], capture_output=True).returncode != 0
        try:
            post(info["port"], "ScreenRead", {"X": "10", "Y": "10"}, {"ApplicationId": "wheel-1"})
            raise AssertionError("ScreenRead answered without OCR installed")
        except urllib.error.HTTPError as exc:
            assert exc.code == 503
            assert "partnercrmd[ocr]" in json.loads(exc.read())["Message"]
            exc.close()
        image = tmp_path / "numbers.png"
        image.write_bytes(b"not read")
        ocr = subprocess.run(
            [venv / "bin" / "partnercrmd", "ocr", image], env=env, capture_output=True, text=True, timeout=60
        )
        assert ocr.returncode != 0 and "partnercrmd[ocr]" in ocr.stderr
    finally:
        daemon.terminate()
        daemon.wait(10)
