"""Reaching into a running Python process for ``heapmark attach``: what the
process is (inspect), and running a piece of Python inside it with gdb
(inject).

The injection stops the process with ptrace (gdb -p) for as short a time as
it can and runs the code at a point where CPython allows any Python code to
run:

- when the main thread is waiting in a system call without the GIL (sleep,
  I/O, select; not a lock, see SYSCALL_CHECKS), as most idle or I/O-bound
  programs are, the code runs there and then: PyGILState_Ensure(),
  PyRun_SimpleString(), PyGILState_Release(), which is what another thread
  taking the GIL at that moment could do;
- otherwise the thread may be anywhere, inside malloc or half-way through
  changing an object, where running code would corrupt the process, so the
  code is queued with Py_AddPendingCall(), which the interpreter runs itself
  between two bytecodes, and gdb detaches at once.

gdb allocates nothing in the process (it would call the process's malloc at
that arbitrary point): the code goes into a page of its own mapped with
mmap (a plain system call) and filled with gdb's ``restore``.  A page run
there and then is unmapped before gdb detaches; a queued one is unmapped by
the next injection (HEAPMARK_UNMAP), or stays (a few KiB).
"""

import os
import platform
import re
import shutil
import subprocess
import tempfile

from heapmark.cli.common import UsageError, env_name

SUPPORTED = ((3, 9), (3, 13))

# System calls after which running code could deadlock the process:
# - futex: a thread waiting on a lock may be inside the GIL's own protocol
#   (take_gil sets the GIL taken before the thread state is current, then
#   signals a condition: PyGILState_Check says 0, and a nested
#   PyGILState_Ensure would wait for the thread itself), or may hold another
#   lock the code needs;
# - the calls glibc's malloc makes while holding an arena lock (mmap,
#   mprotect, munmap, brk, mremap, madvise): code that allocates would wait
#   for the lock the thread holds.
# A thread stopped in one of them gets the queued route.  {machine:
# (register of the call's number, the instruction that enters the kernel,
# its length, its encoding, numbers)}
SYSCALL_CHECKS = {
    "x86_64": ("$orig_rax", "unsigned short", 2, 0x050F, (202, 9, 10, 11, 12, 25, 28)),
    "aarch64": ("$x8", "unsigned int", 4, 0xD4000001, (98, 222, 226, 215, 214, 216, 233)),
}

CAP_SYS_PTRACE = 19


class InjectionError(Exception):
    """The injection did not happen: the process is left as it was."""


def system_path(path):
    """path (absolute) under $HEAPMARK_ROOT when the tests set it."""
    root = os.environ.get(env_name("ROOT"))
    return os.path.join(root, path.lstrip("/")) if root else path


def read_text(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


# ---- what the process is ---------------------------------------------------


class Target:
    """The process to attach to, as /proc describes it."""

    def __init__(self, pid):
        self.pid = pid
        status = read_text("/proc/%d/status" % pid)
        if status is None:
            raise UsageError("no process %d (no /proc/%d)" % (pid, pid))
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        self.name = fields.get("Name", "?").strip()
        self.uid = int(fields.get("Uid", "0").split()[0])
        self.gid = int(fields.get("Gid", "0").split()[0])
        self.tracer = int(fields.get("TracerPid", "0").strip() or 0)
        self.start_time = self._start_time()
        try:
            self.executable = os.readlink("/proc/%d/exe" % pid)
        except OSError:
            self.executable = None
        self.version = None  # (major, minor) when the names tell it
        self.python = False
        self._inspect()

    def _start_time(self):
        stat = read_text("/proc/%d/stat" % self.pid) or ""
        fields = stat.rpartition(")")[2].split()
        return fields[19] if len(fields) > 19 else None

    def alive(self):
        """Still running, and the same process (not a new one with its pid)."""
        state = read_text("/proc/%d/stat" % self.pid)
        if state is None or state.rpartition(")")[2].split()[:1] == ["Z"]:
            return False
        return self._start_time() == self.start_time

    def _inspect(self):
        """Python or not, and which version, from the executable's and the
        loaded libraries' names, else from CPython's API among their symbols."""
        maps = read_text("/proc/%d/maps" % self.pid) or ""
        objects = []
        for line in maps.splitlines():
            parts = line.split(None, 5)
            if len(parts) == 6 and parts[5].startswith("/") and parts[5] not in objects:
                objects.append(parts[5])
        if self.executable and self.executable not in objects:
            objects.insert(0, self.executable)
        for path in objects:
            found = re.search(r"(?:^|/)(?:lib)?python(\d)\.(\d+)[^/]*$", path)
            if found and (path == self.executable or "/lib" in path):
                self.python = True
                self.version = (int(found.group(1)), int(found.group(2)))
                return
        # An embedding program, or a renamed interpreter: CPython's API among
        # the symbols of what it loaded.
        for path in objects:
            if "/libc." in path or "/ld-linux" in path:
                continue
            if _holds_symbol(path, b"\0PyGILState_Ensure\0"):
                self.python = True
                return

    def describe(self):
        return "%s (%s)" % (self.pid, self.executable or self.name)


def _holds_symbol(path, needle, chunk=1 << 20):
    try:
        with open(path, "rb") as f:
            tail = b""
            while True:
                block = f.read(chunk)
                if not block:
                    return False
                if needle in tail + block:
                    return True
                tail = block[-len(needle) :]
    except OSError:
        return False


def check_target(target):
    """Refuses, in one line, a process heapmark cannot attach to."""
    if not target.alive():
        raise UsageError("process %d has ended (its parent has not reaped it yet)" % target.pid)
    if target.uid != os.getuid() and os.geteuid() != 0:
        raise UsageError(
            "process %d belongs to another user (uid %d): attach as that user or as root"
            % (target.pid, target.uid)
        )
    if not target.python:
        raise UsageError(
            "process %s is not a Python process: neither it nor its libraries hold "
            "CPython's API" % target.describe()
        )
    if target.version is not None and not SUPPORTED[0] <= target.version <= SUPPORTED[1]:
        raise UsageError(
            "process %s runs Python %d.%d; heapmark supports CPython %d.%d to %d.%d"
            % ((target.describe(),) + target.version + SUPPORTED[0] + SUPPORTED[1])
        )
    if target.tracer:
        raise UsageError(
            "process %d is being traced already by process %d (a debugger?): "
            "a process has one tracer at a time" % (target.pid, target.tracer)
        )


def find_gdb():
    gdb = shutil.which("gdb")
    if gdb is None:
        raise UsageError(
            "heapmark attach needs gdb to reach into the process: install it "
            "(on Debian: apt-get install gdb)"
        )
    return gdb


def ptrace_advice(target):
    """Why the kernel refused ptrace, and what to do, in one sentence."""
    path = "/proc/sys/kernel/yama/ptrace_scope"
    scope = (read_text(system_path(path)) or "").strip()
    if scope == "1":
        return (
            "kernel.yama.ptrace_scope is 1 (a process may only be traced by its "
            "parent): allow it with 'sysctl kernel.yama.ptrace_scope=0' (as root), "
            "or run heapmark attach as root"
        )
    if scope == "2":
        return (
            "kernel.yama.ptrace_scope is 2 (only a process with CAP_SYS_PTRACE may "
            "trace): run heapmark attach as root, or set "
            "'sysctl kernel.yama.ptrace_scope=0'"
        )
    if scope == "3":
        return "kernel.yama.ptrace_scope is 3 (no process may be traced until the machine restarts)"
    status = read_text("/proc/self/status") or ""
    found = re.search(r"^CapEff:\s*([0-9a-f]+)", status, re.M)
    if found and not int(found.group(1), 16) >> CAP_SYS_PTRACE & 1 and os.geteuid() == 0:
        return (
            "this root has no CAP_SYS_PTRACE: in a container, start it with "
            "--cap-add=SYS_PTRACE (docker, podman)"
        )
    return (
        "kernel.yama.ptrace_scope is %s; in a container, start it with "
        "--cap-add=SYS_PTRACE, or the process may be marked not dumpable"
        % (scope or "not set (no Yama)")
    )


# ---- running code inside it ------------------------------------------------

# What the page holds: an expression statement, so that nothing is bound in
# __main__ (PyRun_SimpleString runs there); it never raises (a queued call
# that returned an error would raise SystemError in the program).
PAGE_CODE = """\
try:
    exec(compile(%r, "<heapmark attach>", "exec"), {})
except BaseException:
    pass
"""

GDB_SCRIPT = """\
set $page = (void *) mmap(0, {size}, 3, 0x22, -1, 0)
printf "HEAPMARK-PAGE %lu {size}\\n", (unsigned long) $page
restore {code} binary $page
{unmap}
set $held = (int) PyGILState_Check()
set $entry = (unsigned long) *({insn_type} *) ($pc - {insn_len})
set $blocked = $held == 0 && $entry == {insn} && {not_malloc}
if $blocked
  set $gil = (int) PyGILState_Ensure()
  set $ran = (int) PyRun_SimpleString((char *) $page)
  call (void) PyGILState_Release($gil)
  set $gone = (int) munmap($page, {size})
  printf "HEAPMARK-RAN %d\\n", $ran
else
  set $queued = (int) Py_AddPendingCall((int (*)(void *)) PyRun_SimpleString, $page)
  printf "HEAPMARK-QUEUED %d\\n", $queued
end
"""


class Injection:
    """One run of code inside the process: how it went."""

    def __init__(self):
        self.route = None  # "ran" (there and then) or "queued" (Py_AddPendingCall)
        self.page = None  # (address, size) of the page, left mapped when queued


def inject(gdb, target, source, unmap=None):
    """Runs source (Python) inside the process, after unmapping the page
    unmap=(address, size) of an earlier queued injection.  Returns the
    Injection; raises InjectionError (nothing done) or UsageError (ptrace
    refused)."""
    machine = platform.machine()
    check = SYSCALL_CHECKS.get(machine)
    if check is None:
        # Unknown instruction set: always queue, which is safe anywhere.
        insn_type, insn_len, insn, not_malloc = "unsigned char", 1, -1, "0"
    else:
        register, insn_type, insn_len, insn, numbers = check
        not_malloc = " && ".join("%s != %d" % (register, n) for n in numbers)
    code = (PAGE_CODE % source).encode() + b"\0"
    size = (len(code) + 4095) // 4096 * 4096
    with tempfile.TemporaryDirectory(prefix="heapmark-gdb-") as work:
        code_path = os.path.join(work, "code")
        with open(code_path, "wb") as f:
            f.write(code)
        script = os.path.join(work, "inject.gdb")
        with open(script, "w") as f:
            f.write(
                GDB_SCRIPT.format(
                    size=size,
                    code=code_path,
                    unmap="call (int) munmap(%d, %d)" % unmap if unmap else "",
                    insn_type=insn_type,
                    insn_len=insn_len,
                    insn=insn,
                    not_malloc=not_malloc,
                )
            )
        command = [
            gdb,
            "-batch",
            "-nx",
            # Symbol names are all it needs (every call is cast): no debug
            # information, no scripts, no network, no thread library, so
            # that the process is stopped for as short a time as possible.
            "--readnever",
            "-iex",
            "set debuginfod enabled off",
            "-iex",
            "set auto-load off",
            "-iex",
            "set libthread-db-search-path /nonexistent",
            "-iex",
            "set confirm off",
            "-p",
            str(target.pid),
            "-x",
            script,
        ]
        return _run_gdb(command, target)


def _run_gdb(command, target):
    injection = Injection()
    # Its own session: a Ctrl-C meant for heapmark attach must not reach gdb
    # while the process runs code for it.
    proc = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    lines = []
    for raw in proc.stdout:
        line = raw.decode(errors="replace").rstrip("\n")
        lines.append(line)
        if line.startswith("HEAPMARK-PAGE "):
            injection.page = tuple(int(word) for word in line.split()[1:3])
        elif line.startswith("HEAPMARK-RAN "):
            injection.route = "ran"
        elif line.startswith("HEAPMARK-QUEUED "):
            injection.route = "queued" if line.split()[1] == "0" else None
    proc.wait()
    text = "\n".join(lines)
    if "ptrace: Operation not permitted" in text:
        raise UsageError(
            "cannot attach to process %d: the kernel does not permit ptrace: %s"
            % (target.pid, ptrace_advice(target))
        )
    if "ptrace: No such process" in text:
        raise InjectionError("process %d ended before gdb could attach" % target.pid)
    if injection.route is None:
        detail = [line for line in lines if line and not line.startswith("HEAPMARK-")]
        missing = re.search(r'No symbol "(\w+)" in current context', text)
        if missing:
            raise InjectionError(
                "gdb found no %s in process %s: a CPython without its dynamic symbols?"
                % (missing.group(1), target.describe())
            )
        raise InjectionError(
            "gdb could not run code in process %d: %s"
            % (target.pid, detail[-1] if detail else "gdb exited %d" % proc.returncode)
        )
    return injection
