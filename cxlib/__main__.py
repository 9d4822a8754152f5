"""Command line: ``python -m cxlib report --client demo [--period 2026Q3] [--renderer auto]``.

Exit codes: 0 success; 2 bad params, data or period; 3 a notebook failed; 4 rendering failed;
1 anything unexpected.
"""

from __future__ import annotations

import argparse
import sys

from cxlib.exceptions import (
    DataValidationError,
    NotebookError,
    ParameterError,
    PeriodError,
    RenderError,
    ReportError,
)

EXIT_CODES = {ParameterError: 2, DataValidationError: 2, PeriodError: 2, NotebookError: 3, RenderError: 4}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m cxlib", description="CX analytics report template")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("report", help="render one client's report")
    r.add_argument("--client", required=True, help="params/<client>.yml")
    r.add_argument("--period", default=None, help="quarter such as 2026Q3 (default: latest complete)")
    r.add_argument("--renderer", choices=["auto", "quarto", "offline"], default="auto")
    a = sub.add_parser("reports", help="render every client in params/ and reports/index.html")
    a.add_argument("--period", default=None)
    a.add_argument("--renderer", choices=["auto", "quarto", "offline"], default="auto")
    v = sub.add_parser("validate", help="validate a client's params and input files only")
    v.add_argument("--client", required=True)
    d = sub.add_parser("demo-data", help="generate the seeded demo data into data/demo")
    d.add_argument("--seed", type=int, default=None)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "report":
            from cxlib.report.runner import run_report

            result = run_report(args.client, args.period, args.renderer)
            print(f"report: {result.output_dir / 'report.html'}\n        {result.output_dir / 'report.pdf'}")
        elif args.command == "reports":
            from cxlib.report.runner import run_all

            results = run_all(args.period, args.renderer)
            for client, status in results.items():
                print(f"{client}: {status}")
            return 0 if all(s.startswith("ok") for s in results.values()) else 3
        elif args.command == "validate":
            from cxlib.data.io import load_store
            from cxlib.data.params import load_params

            store = load_store(load_params(args.client))
            print("\n".join(f"{i.table}: {i.rows:,} rows valid ({i.path})" for i in store.inputs))
        elif args.command == "demo-data":
            from cxlib import demo, paths
            from cxlib.data.params import load_params

            seed = args.seed if args.seed is not None else load_params("demo", check_files=False).seed
            demo.generate(paths.DATA_DIR / "demo", seed=seed)
            print(f"demo data written to {paths.DATA_DIR / 'demo'} (seed {seed})")
    except ReportError as e:
        print(f"error: {e}", file=sys.stderr)
        return next((code for cls, code in EXIT_CODES.items() if isinstance(e, cls)), 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
