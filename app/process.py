"""How a server process spends its memory and threads, set when it starts serving.

Measured with bench/ on signed-in pages of a large edition (250-500 KB each, aggregating
180,000 scores): with 40 threads rendering at once and glibc's default of one malloc arena per
thread, a worker's resident memory grew from 120 MB to 370 MB and stayed there.
"""

import ctypes
import ctypes.util
import gc

from anyio import to_thread

# mallopt(3) parameters.
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8


def tune(*, threads: int) -> None:
    _limit_malloc()
    # Requests that run in threads (database work, rendering) run at most this many at once; the
    # others wait their turn on the event loop. Python runs one thread at a time anyway, so more
    # threads add memory (each holds its request's rows and page), not speed.
    to_thread.current_default_thread_limiter().total_tokens = threads
    # What start-up loaded (modules, templates, the catalog) stays for good: moved out of the
    # collector's sight, so full collections under load walk only what requests made.
    gc.collect()
    gc.freeze()


def _limit_malloc() -> None:
    name = ctypes.util.find_library("c")
    if not name:
        return
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc: its defaults stay
        return
    # Two arenas for all threads instead of one per thread, each keeping its own free memory.
    mallopt(M_ARENA_MAX, 2)
    # A fixed threshold: blocks of 128 KB or more (a rendered page, a result set) are mapped
    # on their own and given back to the system when freed; glibc's sliding threshold would
    # otherwise rise after the first large page and keep such blocks in the heap.
    mallopt(M_MMAP_THRESHOLD, 128 * 1024)
