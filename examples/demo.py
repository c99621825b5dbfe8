"""A small data job for trying heapmark: `heapmark run examples/demo.py`.

It parses a generated log into one object per line, builds an index over
it, and packs a binary buffer.  The peak comes while all three are alive;
heapmark shows which lines held how much.
"""
import random


class Record:
    def __init__(self, day, user, action, amount):
        self.day = day
        self.user = user
        self.action = action
        self.amount = amount


def generate_log(lines):
    rng = random.Random(42)
    actions = ["view", "click", "buy", "refund"]
    return "\n".join("2026-11-%02d,user%05d,%s,%d" % (1 + i % 28, rng.randrange(50000),
                                                     rng.choice(actions), rng.randrange(1000))
                     for i in range(lines))


def parse(text):
    records = []
    for row in text.splitlines():
        day, user, action, amount = row.split(",")
        records.append(Record(day, user, action, int(amount)))
    return records


def index_by_user(records):
    index = {}
    for r in records:
        index.setdefault(r.user, []).append(r)
    return index


def pack(records):
    buffer = bytearray(16 * len(records))
    for i, r in enumerate(records):
        buffer[16 * i:16 * i + 4] = r.amount.to_bytes(4, "little")
    return buffer


def main():
    text = generate_log(300_000)
    records = parse(text)
    del text
    index = index_by_user(records)
    buffer = pack(records)
    total = sum(r.amount for r in records)
    print("%d records, %d users, %d bytes packed, total amount %d"
          % (len(records), len(index), len(buffer), total))


if __name__ == "__main__":
    main()
