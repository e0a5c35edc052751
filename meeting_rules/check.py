"""``meeting-rules check FILE``: recorded exchanges, HAR 1.2 or JSON Lines, judged by the oracle.

The recording is read one entry at a time (``meeting_rules.recordings``). Each exchange whose
request ``Oracle.skip_reason`` declines is skipped; the others are judged by ``Oracle.check``, with
the entry's place in the file as its number. The report lists every violation, unreadable and
skipped entry as it comes, then a summary with the rate; ``--json`` writes one JSON object
instead. Exit 0: no violation; 1: violations; 2: the file (or the callers file) cannot be read at
all, or the report cannot be written. rich draws the report, and a progress bar on stderr when
stderr is a terminal; rich and ijson are imported only when the command runs.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import re
import shutil
import stat
import tempfile
import time
import unicodedata
from collections import Counter
from contextlib import nullcontext
from typing import IO, TYPE_CHECKING, Any, BinaryIO, TextIO

if TYPE_CHECKING:
    from collections.abc import Sequence

    from rich.console import Console, RenderableType
    from rich.progress import Progress

    from .oracle import Oracle, Violation
    from .ports import TokenDirectory
    from .recordings import Recorded, Unreadable

__all__ = ["CannotCheck", "run"]

_FORMATS = {".har": "har", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_PROGRESS_BYTES = 1024 * 1024
"""A file smaller than this is checked before a progress bar would be seen: none is drawn."""
_PROGRESS_EVERY = 128
_SPOOL_BYTES = 1024 * 1024


class CannotCheck(Exception):
    """The check cannot run, or its report cannot be written: the one line on stderr, exit 2.

    ``output_failed``: the report's stream failed (the command silences it before exiting).
    """

    def __init__(self, message: str, *, output_failed: bool = False) -> None:
        super().__init__(message)
        self.output_failed = output_failed


def run(
    args: argparse.Namespace, out: TextIO, err: TextIO, *, stdin: BinaryIO | None = None
) -> int:
    """Check the recording ``args.file``; returns the exit code (0 or 1).

    Raises:
        CannotCheck: the file or the callers file cannot be read at all, or the report cannot be
            written (exit 2, the message on stderr).
    """
    shape = _format(args.file, args.format)
    directory = _directory(args.callers)
    file, size = _open(args.file, stdin)
    try:
        return _check(args, file, size, shape, directory, out, err)
    finally:
        if file is not stdin:
            file.close()


def _format(name: str, given: str | None) -> str:
    if given is not None:
        return given
    if name == "-":
        return "jsonl"
    found = _FORMATS.get(os.path.splitext(name)[1].lower())
    if found is None:
        raise CannotCheck(
            f"cannot tell the format of {_clean(name)} from its name: "
            "give --format har or --format jsonl"
        )
    return found


def _directory(name: str | None) -> TokenDirectory | None:
    """The callers file's directory, read as ``serve --callers`` reads it."""
    if name is None:
        return None
    from .callers import callers_from_json
    from .serve import CannotServe, read_json_file

    shown = _clean(name)
    try:
        value = read_json_file(name, "callers file")
    except CannotServe as error:
        raise CannotCheck(_clean(str(error))) from None
    try:
        return callers_from_json(value).directory
    except ValueError as error:
        raise CannotCheck(f"the callers file {shown}: {_clean(str(error))}") from None


def _open(name: str, stdin: BinaryIO | None) -> tuple[BinaryIO, int | None]:
    """The recording, and its size when it is a regular file."""
    if name == "-":
        if stdin is None:
            raise CannotCheck("cannot read -: standard input is closed")
        file = stdin
    else:
        try:
            file = open(name, "rb")  # noqa: SIM115 (closed by run)
        except OSError as error:
            raise CannotCheck(f"cannot read {_clean(name)}: {_reason(error)}") from None
    try:
        status = os.fstat(file.fileno())
    except (OSError, ValueError, AttributeError):
        return file, None
    return file, status.st_size if stat.S_ISREG(status.st_mode) else None


def _check(
    args: argparse.Namespace,
    file: BinaryIO,
    size: int | None,
    shape: str,
    directory: TokenDirectory | None,
    out: TextIO,
    err: TextIO,
) -> int:
    from .oracle import Oracle
    from .recordings import NotARecording, Recorded, read_har, read_jsonl

    oracle = Oracle(directory=directory, assume_empty_store=not args.existing_store)
    records = read_har(file) if shape == "har" else read_jsonl(file)
    report: _HumanReport | _JsonReport = _JsonReport(out) if args.json else _HumanReport(out)
    tally = _Tally()
    drawn = not args.json and _is_terminal(err) and (size is None or size >= _PROGRESS_BYTES)
    started = time.perf_counter()
    try:
        with _progress(err, size) if drawn else nullcontext() as progress:
            if progress is not None and isinstance(report, _HumanReport) and report.terminal:
                report.console = progress.console  # the same screen: print above the bar
            for record in records:
                tally.exchanges += 1
                if isinstance(record, Recorded):
                    _judge(oracle, record, report, tally)
                else:
                    tally.unreadable += 1
                    report.unreadable(record)
                    oracle.lost(record.request)  # what it did is unknown from then on
                if progress is not None and tally.exchanges % _PROGRESS_EVERY == 0:
                    _advance(progress, file, tally.exchanges)
        report.finish(tally, time.perf_counter() - started, _clean(args.file))
    except NotARecording as error:
        report.close()
        raise CannotCheck(f"cannot check {_clean(args.file)}: {_clean(str(error))}") from None
    except KeyboardInterrupt:
        report.close()
        raise CannotCheck(f"interrupted after {tally.exchanges} exchanges") from None
    except (
        OSError,
        ValueError,
    ) as error:  # the report's writes (the entries' own failures are caught where they are judged)
        report.close()
        raise CannotCheck(
            f"cannot write the report: {_reason(error)}", output_failed=True
        ) from None
    except Exception as error:  # a defect: still one line, never a traceback
        report.close()
        raise CannotCheck(
            f"failed after {tally.exchanges} exchanges: {type(error).__name__}: {_reason(error)}"
        ) from None
    return 1 if tally.violations else 0


class _Tally:
    def __init__(self) -> None:
        self.exchanges = self.judged = self.skipped = self.unreadable = self.violations = 0
        self.failing = 0  # exchanges with at least one violation
        self.rules: Counter[str] = Counter()


def _judge(
    oracle: Oracle, record: Recorded, report: _HumanReport | _JsonReport, tally: _Tally
) -> None:
    from .recordings import Unreadable

    try:
        reason = oracle.skip_reason(record.request)
        # a skipped exchange is checked too: Graph's update or delete of a meeting changes it
        found = oracle.check(record.request, record.response, exchange=record.index)
    except Exception as error:  # a defect of the oracle: this exchange is not judged, the rest is
        tally.unreadable += 1
        message = f"not judged, the oracle failed: {type(error).__name__}: {error}"
        report.unreadable(Unreadable(record.index, message))
        return
    if reason is not None:
        tally.skipped += 1
        report.skipped(record, reason)
        return
    tally.judged += 1
    if found:
        tally.failing += 1
        tally.violations += len(found)
        tally.rules.update(v.rule for v in found)
        report.judged(record, found)


def _progress(err: TextIO, size: int | None) -> Progress:
    from rich.progress import (
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )

    progress = Progress(
        TextColumn("checking"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[exchanges]:,} exchanges"),
        TimeRemainingColumn(),
        console=_console(file=err, force_terminal=True, highlight=False),
        transient=True,
        redirect_stdout=False,
        redirect_stderr=False,
    )
    progress.add_task("check", total=size, exchanges=0)
    return progress


def _advance(progress: Progress, file: BinaryIO, exchanges: int) -> None:
    try:
        position: int | None = file.tell()
    except (OSError, ValueError):
        position = None
    progress.update(progress.task_ids[0], completed=position, exchanges=exchanges)


# --- the reports ----------------------------------------------------------------------------------


class _HumanReport:
    """Lines as the findings come, then the summary: rich tables on a terminal, plain lines
    (no colour, no wrapping) elsewhere."""

    def __init__(self, out: TextIO) -> None:
        terminal = _is_terminal(out)
        self.console: Console = _console(
            file=out,
            force_terminal=terminal,
            no_color=None if terminal else True,  # on a terminal, rich reads NO_COLOR
            soft_wrap=not terminal,
            markup=False,
            emoji=False,
            highlight=False,
        )
        self.own = self.console
        self.terminal = terminal

    def _print(self, *renderables: RenderableType) -> None:
        self.console.print(*renderables)

    def judged(self, record: Recorded, violations: Sequence[Violation]) -> None:
        from rich import box
        from rich.table import Table
        from rich.text import Text

        seen = _seen(record)
        if self.terminal:
            table = Table(
                title=Text(f"exchange {record.index}: {seen}", style="bold"), box=box.SIMPLE
            )
            table.add_column("rule", style="bold red", no_wrap=True)
            table.add_column("at")
            table.add_column("message", overflow="fold")
            for v in violations:
                table.add_row(_clean(v.rule), _clean(v.path or ""), _clean(v.message))
            self._print(table)
            return
        for v in violations:
            at = f" at {_clean(v.path)}" if v.path else ""
            self._print(
                f"exchange {v.exchange} ({seen}): {_clean(v.rule)}{at}: {_clean(v.message)}"
            )

    def unreadable(self, record: Unreadable) -> None:
        self._line(f"exchange {record.index}: unreadable: {_clean(record.reason)}", "yellow")

    def skipped(self, record: Recorded, reason: str) -> None:
        self._line(f"exchange {record.index}: skipped: {_clean(reason)}", "dim")

    def _line(self, text: str, style: str) -> None:
        from rich.text import Text

        self._print(Text(text, style=style if self.terminal else ""))

    def finish(self, tally: _Tally, seconds: float, name: str) -> None:
        self.console = self.own  # the progress bar is gone
        counts = (
            f"{tally.exchanges:,} exchanges ({tally.judged:,} judged, {tally.skipped:,} "
            f"skipped, {tally.unreadable:,} unreadable)"
        )
        if tally.violations:
            found = (
                f"{tally.violations:,} violation{'s' * (tally.violations != 1)} in "
                f"{tally.failing:,} exchange{'s' * (tally.failing != 1)}"
            )
        else:
            found = "no violations"
        rate = f"{tally.exchanges / max(seconds, 1e-9):,.0f} exchanges/s ({seconds:.3f} s)"
        rules = sorted(tally.rules.items(), key=lambda item: _rule_order(item[0]))
        if self.terminal:
            self._tables(f"checked {name}", (counts, found, rate), rules)
            return
        self._print(f"checked {name}: {counts}")
        self._print(f"{found}{':' if rules else ''}")
        for rule, count in rules:
            self._print(f"  {_clean(rule)}: {count:,}")
        self._print(f"rate: {rate}")

    def _tables(
        self, title: str, lines: tuple[str, str, str], rules: list[tuple[str, int]]
    ) -> None:
        from rich import box
        from rich.table import Table

        summary = Table(title=title, box=box.ROUNDED, show_header=False)
        summary.add_column(style="bold")
        summary.add_column()
        summary.add_row("exchanges", lines[0])
        summary.add_row("violations", lines[1], style="red" if rules else "green")
        summary.add_row("rate", lines[2])
        self._print(summary)
        if rules:
            by_rule = Table(title="violations by rule", box=box.ROUNDED)
            by_rule.add_column("rule", style="bold red")
            by_rule.add_column("count", justify="right")
            for rule, count in rules:
                by_rule.add_row(_clean(rule), f"{count:,}")
            self._print(by_rule)

    def close(self) -> None:
        pass


class _JsonReport:
    """``{"exchanges", "violations", "unreadable", "skipped", "seconds"}``, written at the end;
    the lists are kept in temporary files past 1 MiB, so that memory stays bounded."""

    _LISTS = ("violations", "unreadable", "skipped")

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.spools: dict[str, IO[str]] = {}
        self.sizes: Counter[str] = Counter()

    def _add(self, name: str, item: dict[str, object]) -> None:
        spool = self.spools.get(name)
        if spool is None:
            # closed by close(), once finish has copied it
            spool = tempfile.SpooledTemporaryFile(_SPOOL_BYTES, "w+", encoding="utf-8")  # noqa: SIM115
            self.spools[name] = spool
        spool.write(("" if self.sizes[name] == 0 else ",") + "\n    " + json.dumps(item))
        self.sizes[name] += 1

    def judged(self, record: Recorded, violations: Sequence[Violation]) -> None:
        for v in violations:
            item = {"exchange": v.exchange, "rule": v.rule, "message": v.message, "path": v.path}
            self._add("violations", item)

    def unreadable(self, record: Unreadable) -> None:
        self._add("unreadable", {"exchange": record.index, "reason": record.reason})

    def skipped(self, record: Recorded, reason: str) -> None:
        self._add("skipped", {"exchange": record.index, "reason": reason})

    def finish(self, tally: _Tally, seconds: float, name: str) -> None:
        try:
            self.out.write(f'{{\n  "exchanges": {tally.exchanges},\n')
            for list_name in self._LISTS:
                self.out.write(f'  "{list_name}": [')
                spool = self.spools.get(list_name)
                if spool is not None:
                    spool.seek(0)
                    shutil.copyfileobj(spool, self.out, _SPOOL_BYTES)
                    self.out.write("\n  ")
                self.out.write("],\n")
            self.out.write(f'  "seconds": {round(seconds, 6)}\n}}\n')
            self.out.flush()
        finally:
            self.close()

    def close(self) -> None:
        for spool in self.spools.values():
            spool.close()
        self.spools.clear()


def _console(**options: Any) -> Console:
    """A rich console whose broken pipe is an ``OSError`` (rich's own exits 1, which for this
    command means violations)."""
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            self.quiet = True
            raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))

    return _Console(**options)


# --- text -----------------------------------------------------------------------------------------


def _seen(record: Recorded) -> str:
    request = record.request
    method, path = _clean(request.method, 20), _clean(request.path, 160)
    return f"{method} {path}, {record.response.status}"


_HIDDEN = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


def _clean(text: str, limit: int = 1000) -> str:
    """Text from a recording, fit for one line of a terminal: control, format (bidirectional)
    and separator characters escaped, at most ``limit`` characters."""
    if text.isprintable() and len(text) <= limit:
        return text
    shown = "".join(
        f"\\u{ord(c):04x}" if unicodedata.category(c) in _HIDDEN else c for c in text[: limit + 1]
    )
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def _rule_order(rule: str) -> list[Any]:
    """``R-RES-10`` after ``R-RES-9``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", rule)]


def _reason(error: BaseException) -> str:
    return _clean(getattr(error, "strerror", None) or str(error) or type(error).__name__)


def _is_terminal(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return False
