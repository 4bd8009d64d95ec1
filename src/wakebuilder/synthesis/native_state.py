"""Save and restore named static variables of a loaded shared library (ELF64, little endian).

libespeak-ng keeps its waveform generator's running state (pitch-flutter phase, wave phase,
echo buffer, resonators, Klatt filters) in static variables that no API call resets, so each
clip's audio depends on every clip spoken before it in the process. Restoring those
variables to their values just after ``espeak_Initialize`` makes every clip sound as if it
were the first one.
"""

from __future__ import annotations

import ctypes
import struct
from pathlib import Path

_SHT_SYMTAB = 2
_STT_OBJECT = 1


class _DlInfo(ctypes.Structure):
    _fields_ = [("fname", ctypes.c_char_p), ("fbase", ctypes.c_void_p),
                ("sname", ctypes.c_char_p), ("saddr", ctypes.c_void_p)]


def _object_symbols(path: Path) -> list[tuple[str, int, int]]:
    """``(name, offset, size)`` of every data object in the file's full symbol table."""
    data = path.read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return []
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize)
                for i in range(shnum)]
    found: list[tuple[str, int, int]] = []
    for sec in sections:
        if sec[1] != _SHT_SYMTAB:
            continue
        str_offset = sections[sec[6]][4]
        for off in range(sec[4], sec[4] + sec[5], 24):
            name_at, info, _, _, value, size = struct.unpack_from("<IBBHQQ", data, off)
            if info & 0xF != _STT_OBJECT or not size:
                continue
            start = str_offset + name_at
            found.append((data[start:data.index(b"\0", start)].decode(), value, size))
    return found


class StaticState:
    """A snapshot of some static variables of a loaded library, restorable at any time.

    ``names`` are global variable names, or ``function_static.`` (trailing dot) for a
    function's static variables, which the compiler names ``name.NNNN``.
    """

    def __init__(self, regions: list[tuple[int, bytes]], addresses: dict[str, int]) -> None:
        self._regions = regions
        self._addresses = addresses

    @classmethod
    def capture(cls, lib: ctypes.CDLL, path: Path, exported: str,
                names: tuple[str, ...]) -> StaticState | None:
        """Snapshot ``names`` of ``lib`` now; None when the library has no symbol table."""
        try:
            symbols = _object_symbols(path)
            libc = ctypes.CDLL(None)
        except (OSError, struct.error, ValueError, IndexError):
            return None
        info = _DlInfo()
        address = ctypes.cast(getattr(lib, exported), ctypes.c_void_p).value
        if not symbols or not libc.dladdr(ctypes.c_void_p(address), ctypes.byref(info)):
            return None
        base = int(info.fbase or 0)
        addresses: dict[str, int] = {}
        regions: list[tuple[int, bytes]] = []
        for symbol, offset, size in symbols:
            for n in names:
                if symbol == n or (n.endswith(".") and symbol.startswith(n)):
                    addresses.setdefault(n, base + offset)
                    regions.append((base + offset, ctypes.string_at(base + offset, size)))
                    break
        if set(addresses) != set(names):
            return None
        return cls(regions, addresses)

    def set_int(self, name: str, value: int) -> None:
        """Write the C ``int`` variable ``name`` (one of the captured names)."""
        ctypes.c_int.from_address(self._addresses[name]).value = value

    def restore(self) -> None:
        """Write the snapshot back (call only while no other thread uses the library)."""
        for address, saved in self._regions:
            ctypes.memmove(address, saved, len(saved))
