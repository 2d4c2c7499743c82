"""What the HTTP benchmarks share: `wrk`, the load generator, installed from the Debian package when it is
missing (`apt-get install -y wrk`, after `apt-get update` when the package lists are not there yet)."""

from __future__ import annotations

import os
import shutil
import subprocess


def ensure_wrk() -> str:
    """The path of `wrk`, installed first if it is not on PATH."""
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk not found: apt-get install -y wrk", flush=True)
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    install = [*sudo, "apt-get", "install", "-y", "wrk"]
    quiet = {"stdout": subprocess.DEVNULL, "env": {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}}
    if subprocess.run(install, check=False, **quiet).returncode != 0:  # no package lists yet
        subprocess.run([*sudo, "apt-get", "update"], check=True, **quiet)
        subprocess.run(install, check=True, **quiet)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is still missing after apt-get install -y wrk")
    return found
