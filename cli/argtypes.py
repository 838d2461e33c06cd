"""The `rpm` parser and its argument types: every error names the option and says what it expects.

argparse prints ``invalid <function name> value`` when a type function
raises ValueError, and reports an unknown option only after it has checked
the required command; the parser here answers each mistake at the level
where it was made, with that command's own usage.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn


class CliError(Exception):
    """A command cannot run as asked: one line for the user, naming the fix; no traceback."""


class CliParser(argparse.ArgumentParser):
    """Unknown options are reported by the (sub)command that received them, with its usage."""

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None,
    ) -> tuple[argparse.Namespace, list[str]]:
        argv = list(sys.argv[1:] if args is None else args)
        if self._subparsers is not None and argv and argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
            # Before argparse's "a command is required": the option is the mistake, not the missing command.
            self.error(f"unrecognized option {argv[0]} (options follow the command: {self.prog} COMMAND --help)")
        ns, extras = super().parse_known_args(argv, namespace)
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return ns, extras

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def _number(text: str, kind: type[int | float]) -> int | float:
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected {'a whole number' if kind is int else 'a number'}, got {text!r}") from None


def positive_float(text: str) -> float:
    v = float(_number(text, float))
    if not v > 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {text!r}")
    return v


def positive_int(text: str) -> int:
    v = int(_number(text, int))
    if v <= 0:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {text!r}")
    return v


def port(text: str) -> int:
    v = int(_number(text, int))
    if not 1 <= v <= 65535:
        raise argparse.ArgumentTypeError(f"a TCP port is 1-65535, got {text!r}")
    return v
