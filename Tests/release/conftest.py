"""The release checks run the binary at $SAMSA_RELEASE_BIN with the interop suite's helpers."""
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "interop"))

release_binary = os.environ.get("SAMSA_RELEASE_BIN", "")
if not os.access(release_binary, os.X_OK):
    raise RuntimeError(f"no release binary at {release_binary!r}: run scripts/release-check.sh, which builds it")
os.environ["SAMSA_BIN"] = release_binary
