"""Finding and loading the library from a fresh interpreter."""

import os
import subprocess
import sys

from conftest import subprocess_env


def test_plain_import_uses_private_jemalloc():
    # No GLIBC_TUNABLES / LD_PRELOAD: the library must dlopen on its own (its
    # jemalloc is built without initial-exec TLS).
    out = subprocess.run(
        [sys.executable, "-c", "import blockcache; print(blockcache.allocator())"],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("jemalloc"), out.stdout


def test_missing_library_gives_import_error_listing_places(tmp_path):
    missing = str(tmp_path / "nope" / "libblockcache.so")
    out = subprocess.run(
        [sys.executable, "-c", "import blockcache"],
        env=subprocess_env(BLOCKCACHE_LIBRARY=missing),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode != 0
    assert "ImportError" in out.stderr
    assert missing in out.stderr and "BLOCKCACHE_LIBRARY" in out.stderr


def test_library_path_is_reported():
    import blockcache

    assert os.path.exists(blockcache.library_path)
