"""Every path the template uses derives from one project root."""

from __future__ import annotations

import os
import re
from pathlib import Path

from cxlib.exceptions import ParameterError

#: The project root: CXLIB_ROOT if set, else the folder that holds cxlib/.
ROOT = Path(os.environ.get("CXLIB_ROOT", Path(__file__).resolve().parent.parent)).resolve()
PARAMS_DIR = ROOT / "params"
DATA_DIR = ROOT / "data"
REPORTS_DIR = ROOT / "reports"
NOTEBOOKS_DIR = ROOT / "notebooks"
#: files that ship with the package (report templates, strings, lexicons, the generic codebook)
ASSETS_DIR = Path(__file__).resolve().parent / "assets"

_CLIENT_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def check_client_name(client: str) -> str:
    """Return ``client`` if it is a safe folder name (lower-case letters, digits, - and _).

    A client name becomes a folder under data/ and reports/, so it must never be able to
    escape them (``../x``, absolute paths, dots).
    """
    if not isinstance(client, str) or not _CLIENT_RE.match(client):
        raise ParameterError(
            f"client name {client!r} is not allowed: use 1-64 lower-case letters, digits, "
            "'-' or '_' (it becomes a folder name under data/ and reports/)."
        )
    return client


def inside(base: Path, candidate: Path, what: str) -> Path:
    """Resolve ``candidate`` and refuse it unless it lies inside ``base``."""
    base = base.resolve()
    resolved = candidate.resolve()
    if resolved != base and base not in resolved.parents:
        raise ParameterError(f"{what} {candidate} lies outside {base}; keep it inside that folder.")
    return resolved
