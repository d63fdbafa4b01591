import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_image_requirements_match_the_lock():
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "requirements.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
