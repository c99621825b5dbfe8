-- schema.sql - the profile file: one SQLite database per profiled process.
--
-- The one source of the schema.  setup.py compiles it into the engine
-- (build/generated/store_schema_sql.h, comments dropped) and writer.c runs
-- it on every new profile; reader.c reads what it creates;
-- docs/profile-format.md describes every column, and
-- tests/test_profile_format.py fails when the two disagree.
-- Changing a table's meaning means raising the format version, here and as
-- HM_STORE_FORMAT_VERSION in schema.h (setup.py refuses to build when the
-- two differ, and likewise for the application id).
--
-- The tables written before the timeline existed are the first six; a
-- reader accepts a profile without timeline, gc_runs, phases, kind_walks,
-- node_kinds, native_frames, job_processes and job_timeline.

PRAGMA application_id = 1213025073;   -- 0x484D4B31, "HMK1": a heapmark profile
PRAGMA user_version = 1;              -- the format version

-- Run metadata, one row per key (the keys: docs/profile-format.md).
CREATE TABLE meta(
    key TEXT PRIMARY KEY,             -- format_version, status, peak_bytes, ...
    value                             -- text, integer or real, by key
) WITHOUT ROWID;

-- Every function name, file name and source line; ids dense from 0.
CREATE TABLE strings(
    id INTEGER PRIMARY KEY,
    text TEXT NOT NULL
);

-- A place in the code; frames with equal (function, file, line) are merged.
CREATE TABLE frames(
    id INTEGER PRIMARY KEY,
    function INTEGER NOT NULL,        -- strings.id: the (qualified) name
    file INTEGER NOT NULL,            -- strings.id: "" for heapmark's own entries
    line INTEGER NOT NULL,
    source INTEGER,                   -- strings.id of the line's text, or NULL
    pseudo INTEGER NOT NULL           -- 1: heapmark's own entry ([pymalloc free space], ...)
);

-- The call tree: node 0 is the root; a parent's id is smaller than its
-- children's; siblings have distinct frames.
CREATE TABLE nodes(
    id INTEGER PRIMARY KEY,
    parent INTEGER,                   -- nodes.id, NULL for the root
    frame INTEGER                     -- frames.id, NULL for the root
);

-- 1 'peak', 2 'end', 3 'allocated'; 4 'job-peak' in a run of more than one
-- process: what this process held at the run's combined peak (run/job.c),
-- present where it was alive then (the reader keeps the rows of the main
-- profile's job_peak_generation only).
CREATE TABLE snapshots(
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    at_s REAL,                        -- seconds from the start
    total_bytes INTEGER               -- exact peak, exact end, sum of the estimates
);

-- Bytes and allocations attributed to exactly this node ("self"); absent
-- rows are zero.  Estimates in sampled mode, exact in exact mode.
CREATE TABLE node_values(
    snapshot INTEGER NOT NULL,        -- snapshots.id
    node INTEGER NOT NULL,            -- nodes.id
    bytes INTEGER NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY(snapshot, node)
) WITHOUT ROWID;

-- Memory over time, sampled by the monitor thread; t ascending.
CREATE TABLE timeline(
    t REAL NOT NULL,                  -- seconds since recording started
    tracked INTEGER NOT NULL,         -- exact tracked bytes
    rss INTEGER NOT NULL              -- resident set, bytes
);

-- The cyclic garbage collector's longest runs.
CREATE TABLE gc_runs(
    t_start REAL NOT NULL,
    t_end REAL NOT NULL,
    generation INTEGER NOT NULL,      -- the oldest generation collected, 0-2
    tracked_before INTEGER NOT NULL,
    tracked_after INTEGER NOT NULL
);

-- heapmark.phase(), in the order they began.
CREATE TABLE phases(
    name TEXT NOT NULL,
    t_start REAL NOT NULL,
    t_end REAL,                       -- NULL: still open when recording ended
    depth INTEGER NOT NULL            -- 0: outermost
);

-- Kinds: what the recorded blocks were, from walks of the heap (the census
-- join, run/kind_walks.h).  A walk runs when the tracked total passes 1.25
-- times the largest walked so far, and at the end; the one at the highest
-- total stands for the peak.  Absent in profiles written before kinds and
-- where walks were off (--no-kinds) or none ran.
CREATE TABLE kind_walks(
    snapshot INTEGER PRIMARY KEY,     -- snapshots.id the walk stands for: 1 peak, 2 end
    at_s REAL NOT NULL,               -- when the walk ran, seconds from the start
    seconds REAL NOT NULL,            -- how long it took
    tracked_bytes INTEGER NOT NULL,   -- exact tracked bytes when it ran
    objects INTEGER NOT NULL          -- Python objects the walk found
);

-- A node's bytes by kind at a walk ("self", like node_values): estimates in
-- sampled mode, exact in exact mode.
CREATE TABLE node_kinds(
    snapshot INTEGER NOT NULL,        -- kind_walks.snapshot
    node INTEGER NOT NULL,            -- nodes.id
    kind INTEGER NOT NULL,            -- strings.id: "dict of __main__.Line", "float", "native"
    bytes INTEGER NOT NULL,
    count INTEGER NOT NULL,           -- objects of the kind (0 for buffers and native memory)
    attributes INTEGER NOT NULL,      -- instances of a class with a __dict__: their attributes, summed
    float_items INTEGER NOT NULL,     -- lists holding only floats: their items, summed
    duplicate_bytes INTEGER NOT NULL, -- str objects whose text other str objects hold too
    PRIMARY KEY(snapshot, node, kind)
) WITHOUT ROWID;

-- The native (C/C++) frames among frames, recorded with --native: their
-- function is the symbol, their file and line the source's where debug
-- information exists (else the object's path and 0).  Absent in profiles
-- written before native frames; empty without --native.
CREATE TABLE native_frames(
    frame INTEGER PRIMARY KEY,        -- frames.id
    library INTEGER NOT NULL          -- strings.id: the shared object (or executable) it is in
);

-- The run's processes on one clock (seconds from the first process's start),
-- in the main profile of a run that had more than one (empty otherwise):
-- every profiled process, and their tracked totals and RSS sampled together
-- by the first process's monitor thread (one row per live process per
-- sample; job_peak_at_s is one of the samples).  Absent in profiles written
-- before them.
CREATE TABLE job_processes(
    pid INTEGER PRIMARY KEY,
    parent_pid INTEGER NOT NULL,      -- 0 for the run's first process
    command TEXT NOT NULL,            -- its first 95 bytes
    t_start REAL NOT NULL,            -- on the job's clock
    t_end REAL                        -- NULL: still running when written
);
CREATE TABLE job_timeline(
    t REAL NOT NULL,                  -- on the job's clock, ascending
    pid INTEGER NOT NULL,             -- job_processes.pid
    tracked INTEGER NOT NULL,         -- exact tracked bytes, as published at its last tick
    rss INTEGER NOT NULL,
    PRIMARY KEY(t, pid)
) WITHOUT ROWID;

-- frames with their strings resolved, for queries by hand.
CREATE VIEW frame_text AS
    SELECT f.id AS id, fn.text AS function, fl.text AS file, f.line AS line, src.text AS source
    FROM frames f
    JOIN strings fn ON fn.id = f.function
    JOIN strings fl ON fl.id = f.file
    LEFT JOIN strings src ON src.id = f.source;
