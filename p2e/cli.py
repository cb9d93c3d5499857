"""The command line: each verb is a thin call into the package (tests call the same functions).

    python processor.py check                is this Alma, this key, this configuration ready? (run it first)
    python processor.py demo                 the whole job on the embedded Alma sandbox, no key needed
    python processor.py run FILE [--preview] process one workbook now, exactly as the watcher would
    python processor.py suggest FILE [--collection ID|NAME]
                                             fill in the actions for staff to review (reads only)
    python processor.py validate FILE        check a workbook without calling Alma
    python processor.py template             write the blank staff template into templates/
    python processor.py sandbox              serve the embedded Alma sandbox until stopped
    python processor.py watch [--once]       poll the inbox folder
    python processor.py restore RESULTS.xlsx re-create what a run deleted

A consortium (an institutions/ folder beside config.env, one institutions/CODE/config.env each):
``watch`` and ``check`` serve every institution; ``--institution CODE`` picks one (run, check,
validate, restore, suggest and watch take it).

Exit codes: 0 processed with no failed row; 1 processed with failed or not-run rows, or the
file waits because Alma could not be reached or refused the API key (run it again later);
2 file rejected or configuration invalid. ``check``: 0 when a run would work, 1 when any check
shows a PROBLEM, 2 when the configuration cannot be read.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from .config import ConfigError, Settings, load_settings
from .institutions import Registry, load_registry
from .intake import LibraryProblem, check_libraries
from .pipeline import EXIT_OK, EXIT_REJECTED, check_file, process_file

PROJECT = Path(__file__).resolve().parent.parent
INSTITUTION_VERBS = ("check", "run", "validate", "watch", "restore", "suggest")  # take --institution CODE


def config_path(config: str | None) -> Path | None:
    """``--config PATH``, else ``config.env`` beside processor.py when present, else None (the environment)."""
    if config:
        return Path(config)
    default = PROJECT / "config.env"
    return default if default.is_file() else None


def registry_from(config: str | None) -> Registry | None:
    """The consortium (an ``institutions/`` folder or INSTITUTIONS_DIR), or None for a single library."""
    path = config_path(config)
    return load_registry(path, base_dir=None if path else PROJECT)


def settings_from(config: str | None, institution: str | None = None) -> Settings:
    """The settings to use: the single library's, or (consortium) those of ``--institution CODE``."""
    registry = registry_from(config)
    if registry is None:
        if institution:
            raise ConfigError(f"--institution {institution} was given, but there is no institutions folder (see "
                              "docs/operations.md, \"A consortium\"); leave it out for a single library.")
        path = config_path(config)
        return load_settings(path) if path else load_settings(None, base_dir=PROJECT)
    if not institution:
        raise ConfigError(f"This is a consortium ({registry.folder} holds {', '.join(registry.codes)}): say which "
                          "institution with --institution CODE.")
    return registry.pick(institution).settings


def config_checked(config: str | None) -> None:
    """Stop on a configuration error, whether a single library or a consortium (for verbs that need no Alma)."""
    if registry_from(config) is None:
        settings_from(config)


def cmd_check(args) -> int:
    registry = registry_from(args.config)
    if registry is not None and not args.institution:  # a consortium: every institution in turn
        codes = [check_one(inst.settings, args, heading=f"Institution {inst.code}") for inst in registry]
        return max(codes)
    return check_one(settings_from(args.config, args.institution), args)


def check_one(settings: Settings, args, heading: str = "") -> int:
    from .check import all_ok, format_table, run_checks

    if heading:
        print(f"\n{heading} ({settings.source})")
    checks = run_checks(settings, preview_only=args.preview_only, send_test_mail=args.send_test_mail)
    print(format_table(checks))
    if all_ok(checks):
        print("Ready: a run would work." if not args.preview_only else "Ready for preview runs (reads only).")
        return EXIT_OK
    print(f"Not ready: {sum(not c.ok for c in checks)} problem(s) to fix (see TO DO).")
    return 1


def cmd_run(args) -> int:
    settings = settings_from(args.config, args.institution)
    path = Path(args.file)
    if not path.is_file():
        print(f"There is no file at {path}.", file=sys.stderr)
        return EXIT_REJECTED
    if not args.preview:
        settings.require_alma()
    outcome = process_file(path, settings, preview=True if args.preview else None)
    return _told(outcome, settings)


def cmd_suggest(args) -> int:
    from .pipeline import suggest_file

    settings = settings_from(args.config, args.institution)
    path = Path(args.file)
    if not path.is_file():
        print(f"There is no file at {path}.", file=sys.stderr)
        return EXIT_REJECTED
    outcome = suggest_file(path, settings, collections=args.collection or None)
    return _told(outcome, settings)


def _told(outcome, settings: Settings) -> int:
    """Print a file's outcome and, when mail is set up, send it now (what cannot be sent waits in the
    mail queue); the exit code."""
    print(outcome.summary())
    if settings.smtp_host and outcome.email_to:
        from .logs import setup_logging
        from .notify import Delivery

        setup_logging(settings, console_level=logging.WARNING)
        Delivery(settings).tell(outcome)
    return outcome.exit_code


def cmd_validate(args) -> int:
    settings = settings_from(args.config, args.institution)
    path = Path(args.file)
    sheet, problems = check_file(path, settings, preview=True)  # every rule, even with Mode = Suggest
    if sheet is not None and not problems and not any(row.action_text for row in sheet.rows):
        print(f"{path.name}: no Action is filled in on sheet '{sheet.sheet_name}' ({len(sheet.rows)} rows), so it is a "
              "request for suggestions: run `processor.py suggest FILE`, or put it in the inbox folder, and the "
              "actions come back filled in for you to check. Nothing was sent to Alma.")
        return EXIT_OK
    if problems:
        print(f"{path.name}: {len(problems)} problem(s) to fix before this file can run:")
        for problem in problems:
            print(f"  - {problem}")
        return EXIT_REJECTED
    counts: dict[str, int] = {}
    for row in sheet.rows:
        counts[row.action.value] = counts.get(row.action.value, 0) + 1
    detail = ", ".join(f"{n} {a}" for a, n in counts.items())
    print(f"{path.name}: no problems found in sheet '{sheet.sheet_name}': {len(sheet.rows)} rows ({detail}). "
          "Nothing was sent to Alma.")
    return EXIT_OK


def cmd_template(args) -> int:
    from .template import write_template

    config_checked(args.config)
    target = Path(args.output) if args.output else PROJECT / "templates" / "P2E-cleanup-template.xlsx"
    write_template(target)
    print(f"Wrote the staff template: {target}")
    return EXIT_OK


def cmd_sandbox(args) -> int:
    from .sandbox import serve_from_cli

    config_checked(args.config)
    workbook_out = Path(args.workbook) if args.workbook else PROJECT / "inbox" / "sandbox-generated.xlsx"
    serve_from_cli(port=args.port, seed_path=args.seed, generate=args.generate, latency_ms=args.latency,
                   rate_limit=args.rate_limit, workbook_out=workbook_out if args.generate else None)
    return EXIT_OK


def cmd_demo(args) -> int:
    from .demo import run_demo

    settings = settings_from(args.config) if args.config else None
    return run_demo(PROJECT, settings=settings, rows=args.rows)


def cmd_watch(args) -> int:
    from .logs import setup_logging
    from .watch import watch

    registry = registry_from(args.config)
    if registry is not None and not args.institution:  # one process serves every institution
        from .institutions import setup_consortium_logging
        from .watch import watch_consortium

        log_file = setup_consortium_logging(registry)
        logging.getLogger("p2e.watch").info("Log file: %s (and each institution's STATE_DIR/logs/p2e.log)", log_file)
        stale = args.lock_stale or registry.institutions[0].settings.watch_lock_stale_minutes
        return watch_consortium(registry.institutions, once=args.once, lock_stale_after=stale * 60)
    settings = settings_from(args.config, args.institution)
    settings.require_alma()
    log_file = setup_logging(settings)
    logging.getLogger("p2e.watch").info("Log file: %s", log_file)
    return watch(settings, once=args.once, lock_stale_after=(args.lock_stale or settings.watch_lock_stale_minutes) * 60)


def cmd_restore(args) -> int:
    from .restore import restore

    settings = settings_from(args.config, args.institution)
    settings.require_alma()
    path = Path(args.results)
    if not path.is_file():
        print(f"There is no file at {path}.", file=sys.stderr)
        return EXIT_REJECTED
    try:
        return restore(path, settings)
    except (ValueError, OSError) as exc:  # not a results workbook, or not readable
        print(f"Cannot restore from {path.name}: {exc}", file=sys.stderr)
        return EXIT_REJECTED


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="processor.py", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="Settings come from config.env (see config.env.example) and the environment.")
    sub = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    def verb(name: str, handler, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--config", metavar="PATH", help="settings file (default: config.env beside processor.py)")
        if name in INSTITUTION_VERBS:
            p.add_argument("--institution", metavar="CODE", default=None,
                           help="consortium: the institution (its folder institutions/CODE/); watch and check: "
                                "default every institution")
        p.set_defaults(handler=handler)
        return p

    p = verb("check", cmd_check, "is this Alma, this key and this configuration ready? one line per check")
    p.add_argument("--preview-only", action="store_true", help="the key only needs to read (no write test)")
    p.add_argument("--send-test-mail", action="store_true", help="also send a test message to MAIL_TO")
    p = verb("demo", cmd_demo, "run the whole job on the embedded Alma sandbox (no Alma key needed)")
    p.add_argument("--rows", type=int, default=12, help="rows in the sample workbook (default 12)")
    p = verb("run", cmd_run, "process one workbook now, exactly as the watcher would; results to the outbox")
    p.add_argument("file")
    p.add_argument("--preview", action="store_true", help="reads only: say what would happen, change nothing")
    p = verb("suggest", cmd_suggest, "fill in the actions of a raw P2E report for you to check (reads only; "
                                     "the annotated workbook goes to the outbox)")
    p.add_argument("file")
    p.add_argument("--collection", action="append", metavar="ID|NAME",
                   help="a Community Zone e-collection to look in, by ID or public name (repeat for several)")
    p = verb("validate", cmd_validate, "check a workbook without calling Alma and print every problem")
    p.add_argument("file")
    p = verb("template", cmd_template, "write the blank staff template into templates/")
    p.add_argument("--output", help="where to write it (default templates/P2E-cleanup-template.xlsx)")
    p = verb("sandbox", cmd_sandbox, "serve the embedded Alma sandbox until stopped (Ctrl-C)")
    p.add_argument("--port", type=int, default=8990)
    p.add_argument("--seed", help="a JSON seed file to load")
    p.add_argument("--generate", type=int, metavar="N", help="generate an I-Share-like library of N rows")
    p.add_argument("--workbook", help="where to write the generated library's annotated P2E workbook")
    p.add_argument("--latency", type=float, default=0, metavar="MS", help="added latency per call, in ms")
    p.add_argument("--rate-limit", type=float, default=25, metavar="N", help="per-second threshold (default 25)")
    p = verb("watch", cmd_watch, "poll the inbox folder and process what arrives")
    p.add_argument("--once", action="store_true", help="process what is there now, then exit (for cron/Task Scheduler)")
    p.add_argument("--lock-stale", type=float, default=None, metavar="MINUTES",
                   help="take over another watcher's lock when its heartbeat is older than this (default: WATCH_LOCK_STALE_MINUTES, 10)")
    p = verb("restore", cmd_restore, "re-create what a run deleted, from its results workbook and backups")
    p.add_argument("results", help="the results workbook of the run to undo")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.verb in ("run", "validate", "watch", "demo", "suggest"):  # an incompatible library is caught before any file
            check_libraries()
        return args.handler(args)
    except ConfigError as exc:
        print(f"Configuration problem: {exc}", file=sys.stderr)
        return EXIT_REJECTED
    except LibraryProblem as exc:
        print(f"Cannot start: {exc}", file=sys.stderr)
        return EXIT_REJECTED
    except KeyboardInterrupt:
        print("Stopped.", file=sys.stderr)
        return 130
