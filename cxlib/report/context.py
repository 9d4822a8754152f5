"""What a notebook opens first: validated params, the run's data store and the period."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cxlib import paths
from cxlib.data import engine, periods
from cxlib.data.io import Store, load_store, open_store
from cxlib.data.params import Params, load_params


@dataclass
class RunContext:
    """Everything one notebook run needs, built once from the parameters cell."""

    params: Params
    store: Store
    period: periods.Period
    previous: periods.Period
    output_dir: Path | None

    @property
    def labels(self) -> list[str]:
        """The reporting period and the previous one, oldest first."""
        return [self.previous.label, self.period.label]


def open_run(params_file: str | Path, period: str | None = None, output_dir: str | Path | None = None,
             db_path: str | Path | None = None) -> RunContext:
    """Open a run from a notebook's parameters.

    Under the runner ``db_path`` names the DuckDB database it already loaded and validated;
    in JupyterLab (no ``db_path``) the inputs are loaded and validated here, in memory.
    ``period`` None means the latest complete quarter, compared with the quarter before.
    """
    params = load_params(params_file)
    if db_path and Path(db_path).exists():
        store = open_store(params, db_path)
    else:
        store = load_store(params)
    current, previous = engine.resolve_period(store, period or params.period)
    if not store.has("customer_view"):
        engine.build_customer_view(store, current.end)
    out = Path(output_dir) if output_dir else None
    if out is not None:
        (out / "tables").mkdir(parents=True, exist_ok=True)
    return RunContext(params, store, current, previous, out)


def pseudonym_salt(client: str) -> str:
    """The secret that turns customer ids into stable pseudonyms (HMAC) in stakeholder outputs.

    ``CXLIB_PSEUDONYM_SALT`` if set; otherwise a random salt made once per client and kept in
    ``reports/<client>/analyst/.salt`` (never in a report or the manifest), so a customer
    keeps the same reference from run to run.
    """
    if os.environ.get("CXLIB_PSEUDONYM_SALT"):
        return os.environ["CXLIB_PSEUDONYM_SALT"]
    path = paths.REPORTS_DIR / paths.check_client_name(client) / "analyst" / ".salt"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
