"""Two forked workers hand a 50 MiB block back and forth, 30 times each, with
no pause: one frees its block and at once tells the other to make its own.
No moment of the run holds both blocks, so the job's combined peak is one
block above what the processes hold besides.  A sum of totals each published
at its own process's tick would, sooner or later, add the block one worker
had just freed to the block the other had just made."""
import multiprocessing

MB = 1 << 20
BLOCK = 50 * MB
ROUNDS = 30


def worker(inbox, outbox, first):
    if not first:
        inbox.recv()
    for _ in range(ROUNDS):
        block = bytearray(BLOCK)  # the worker's block
        block[:: 4096] = b"x" * len(block[:: 4096])
        del block
        outbox.send(1)
        inbox.recv()
    outbox.send(1)


def main():
    context = multiprocessing.get_context("fork")
    a_in, b_out = context.Pipe(duplex=False)
    b_in, a_out = context.Pipe(duplex=False)
    a = context.Process(target=worker, args=(a_in, a_out, True))
    b = context.Process(target=worker, args=(b_in, b_out, False))
    a.start()
    b.start()
    a.join()
    b.join()


if __name__ == "__main__":
    main()
