"""Start-up time of the `linclf` command: importing torch costs seconds before any work.

Importing torch creates about 275,000 objects that Python's cyclic garbage collector
tracks, and almost no garbage; yet the collector runs while they are created, each full
collection walking all of them (0.3 s each, measured on the README's 2-core machine).
`imports_without_gc` pauses the collector during an import, then freezes what was imported
(gc.freeze: modules, classes and functions that live as long as the process, never scanned
again), so that later collections walk only the objects made after it.

For the command line only (parse.main), whose process ends with its command: a frozen object
that later becomes cyclic garbage is never collected, which a notebook or a script that
goes on calling the library must not be left with.
"""
import contextlib
import gc


@contextlib.contextmanager
def imports_without_gc():
    """Pause the cyclic garbage collector during the imports inside the block, then freeze
    every object alive at its end out of the collector's sight."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()
