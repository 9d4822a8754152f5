"""Command line: ``python -m cxlib report --client demo [--period 2026Q3] [--renderer auto]``.

Exit codes: 0 success (every planned part of the report was produced); 2 bad params, data or
period; 3 a notebook failed outside its guarded sections; 4 rendering failed; 5 the report was
published, but some parts could not be produced from the data (each shows a boxed note, the log
has the details); 6 the release gate found personal data or customer ids in a stakeholder file
(nothing was published); 1 anything unexpected.
"""

from __future__ import annotations

import argparse
import sys

from cxlib.exceptions import (
    DataValidationError,
    NotebookError,
    ParameterError,
    PeriodError,
    ReleaseGateError,
    RenderError,
    ReportError,
)

EXIT_CODES = {ParameterError: 2, DataValidationError: 2, PeriodError: 2, NotebookError: 3, RenderError: 4,
              ReleaseGateError: 6}
EXIT_PARTIAL = 5


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m cxlib", description="CX analytics report template")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("report", help="render one client's report")
    r.add_argument("--client", required=True, help="params/<client>.yml")
    r.add_argument("--period", default=None,
                   help="2026Q3, 2026-07, 2026, 2026-01-01..2026-03-31 or all (default: latest complete)")
    r.add_argument("--renderer", choices=["auto", "quarto", "offline"], default="auto")
    a = sub.add_parser("reports", help="render every client in params/ and reports/index.html")
    a.add_argument("--period", default=None)
    a.add_argument("--renderer", choices=["auto", "quarto", "offline"], default="auto")
    for name in ("check", "validate"):
        v = sub.add_parser(name, help="check a client's params and every input file; print every problem")
        v.add_argument("--client", required=True)
        v.add_argument("--period", default=None)
    n = sub.add_parser("new-client", help="draft params/<client>.yml from the files in data/<client>/")
    n.add_argument("--client", required=True)
    n.add_argument("--force", action="store_true", help="overwrite an existing params file")
    d = sub.add_parser("demo-data", help="generate the seeded demo data (and the example clients' exports)")
    d.add_argument("--seed", type=int, default=None)
    d.add_argument("--scale", type=float, default=None,
                   help="write only the big synthetic client to data/scale instead (1 = 1M customers, "
                        "~21M web events; 0.05 for a twentieth)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    code = _main(args)
    if args.command == "report":
        _keep_exit_code(args.client, code)
    return code


def _keep_exit_code(client: str, code: int) -> None:
    """``reports/<client>/last-exit-code``: what the last run of this client ended with (for schedulers
    that only see make's own exit status)."""
    from cxlib import paths

    try:
        folder = paths.REPORTS_DIR / paths.check_client_name(client)
    except ReportError:
        return
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "last-exit-code").write_text(f"{code}\n")


def _main(args) -> int:
    try:
        if args.command == "report":
            import gc

            from cxlib.report.runner import run_report

            gc.freeze()  # the imported modules stay out of every collection this run triggers
            result = run_report(args.client, args.period, args.renderer)
            print(f"report: {result.output_dir / 'report.html'}\n        {result.output_dir / 'report.pdf'}")
            if result.failed:
                names = ", ".join(f["analysis"] for f in result.failed)
                print(f"published with {len(result.failed)} part(s) that could not be produced: {names} "
                      "(boxed notes in the report; details in the analyst run.log)", file=sys.stderr)
                return EXIT_PARTIAL
        elif args.command == "reports":
            from cxlib.report.runner import run_all

            results = run_all(args.period, args.renderer)
            for client, status in results.items():
                print(f"{client}: {status}")
            codes = [int(s.split(":", 1)[0].split()[-1]) if s.startswith("exit") else 0 for s in results.values()]
            return max(codes, default=0)
        elif args.command in ("check", "validate"):
            from cxlib.report.onboard import check_client

            ok, text = check_client(args.client, args.period)
            print(text)
            return 0 if ok else 2
        elif args.command == "new-client":
            from cxlib.data.draft import draft_params

            path, text = draft_params(args.client, force=args.force)
            print(text)
            print(f"\ndraft written to {path}: confirm every line marked 'guess', then run "
                  f"`make check CLIENT={args.client}`")
        elif args.command == "demo-data" and args.scale is not None:
            from cxlib.demo import scale

            scale.main(["--scale", str(args.scale), *(["--seed", str(args.seed)] if args.seed is not None else [])])
        elif args.command == "demo-data":
            from cxlib.demo import examples

            for line in examples.generate_all(args.seed):
                print(line)
    except ReportError as e:
        print(f"error: {e}", file=sys.stderr)
        return next((code for cls, code in EXIT_CODES.items() if isinstance(e, cls)), 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
