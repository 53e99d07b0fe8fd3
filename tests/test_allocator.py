"""--keep_freed_memory: large blocks come from malloc's heap and stay there when freed (glibc only)."""

import subprocess
import sys

import pytest
from conftest import DATA, run_script

from bertft_utils.runtime.allocator import glibc

pytestmark = pytest.mark.skipif(glibc() is None, reason="glibc's malloc settings only")

PROBE = """
import ctypes, sys
from bertft_utils.runtime.allocator import keep_freed_memory

class Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = Mallinfo2
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
if sys.argv[1] == "keep":
    assert keep_freed_memory()
size = 64 * 2**20
block = libc.malloc(size)
mapped = libc.mallinfo2().hblkhd  # bytes in blocks mmap'd on their own
libc.free(block)
print(mapped >= size, libc.mallinfo2().fordblks >= size)  # mmap'd alone?  kept in the heap after free?
"""


@pytest.mark.parametrize(("mode", "expected"), [("default", "True False"), ("keep", "False True")])
def test_a_large_block_is_kept_for_reuse_only_when_asked(mode, expected):
    process = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True)
    assert process.stdout.split("\n")[0] == expected


def test_scripts_keep_freed_memory_unless_told_not_to(tiny_models, tmp_path):
    args = ["--model_name_or_path", str(tiny_models["bert"]), "--train_file",
            str(DATA / "sarcasm_headlines_sample.jsonl"), "--text_column_name", "headline", "--label_column_name",
            "is_sarcastic", "--do_train", "--max_steps", "1", "--max_train_samples", "16", "--save_strategy", "no",
            "--no_auto_bf16"]
    kept = run_script("run_classify.py", *args, "--output_dir", str(tmp_path / "kept"))
    assert "Freed memory is kept for reuse by this process" in kept.stdout + kept.stderr
    left = run_script("run_classify.py", *args, "--keep_freed_memory", "false", "--output_dir", str(tmp_path / "left"))
    assert "Freed memory is kept" not in left.stdout + left.stderr


RELEASE_PROBE = """
import ctypes, os
from bertft_utils.runtime.allocator import keep_freed_memory, release_freed_memory

def resident() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
assert keep_freed_memory()
size = 64 * 2**20
block = libc.malloc(size)
ctypes.memset(block, 1, size)
libc.free(block)
kept = resident()
assert release_freed_memory()
print(kept - resident() >= size // 2)
"""


def test_freed_memory_kept_for_reuse_is_handed_back_between_pieces():
    """A file predicted piece by piece hands back what each piece took (with keep_freed_memory the heap only grows)."""
    process = subprocess.run([sys.executable, "-c", RELEASE_PROBE], capture_output=True, text=True, check=True)
    assert process.stdout.split("\n")[0] == "True"
