"""The issued .docx converted to PDF by LibreOffice (headless) and to PNG by pdftoppm, as offices print it."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from reports.notices import content as notice
from tests.reports import test_notice
from tests.reports.test_notice import WEEK2

world = test_notice.world  # the same fixture
SCREENSHOTS = Path(os.environ.get("SCREENSHOT_DIR", Path(__file__).resolve().parents[2] / "test-artifacts"))


def _tool(name, package):
    path = shutil.which(name)
    if path is None:
        message = f"{name} not found: apt-get install {package}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def test_docx_converts_to_a_pdf_with_its_title_serial_and_townships(world, tmp_path):
    soffice = _tool("soffice", "libreoffice-writer-nogui")
    pdftoppm = _tool("pdftoppm", "poppler-utils")
    pdftotext = _tool("pdftotext", "poppler-utils")
    issued = notice.notice_issue(campaign=world.campaign, as_of=WEEK2, user=world.admin)
    source = tmp_path / "notice.docx"
    source.write_bytes(issued.docx.open("rb").read())
    profile = (tmp_path / "lo-profile").as_uri()  # a private profile: parallel runs do not share a lock
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation={profile}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    pdf = tmp_path / "notice.pdf"
    assert pdf.exists()
    text = subprocess.run([pdftotext, "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    squashed = "".join(text.split())
    assert "“四无”整治一周一通报" in squashed
    assert "第1期" in squashed
    assert "东城街道" in squashed and "南湖镇" in squashed
    assert "草稿" not in squashed
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    prefix = SCREENSHOTS / "notice-docx"
    subprocess.run([pdftoppm, "-r", "80", "-png", str(pdf), str(prefix)], check=True, capture_output=True)
    pages = sorted(SCREENSHOTS.glob("notice-docx-*.png"))
    assert pages, "pdftoppm wrote no page"
    # Tables fit the page: pdftotext sees every column of the township table on one line.
    assert any("东城街道" in line and "绿" in line for line in text.splitlines())
