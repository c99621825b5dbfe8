"""A few pyperformance benchmarks, for bench/run.py.

pyperformance is not needed: this file has its own small re-implementations
(written for heapmark, not copied) of three of its classic pure-Python,
standard-library-only kernels:

* ``richards`` (pyperformance's bm_richards): Martin Richards' operating
  system simulation - an idle task, a worker, two handlers and two devices
  exchanging packets through a priority scheduler; one iteration runs until
  the idle task has counted down 10,000 times and is checked against the
  reference counts (9297 holds, 23246 packets queued).
* ``nbody`` (bm_nbody): the Sun and the four giant planets integrated with
  a simple symplectic step (dt 0.01), energy reported before and after; the
  energy after offsetting the momentum is checked against the reference
  value (-0.169075164).
* ``json`` (bm_json_dumps and bm_json_loads, as one round trip): documents
  of the shapes those benchmarks use (an empty dict, a flat dict of
  strings, numbers and a list, a nested one, and a long list of the nested
  one) encoded with json.dumps and decoded back with json.loads, and the
  result checked.

Phase 1 (most of the run time): each kernel runs a fixed number of
iterations, times --scale.  They allocate many short-lived objects (packets,
floats, the json documents and strings) but hold little at once.

Phase 2 (the peak): N_DOCS records are encoded with json.dumps and the
strings kept in a list; then an 8 MiB bytes object is allocated last, so
that the peak of tracked memory is clearly that moment.

With ``--truth FILE`` the script writes the bytes each marked line (a
``# truth:NAME`` comment) holds at the peak, as JSON, with the blocks they
are made of ([size, count] pairs).  Convention: objects of 512 bytes or less
come from pymalloc and are counted at their 16-byte size class
(sys.getsizeof rounded up to 16); larger blocks at their requested size.
The encoded strings are made inside the json package (a library, so the
allocation is credited to the calling line of this file); the list object
(56 bytes, maybe from a free list) is left out, its pointer array counted.

Usage: python pyperf_suite.py [--scale F] [--truth FILE]
"""
import json
import math
import sys

import _truth

RICHARDS_ITERS = 32   # richards iterations at --scale 1 (about 0.8 s on the bench machine)
NBODY_STEPS = 230_000 # nbody steps at --scale 1 (about 0.8 s)
JSON_ROUNDS = 42      # json round trips of every document at --scale 1 (about 0.8 s)
N_DOCS = 40_000       # json strings held at the peak
BALLAST = 8 << 20     # bytes of the last allocation before the peak


# ---- richards ----------------------------------------------------------------

IDLE, WORKER, HANDLER_A, HANDLER_B, DEVICE_A, DEVICE_B = range(1, 7)
KIND_DEVICE, KIND_WORK = 0, 1
BUFFER = 4


class Packet:
    __slots__ = ("next", "owner", "kind", "datum", "data")

    def __init__(self, next_, owner, kind):
        self.next = next_
        self.owner = owner
        self.kind = kind
        self.datum = 0
        self.data = [0] * BUFFER

    def append_to(self, queue):
        """Put self at the end of queue; return the new head."""
        self.next = None
        if queue is None:
            return self
        last = queue
        while last.next is not None:
            last = last.next
        last.next = self
        return queue


class Scheduler:
    """The task table, the ready list and the two counters the run checks."""

    def __init__(self):
        self.tasks = [None] * 7
        self.head = None
        self.holds = 0
        self.queued = 0

    def run(self):
        task = self.head
        while task is not None:
            if task.held or (task.waiting and not task.pending):
                task = task.next
            else:
                task = task.run()


class Task:
    def __init__(self, sched, ident, priority, queue, pending, waiting, holding):
        self.sched = sched
        self.ident = ident
        self.priority = priority
        self.queue = queue
        self.pending = pending
        self.waiting = waiting
        self.held = holding
        self.next = sched.head
        sched.head = self
        sched.tasks[ident] = self

    def run(self):
        if self.pending and self.waiting and not self.held:
            packet = self.queue
            self.queue = packet.next
            self.pending = self.queue is not None
            self.waiting = False
            self.held = False
        else:
            packet = None
        return self.work(packet)

    def receive(self, packet, sender):
        """A packet arrives from sender: who runs next."""
        if self.queue is None:
            self.queue = packet
            self.pending = True
            return self if self.priority > sender.priority else sender
        packet.append_to(self.queue)
        return sender

    def wait(self):
        self.waiting = True
        return self

    def hold(self):
        self.sched.holds += 1
        self.held = True
        return self.next

    def release(self, ident):
        task = self.sched.tasks[ident]
        task.held = False
        return task if task.priority > self.priority else self

    def send(self, packet):
        task = self.sched.tasks[packet.owner]
        self.sched.queued += 1
        packet.next = None
        packet.owner = self.ident
        return task.receive(packet, self)


class IdleTask(Task):
    def __init__(self, sched, count):
        Task.__init__(self, sched, IDLE, 0, None, False, False, False)
        self.seed = 1
        self.count = count

    def work(self, packet):
        self.count -= 1
        if self.count == 0:
            return self.hold()
        if self.seed & 1 == 0:
            self.seed >>= 1
            return self.release(DEVICE_A)
        self.seed = (self.seed >> 1) ^ 0xD008
        return self.release(DEVICE_B)


class WorkerTask(Task):
    def __init__(self, sched, queue):
        Task.__init__(self, sched, WORKER, 1000, queue, True, True, False)
        self.target = HANDLER_A
        self.letter = 0

    def work(self, packet):
        if packet is None:
            return self.wait()
        self.target = HANDLER_B if self.target == HANDLER_A else HANDLER_A
        packet.owner = self.target
        packet.datum = 0
        for i in range(BUFFER):
            self.letter = self.letter + 1 if self.letter < 26 else 1
            packet.data[i] = 64 + self.letter
        return self.send(packet)


class HandlerTask(Task):
    def __init__(self, sched, ident, priority, queue):
        Task.__init__(self, sched, ident, priority, queue, True, True, False)
        self.work_queue = None
        self.device_queue = None

    def work(self, packet):
        if packet is not None:
            if packet.kind == KIND_WORK:
                self.work_queue = packet.append_to(self.work_queue)
            else:
                self.device_queue = packet.append_to(self.device_queue)
        job = self.work_queue
        if job is None:
            return self.wait()
        if job.datum >= BUFFER:
            self.work_queue = job.next
            return self.send(job)
        device = self.device_queue
        if device is None:
            return self.wait()
        self.device_queue = device.next
        device.datum = job.data[job.datum]
        job.datum += 1
        return self.send(device)


class DeviceTask(Task):
    def __init__(self, sched, ident, priority):
        Task.__init__(self, sched, ident, priority, None, False, True, False)
        self.waiting_packet = None

    def work(self, packet):
        if packet is None:
            packet, self.waiting_packet = self.waiting_packet, None
            return self.wait() if packet is None else self.send(packet)
        self.waiting_packet = packet
        return self.hold()


def richards_once():
    sched = Scheduler()
    IdleTask(sched, 10_000)
    work = Packet(Packet(None, 0, KIND_WORK), 0, KIND_WORK)
    WorkerTask(sched, work)
    queue_a = Packet(Packet(Packet(None, DEVICE_A, KIND_DEVICE), DEVICE_A, KIND_DEVICE),
                     DEVICE_A, KIND_DEVICE)
    HandlerTask(sched, HANDLER_A, 2000, queue_a)
    queue_b = Packet(Packet(Packet(None, DEVICE_B, KIND_DEVICE), DEVICE_B, KIND_DEVICE),
                     DEVICE_B, KIND_DEVICE)
    HandlerTask(sched, HANDLER_B, 3000, queue_b)
    DeviceTask(sched, DEVICE_A, 4000)
    DeviceTask(sched, DEVICE_B, 5000)
    sched.run()
    if (sched.holds, sched.queued) != (9297, 23246):
        raise AssertionError("richards: %d holds, %d packets" % (sched.holds, sched.queued))
    return sched.holds + sched.queued


# ---- nbody ---------------------------------------------------------------------

SOLAR_MASS = 4 * math.pi * math.pi
YEAR = 365.24
PLANETS = {   # position (AU), velocity (AU/day), mass (solar masses)
    "jupiter": ((4.84143144246472090e+00, -1.16032004402742839e+00, -1.03622044471123109e-01),
                (1.66007664274403694e-03, 7.69901118419740425e-03, -6.90460016972063023e-05),
                9.54791938424326609e-04),
    "saturn": ((8.34336671824457987e+00, 4.12479856412430479e+00, -4.03523417114321381e-01),
               (-2.76742510726862411e-03, 4.99852801234917238e-03, 2.30417297573763929e-05),
               2.85885980666130812e-04),
    "uranus": ((1.28943695621391310e+01, -1.51111514016986312e+01, -2.23307578892655734e-01),
               (2.96460137564761618e-03, 2.37847173959480950e-03, -2.96589568540237556e-05),
               4.36624404335156298e-05),
    "neptune": ((1.53796971148509165e+01, -2.59193146099879641e+01, 1.79258772950371181e-01),
                (2.68067772490389322e-03, 1.62824170038242295e-03, -9.51592254519715870e-05),
                5.15138902046611451e-05),
}


def make_system():
    """[[position list, velocity list, mass], ...], the Sun first, at rest."""
    bodies = [[[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], SOLAR_MASS]]
    for pos, vel, mass in PLANETS.values():
        bodies.append([list(pos), [v * YEAR for v in vel], mass * SOLAR_MASS])
    return bodies


def offset_momentum(bodies):
    """Give the Sun the momentum that makes the system's total zero."""
    px = py = pz = 0.0
    for (_, (vx, vy, vz), m) in bodies:
        px -= vx * m
        py -= vy * m
        pz -= vz * m
    sun_v, sun_m = bodies[0][1], bodies[0][2]
    sun_v[0], sun_v[1], sun_v[2] = px / sun_m, py / sun_m, pz / sun_m


def energy(bodies):
    e = 0.0
    for i, ((x1, y1, z1), (vx, vy, vz), m1) in enumerate(bodies):
        e += 0.5 * m1 * (vx * vx + vy * vy + vz * vz)
        for ((x2, y2, z2), _, m2) in bodies[i + 1:]:
            dx, dy, dz = x1 - x2, y1 - y2, z1 - z2
            e -= m1 * m2 / math.sqrt(dx * dx + dy * dy + dz * dz)
    return e


def advance(bodies, pairs, dt, steps):
    for _ in range(steps):
        for ((x1, y1, z1), v1, m1, (x2, y2, z2), v2, m2) in pairs:
            dx, dy, dz = x1 - x2, y1 - y2, z1 - z2
            d2 = dx * dx + dy * dy + dz * dz
            mag = dt / (d2 * math.sqrt(d2))
            b1, b2 = m1 * mag, m2 * mag
            v1[0] -= dx * b2
            v1[1] -= dy * b2
            v1[2] -= dz * b2
            v2[0] += dx * b1
            v2[1] += dy * b1
            v2[2] += dz * b1
        for (r, (vx, vy, vz), _) in bodies:
            r[0] += dt * vx
            r[1] += dt * vy
            r[2] += dt * vz


def nbody(steps):
    bodies = make_system()
    offset_momentum(bodies)
    before = energy(bodies)
    if abs(before - -0.169075164) > 1e-9:
        raise AssertionError("nbody: energy %.9f" % before)
    # every pair of bodies once; the lists in it are the bodies' own
    pairs = [(a[0], a[1], a[2], b[0], b[1], b[2])
             for i, a in enumerate(bodies) for b in bodies[i + 1:]]
    advance(bodies, pairs, 0.01, steps)
    return before, energy(bodies)


# ---- json ------------------------------------------------------------------------

def json_documents():
    simple = {"key1": 0, "key2": True, "key3": "value", "key4": "foo", "key5": "string",
              "key6": [1, 2, 3, 4.5, None], "key7": -12.25}
    nested = {"key1": 0, "key2": simple, "key3": "value", "key4": [simple, "x", 7],
              "key5": {"inner": simple, "flag": False}, "key6": "\u00e9t\u00e9 \u2603"}
    return [({}, 400), (simple, 300), (nested, 120), ([nested] * 300, 1)]


def json_round_trip(rounds):
    acc = 0
    docs = json_documents()
    for _ in range(rounds):
        for doc, repeat in docs:
            for _ in range(repeat):
                text = json.dumps(doc)
                back = json.loads(text)
                acc += len(text)
            if back != doc:
                raise AssertionError("json: round trip changed the document")
            text = json.dumps(doc, indent=2, sort_keys=True)
            acc += len(json.loads(text))
    return acc


# ---- phases --------------------------------------------------------------------

def record(k):
    return {"id": k, "name": "record-%d" % k, "tags": ["t%d" % (k % 7), "u%d" % (k % 11)],
            "score": k * 0.25, "active": k % 3 == 0}


def build_known():
    held = {}
    held["docs"] = [json.dumps(record(k)) for k in range(N_DOCS)]  # truth:json_docs
    held["ballast"] = bytes(BALLAST)  # truth:ballast
    return held


def main():
    args = _truth.arguments(__doc__)

    acc = 0
    for _ in range(max(1, int(RICHARDS_ITERS * args.scale))):
        acc += richards_once()
    before, after = nbody(max(1, int(NBODY_STEPS * args.scale)))
    acc += int(-after * 1e9) % 1000
    acc += json_round_trip(max(1, int(JSON_ROUNDS * args.scale)))

    held = build_known()
    if args.truth:
        gs = sys.getsizeof
        docs = held["docs"]
        sizes = {}
        for s in docs:
            sizes[_truth.pym(gs(s))] = sizes.get(_truth.pym(gs(s)), 0) + 1
        expected = {
            "json_docs": sorted([size, n] for size, n in sizes.items()) +
                         [[_truth.pym(gs(docs) - gs([])), 1]],
            "ballast": [[_truth.pym(gs(held["ballast"])), 1]],
        }
    acc += len(held["docs"])
    del held
    acc += richards_once()   # a little more work after the peak

    if args.truth:
        _truth.write(args.truth, "pyperf_suite", __file__, expected)
    print("pyperf_suite checksum %d (nbody energy %.9f -> %.9f)" % (acc, before, after))


if __name__ == "__main__":
    main()
