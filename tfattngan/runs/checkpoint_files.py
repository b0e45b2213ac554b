"""The files of a checkpoint folder as written by `tf.train.CheckpointManager`, read from the disk itself.

A folder holds `NAME-N.index` and `NAME-N.data-*` per checkpoint and a
`checkpoint` state file naming the latest one and those the manager keeps.
The state can be out of step with the files (a kill between writing a
checkpoint and recording it, a corrupt latest checkpoint set aside), so
resuming lists the checkpoints from the files, tries them newest first
(`newest_restorable`), moves failed ones aside (`set_aside`) and records
what is kept (`record_checkpoints`). A save killed half-way leaves a
`NAME-N_temp/` folder, which `remove_unfinished_saves` deletes.
"""

import glob
import os
import pathlib
import re
import shutil

from tfattngan.atomic_files import write_text_atomically

STATE_NAME = "checkpoint"
SKIPPED_FOLDER = "skipped"


def checkpoint_prefixes(directory, name="ckpt"):
    """The checkpoint prefixes (`DIR/ckpt-N`) in `directory` that have an index file, oldest (lowest N) first.

    Example:

    >>> import tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> for n in (10, 2):
    ...     _ = (folder / f"ckpt-{n}.index").write_bytes(b"")
    >>> [pathlib.Path(p).name for p in checkpoint_prefixes(folder)]
    ['ckpt-2', 'ckpt-10']
    """
    pattern = re.compile(rf"{re.escape(name)}-(\d+)\.index")
    found = []
    for path in pathlib.Path(directory).glob(f"{name}-*.index"):
        match = pattern.fullmatch(path.name)
        if match:
            found.append((int(match.group(1)), str(path.with_suffix(""))))
    return [prefix for _, prefix in sorted(found)]


def remove_unfinished_saves(directory):
    """Deletes the `NAME-N_temp/` folders that a save stopped half-way (SIGKILL, full disk) left behind.

    Only a process that holds the run's lock may call this: a save in
    progress writes into such a folder.

    Returns:
        The names of the removed folders.

    Example:

    >>> import tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> (folder / "ckpt-7_temp").mkdir()
    >>> remove_unfinished_saves(folder), sorted(os.listdir(folder))
    (['ckpt-7_temp'], [])
    """
    directory = pathlib.Path(directory)
    removed = []
    if directory.is_dir():
        for path in sorted(directory.iterdir()):
            if path.is_dir() and re.fullmatch(r".+-\d+_temp", path.name):
                shutil.rmtree(path)
                removed.append(path.name)
    return removed


def restore_failure_reason(error):
    """The first line of a failed restore's message, without TensorFlow's op decorations.

    Example:

    >>> restore_failure_reason(RuntimeError(
    ...     "{{function_node __wrapped__RestoreV2}} ckpt-6: Checksum does not match [Op:RestoreV2]\\nmore"))
    'ckpt-6: Checksum does not match'
    >>> restore_failure_reason(IndexError())
    'IndexError'
    """
    text = re.sub(r"\{\{[^}]*\}\}\s*|\s*\[Op:\w+\]", "", str(error)).strip()
    return (text.splitlines() or [type(error).__name__])[0][:200]


def newest_restorable(prefixes, restore):
    """Tries `restore(prefix)` from the newest prefix back; the first that does not raise wins.

    Args:
        prefixes: checkpoint prefixes, oldest first (`checkpoint_prefixes`).
        restore: restores one checkpoint, raising on any failure.

    Returns:
        `(prefix, skipped)`: the restored prefix (None when none restored)
        and `(prefix, reason)` for each newer one that failed, newest first.

    Example:

    >>> def restore(prefix):
    ...     if prefix != "ckpt-2":
    ...         raise ValueError(f"{prefix} is truncated")
    >>> newest_restorable(["ckpt-1", "ckpt-2", "ckpt-3"], restore)
    ('ckpt-2', [('ckpt-3', 'ckpt-3 is truncated')])
    """
    skipped = []
    for prefix in reversed(prefixes):
        try:
            restore(prefix)
        except Exception as error:  # any failure to read it: truncated, bit-flipped, foreign, not finite
            skipped.append((prefix, restore_failure_reason(error)))
        else:
            return prefix, skipped
    return None, skipped


def set_aside(prefix):
    """Moves a checkpoint's files into `skipped/` beside it, under a free name; returns the new prefix.

    Nothing is deleted, so the checkpoint can still be inspected (with
    `tf.train.load_checkpoint`), but neither resuming nor the manager's
    pruning and later saves of the same number touch it any more.

    Example:

    >>> import tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> for suffix in (".index", ".data-00000-of-00001"):
    ...     _ = (folder / f"ckpt-6{suffix}").write_bytes(b"x")
    >>> moved = set_aside(folder / "ckpt-6")
    >>> pathlib.Path(moved).relative_to(folder).as_posix(), sorted(os.listdir(folder / "skipped"))
    ('skipped/ckpt-6', ['ckpt-6.data-00000-of-00001', 'ckpt-6.index'])
    """
    prefix = pathlib.Path(prefix)
    folder = prefix.parent / SKIPPED_FOLDER
    folder.mkdir(exist_ok=True)
    target, copy = folder / prefix.name, 1
    while any(folder.glob(f"{glob.escape(target.name)}.*")):
        copy += 1
        target = folder / f"{prefix.name}-copy{copy}"
    for path in prefix.parent.glob(f"{glob.escape(prefix.name)}.*"):
        os.rename(path, folder / (target.name + path.name[len(prefix.name):]))
    return str(target)


def record_checkpoints(directory, prefixes):
    """Writes the `checkpoint` state file so that a `tf.train.CheckpointManager` manages exactly `prefixes`.

    The latest is the last prefix; each one's save time is its index file's
    modification time, so that the manager's `max_to_keep` prunes the
    oldest first as usual. Paths are stored relative to `directory`, as the
    manager stores them.

    Example:

    >>> import tempfile, tensorflow as tf
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> for n in (2, 4):
    ...     _ = (folder / f"ckpt-{n}.index").write_bytes(b"")
    >>> record_checkpoints(folder, checkpoint_prefixes(folder))
    >>> state = tf.train.get_checkpoint_state(str(folder))
    >>> [pathlib.Path(p).name for p in state.all_model_checkpoint_paths]
    ['ckpt-2', 'ckpt-4']
    """
    directory = pathlib.Path(directory)
    names = [pathlib.Path(prefix).name for prefix in prefixes]
    times = [os.path.getmtime(directory / f"{name}.index") for name in names]
    lines = [f'model_checkpoint_path: "{names[-1]}"']
    lines += [f'all_model_checkpoint_paths: "{name}"' for name in names]
    lines += [f"all_model_checkpoint_timestamps: {stamp!r}" for stamp in times]
    lines.append(f"last_preserved_timestamp: {min(times) - 1.0!r}")
    write_text_atomically(directory / STATE_NAME, "\n".join(lines) + "\n")

