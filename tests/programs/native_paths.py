"""Ground truth: the native paths beside the malloc family, each at its own
line (docs/native-memory.md says what is counted and why).

Counted: the program break moved by sbrk and brk (each call grows it by 8 MiB
more than it keeps and brings it back down), writable shared mappings of a
memfd, of a shm_open object and of /dev/shm files, from C and through Python's
mmap module; a memfd mapped twice counts twice.  Not counted: a private
writable mapping of a file, written all over, and a shared one of a file on
disk.  A malloc_trim sits between the heap blocks and the peak: the blocks'
line keeps its figure.  hmnative.usable() says what heapmark should count.
"""
import mmap
import os
import sys

import hmnative as n
from truth import here, write

MB = 1 << 20
KEPT = []  # held until exit, for end.folded


def unlinked_file(path, size):
    """A file of size bytes at path, already unlinked: only its fd names it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    os.unlink(path)
    os.ftruncate(fd, size)
    return fd


def shm_file(size):
    return unlinked_file("/dev/shm/heapmark-native-paths-%d" % os.getpid(), size)


def disk_file(size):
    return unlinked_file("native-paths-%d.data" % os.getpid(), size)


def write_every_page(m):
    for offset in range(0, len(m), mmap.PAGESIZE):
        m[offset] = 1


def page_round(size):
    return (size + mmap.PAGESIZE - 1) // mmap.PAGESIZE * mmap.PAGESIZE


def main(out):
    gone = n.alloc("sbrk", 40 * MB); gone_line = here()
    gone_bytes = n.usable(gone)
    gone_released = n.release(gone)

    scattered = n.alloc("scattered", 64 * MB); scattered_line = here()
    rss_before_trim, rss_after_trim = n.trim()

    held = {}
    held["sbrk"] = (n.alloc("sbrk", 11 * MB), here())
    held["brk"] = (n.alloc("brk", 12 * MB), here())
    held["memfd"] = (n.alloc("memfd", 13 * MB), here())
    held["memfd_twice"] = (n.alloc("memfd_twice", 7 * MB), here())
    held["shm_open"] = (n.alloc("shm_open", 15 * MB), here())
    held["file_private"] = (n.alloc("file_private", 16 * MB), here())
    held["file_shared"] = (n.alloc("file_shared", 17 * MB), here())
    counted = {line: n.usable(h) for h, line in held.values()}
    counted[scattered_line] = n.usable(scattered)
    if not gone_released:
        counted[gone_line] = gone_bytes

    fd = os.memfd_create("native-paths"); os.ftruncate(fd, 18 * MB)
    py_memfd = mmap.mmap(fd, 18 * MB); py_memfd_line = here()
    os.close(fd)
    fd = shm_file(19 * MB)
    py_shm = mmap.mmap(fd, 19 * MB); py_shm_line = here()
    os.close(fd)
    fd = disk_file(20 * MB)
    py_private = mmap.mmap(fd, 20 * MB, access=mmap.ACCESS_COPY); py_private_line = here()
    os.close(fd)
    write_every_page(py_private)
    counted[py_memfd_line] = page_round(18 * MB)
    counted[py_shm_line] = page_round(19 * MB)
    counted[py_private_line] = 0

    peak = {line: bytes for line, bytes in counted.items() if bytes}
    not_counted = [line for line, bytes in counted.items() if not bytes]
    apis = {api: line for api, (h, line) in held.items()}
    apis.update(sbrk_gone=gone_line, scattered=scattered_line, python_memfd=py_memfd_line,
                python_shm=py_shm_line, python_private=py_private_line)

    # The break comes down last in, first out, and only if glibc's malloc
    # did not move it up since.
    released = []
    for api in ["brk", "sbrk", "memfd_twice", "shm_open"]:
        if n.release(held[api][0]):
            released.append(held[api][1])
    py_memfd.close()
    released.append(py_memfd_line)
    end = {line: peak[line] for line in peak if line not in released}
    write(out, peak=peak, not_counted=not_counted, end=end, released=released,
          freed_before_peak=[gone_line] if gone_released else [],
          apis={str(line): api for api, line in apis.items()},
          rss_around_trim=[rss_before_trim, rss_after_trim])
    KEPT.extend([py_shm, py_private])


main(sys.argv[1])
