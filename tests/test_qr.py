"""The flyer QR code decodes back to mailto: the signup address (zbarimg, the real decoder)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mailgate import qr
from mailgate.cli import app
from tests.conftest import starts_a_server


def run_qr(cfg: Path, *args: str) -> str:
    done = CliRunner().invoke(app, ["--config", str(cfg), "qr", *args])
    assert done.exit_code == 0, (done.stderr, done.exception)
    return done.stdout


def zbar(path: Path) -> str:
    assert shutil.which("zbarimg"), "zbarimg is missing: scripts/test installs zbar-tools as root"
    done = subprocess.run(["zbarimg", "--raw", "-q", str(path)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_png_decodes_to_mailto_the_signup_address(cfg_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "signup.png"
    run_qr(cfg_path, "--out", str(out))
    assert zbar(out) == "mailto:signup@shop.example"


def test_a_subject_is_carried_percent_encoded(cfg_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "signup.png"
    run_qr(cfg_path, "--out", str(out), "--subject", "登録")
    assert zbar(out) == "mailto:signup@shop.example?subject=%E7%99%BB%E9%8C%B2"


@pytest.mark.e2e
def test_svg_is_a_scalable_qr_of_the_same_data(cfg_path: Path, tmp_path: Path) -> None:
    svg, png = tmp_path / "signup.svg", tmp_path / "from-svg.png"
    run_qr(cfg_path, "--out", str(svg))
    assert svg.read_text().lstrip().startswith("<?xml") and "<svg" in svg.read_text()
    # Rasterise the SVG exactly as a browser would and decode that.
    from playwright.sync_api import sync_playwright

    starts_a_server("Chromium")

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 600, "height": 600})
        page.set_content(
            f'<body style="margin:20px;background:#fff"><img src="data:image/svg+xml;base64,'
            f'{__import__("base64").b64encode(svg.read_bytes()).decode()}" width="500"></body>'
        )
        page.screenshot(path=str(png))
        browser.close()
    assert zbar(png) == "mailto:signup@shop.example"


def test_without_out_it_prints_a_terminal_code(cfg_path: Path) -> None:
    printed = run_qr(cfg_path)
    assert "██" in printed and len(printed.splitlines()) > 20


def test_mailto_keeps_a_plain_address_plain() -> None:
    assert qr.mailto("signup@shop.example") == "mailto:signup@shop.example"


@pytest.mark.parametrize("name", ["signup.jpg", "signup.JPEG"])
def test_a_jpeg_name_gets_a_jpeg_that_decodes(cfg_path: Path, tmp_path: Path, name: str) -> None:
    out = tmp_path / name
    run_qr(cfg_path, "--out", str(out))
    assert out.read_bytes()[:3] == b"\xff\xd8\xff"  # what the name promises, not PNG bytes
    assert zbar(out) == "mailto:signup@shop.example"


def test_a_png_name_gets_png_bytes(cfg_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "signup.png"
    run_qr(cfg_path, "--out", str(out))
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("name", ["signup.gif", "signup.pdf", "signup"])
def test_a_format_it_cannot_write_is_refused_and_nothing_written(
    cfg_path: Path, tmp_path: Path, name: str
) -> None:
    out = tmp_path / name
    done = CliRunner().invoke(app, ["--config", str(cfg_path), "qr", "--out", str(out)])
    assert done.exit_code == 2
    assert "expected a file name ending in .png, .svg or .jpg" in done.stderr
    assert not out.exists()
