"""The one command-line convention of train.py, evaluate, export and the tflite tools.

- The same flag for the same thing: `--out` (what the tool writes),
  `--num-samples` (images to make or use), `--seed`, `--batch-size`,
  `--threads`, `--json`.
- `--json PATH` also writes the tool's result as one JSON object to PATH;
  `--json -` prints that object on stdout instead of the summary lines (the
  progress of a long job then goes to stderr).
- A mistake the user can fix (a bad argument, a missing file, a
  `UserInputError` from the library) prints one line `error: ...` on
  stderr and exits with status 2.
"""

import argparse
import json
import sys

from tfattngan.atomic_files import write_text_atomically
from tfattngan.console import quiet_tensorflow_import
from tfattngan.errors import UserInputError
from tfattngan.write_errors import WriteFailedError
from tfattngan.write_errors import report_file_size_limits
from tfattngan.write_errors import write_failure_reason


class ArgumentParser(argparse.ArgumentParser):
    """An `argparse.ArgumentParser` whose errors are `UserInputError`s pointing to `--help`, with `--json`.

    Example:

    >>> parser = ArgumentParser(prog="python tool.py")
    >>> parser.parse_args(["--json", "-"]).json
    '-'
    >>> parser.parse_args(["--bad"])
    Traceback (most recent call last):
    ...
    tfattngan.errors.UserInputError: unrecognized arguments: --bad (see python tool.py --help)
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_argument("--json", metavar="PATH",
                          help="also write the result as JSON to PATH ('-': print it instead of the summary)")

    def error(self, message):
        raise UserInputError(f"{message} (see {self.prog} --help)")


def positive_int(text):
    """An argparse type: an integer of at least 1.

    Example:

    >>> positive_int("3")
    3
    """
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def progress_stream(args):
    """Where a tool's progress lines go: stdout, or stderr when `--json -` claims stdout.

    Example:

    >>> progress_stream(argparse.Namespace(json="-")) is sys.stderr
    True
    """
    return sys.stderr if getattr(args, "json", None) == "-" else sys.stdout


def run_tool(parser, body, argv=None, quiet=False):
    """Parses `argv`, runs `body(args) -> (result dict, summary text)`, reports it; returns the exit status.

    The summary goes to stdout, or, with `--json -`, the result as JSON
    instead; `--json PATH` also writes the result to PATH (atomically). A
    `UserInputError` becomes one `error: ...` line on stderr and status 2,
    and so does a write that the system refused (no space left, read-only
    folder, file-size limit) when the body did not name it itself.
    With `quiet`, native diagnostics (converter notes, delegate banners)
    are silenced while the body runs, so that a failure reads as one line.

    Example:

    >>> run_tool(ArgumentParser(prog="python tool.py"), lambda args: ({"answer": 42}, "the answer is 42"), [])
    the answer is 42
    0
    >>> run_tool(ArgumentParser(prog="python tool.py"), lambda args: ({"answer": 42}, "unused"), ["--json", "-"])
    {
      "answer": 42
    }
    0
    """
    report_file_size_limits()
    try:
        args = parser.parse_args(argv)
        if quiet:
            with quiet_tensorflow_import():
                result, summary = body(args)
        else:
            result, summary = body(args)
        text = json.dumps(result, indent=2, default=str)
        if args.json == "-":
            print(text, flush=True)
        else:
            if args.json:
                write_text_atomically(args.json, text + "\n")
            if summary:
                print(summary, flush=True)
        return 0
    except UserInputError as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        return 2
    except Exception as error:
        reason = write_failure_reason(error)
        if reason is None:
            raise
        print(f"error: {_unnamed_write_failure(error, reason)}", file=sys.stderr, flush=True)
        return 2


def _unnamed_write_failure(error, reason):
    target = getattr(error, "filename", None) or "a file"
    return str(WriteFailedError(
        f"could not write {target} ({reason}); files finished before it are kept; "
        "free space or choose a writable place and run again."
    ))
