"""Test setup: import blockcache from this source tree and find the library the
way the package does (BLOCKCACHE_LIBRARY, else <repo>/build/lib/libblockcache.so).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # bindings/python
REPO_ROOT = PACKAGE_ROOT.parents[1]  # the repository
BUILD_LIBRARY = REPO_ROOT / "build" / "lib" / "libblockcache.so"

# The source tree's package, not an installed copy, is under test.
sys.path.insert(0, str(PACKAGE_ROOT))

# An installed or copied package would not find <repo>/build/lib by its relative
# path; point it there explicitly unless the caller chose a library.
if not os.environ.get("BLOCKCACHE_LIBRARY") and BUILD_LIBRARY.exists():
    os.environ["BLOCKCACHE_LIBRARY"] = str(BUILD_LIBRARY)


def subprocess_env(**extra: str) -> dict:
    """An environment for `python3 -c` child processes: the source tree on
    PYTHONPATH, no allocator tricks (GLIBC_TUNABLES, LD_PRELOAD)."""
    env = {k: v for k, v in os.environ.items() if k not in ("GLIBC_TUNABLES", "LD_PRELOAD")}
    env["PYTHONPATH"] = str(PACKAGE_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


@pytest.fixture
def store():
    import blockcache

    s = blockcache.Store()
    yield s
    s.close()
