"""A log file opened for the scanner: what its first bytes are, and a reader of UTF-8 blocks.

A log may come as UTF-8 (a BOM is skipped), UTF-16 or UTF-32 (found by its BOM or its NUL pattern,
and transcoded: PowerShell's ``>`` writes UTF-16 LE), or gzip, bzip2 or xz (decompressed as it is
read). Binary data, an empty log and archives the standard library cannot read (zstd, zip, 7z) are
refused with one line and exit 2, after a bounded sniff of the first 64 KiB. A compressed log that
breaks off (still being written, a partial download) hands over what it decompressed, and says why
it stopped (:func:`broken_off`).
"""

from __future__ import annotations

import bz2
import codecs
import gzip
import lzma
from typing import BinaryIO, Protocol

from gpudiag.errors import EXIT_USAGE, GpudiagError

SNIFF_BYTES = 65536

_CONTROL = bytes(b for b in range(32) if b not in b"\t\n\r\f\v\x1b\x08\x07\x00") + b"\x7f"
COMPRESSED = {
    b"\x1f\x8b": "gzip",
    b"BZh": "bzip2",
    b"\xfd7zXZ\x00": "xz",
    b"\x28\xb5\x2f\xfd": "zstd",
    b"PK\x03\x04": "zip",
    b"7z\xbc\xaf\x27\x1c": "7z",
}


def sniff(block: bytes) -> str | None:
    """What the first bytes of a log are: None for 8-bit text (UTF-8, Latin-1), 'utf-8-sig',
    'utf-16'/'utf-16-le'/'utf-16-be', 'utf-32'/'utf-32-le'/'utf-32-be', a compression ('gzip',
    'bzip2', 'xz', 'zstd', 'zip', '7z'), or 'binary'."""
    head = block[:SNIFF_BYTES]
    for magic, name in COMPRESSED.items():
        if head.startswith(magic):
            return name
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    n = len(head)
    nuls = head.count(0)
    if nuls:
        quarter = max(1, n // 4)
        by4 = [head[i::4].count(0) / quarter for i in range(4)]
        if min(by4[1:]) > 0.7 and by4[0] < 0.1:
            return "utf-32-le"
        if min(by4[:3]) > 0.7 and by4[3] < 0.1:
            return "utf-32-be"
        half = max(1, n // 2)
        even, odd = head[0::2].count(0) / half, head[1::2].count(0) / half
        if odd > 0.4 and even < 0.05:
            return "utf-16-le"
        if even > 0.4 and odd < 0.05:
            return "utf-16-be"
        if nuls / n > 0.1:
            return "binary"
    control = n - len(head.translate(None, _CONTROL))
    if control > 0.05 * n:
        return "binary"
    invalid = decode(head).count("\ufffd")
    if invalid > 0.3 * n:
        return "binary"
    return None


class Reader(Protocol):
    def read(self, n: int, /) -> bytes: ...


class _Prefixed:
    """A stream whose first bytes were already read for sniffing."""

    def __init__(self, first: bytes, fh: Reader) -> None:
        self.first, self.fh, self.raw_bytes = first, fh, len(first)

    def read(self, n: int = -1) -> bytes:
        if self.first:
            if 0 <= n < len(self.first):
                out, self.first = self.first[:n], self.first[n:]
            else:
                out, self.first = self.first, b""
            return out
        data = self.fh.read(n)
        self.raw_bytes += len(data)
        return data


class _Transcoded:
    """A UTF-16/UTF-32 stream read as UTF-8 blocks (PowerShell's ``>`` writes UTF-16 LE with a BOM)."""

    def __init__(self, source, encoding: str) -> None:
        self.source = source
        self.decoder = codecs.getincrementaldecoder(encoding)(errors="replace")

    def read(self, n: int) -> bytes:
        raw = self.source.read(n)
        return self.decoder.decode(raw, final=not raw).encode("utf-8")


def _read_head(fh) -> bytes:
    head = fh.read(SNIFF_BYTES)
    while head and len(head) < SNIFF_BYTES:  # a pipe may hand over less than asked
        more = fh.read(SNIFF_BYTES - len(head))
        if not more:
            break
        head += more
    return head


class _Decompressed:
    """A decompressing reader that hands over what it decompressed before a truncated or corrupt stream
    broke off (``broken`` then says why) instead of losing it."""

    PIECE = 1 << 16

    def __init__(self, stream) -> None:
        self.stream = stream
        self.broken: str | None = None

    def read(self, n: int) -> bytes:
        if self.broken:
            return b""
        parts, got = [], 0
        while got < n:
            try:
                # read1: one decompressed block at a time, so a stream that breaks off loses nothing before it
                piece = self.stream.read1(min(self.PIECE, n - got))
            except (OSError, EOFError, lzma.LZMAError) as exc:
                self.broken = str(exc) or type(exc).__name__
                break
            if not piece:
                break
            parts.append(piece)
            got += len(piece)
        return b"".join(parts)


def open_log(fh: BinaryIO) -> tuple[Reader, _Prefixed, str, str | None]:
    """(a reader of UTF-8 blocks, the raw reader that counts the file's bytes, encoding, compression).

    Refuses, with one line and exit 2, an empty log, binary data and compressions the standard library
    cannot read; only the first 64 KiB are looked at before deciding.
    """
    head = _read_head(fh)
    if not head:
        raise GpudiagError("the log is empty: nothing to explain", EXIT_USAGE)
    raw = _Prefixed(head, fh)
    source, compression = raw, None
    kind = sniff(head)
    if kind in ("zstd", "zip", "7z"):
        how = {
            "zstd": "zstd -d FILE",
            "zip": "unzip FILE (a CI system's log archive holds one .txt per job)",
            "7z": "7z x FILE",
        }
        raise GpudiagError(
            f"the log is a {kind} archive, which gpudiag does not unpack: {how[kind]}, then pass the text log",
            EXIT_USAGE,
        )
    if kind in ("gzip", "bzip2", "xz"):
        opener = {"gzip": gzip.GzipFile, "bzip2": bz2.BZ2File, "xz": lzma.LZMAFile}[kind]
        compression = kind
        stream = _Decompressed(opener(fileobj=raw, mode="rb") if kind == "gzip" else opener(raw, mode="rb"))
        head = _read_head(stream)
        if not head:
            if stream.broken:
                raise GpudiagError(
                    f"the log starts like {kind} data but does not decompress ({stream.broken})", EXIT_USAGE
                )
            raise GpudiagError("the log is empty once decompressed: nothing to explain", EXIT_USAGE)
        source = _Prefixed(head, stream)
        kind = sniff(head)
        if kind in COMPRESSED.values():
            raise GpudiagError(
                f"the log is {compression} of {kind} data: decompress it and pass the text log", EXIT_USAGE
            )
    if kind == "binary":
        raise GpudiagError(
            "the log looks like binary data, not text (control or NUL bytes, or invalid UTF-8, in its first "
            "64 KiB); pass a text log (UTF-8, UTF-16 or UTF-32, optionally gzip/bzip2/xz-compressed)",
            EXIT_USAGE,
        )
    encoding = "utf-8" if kind is None else kind
    if kind == "utf-8-sig":
        source.first = source.first[len(codecs.BOM_UTF8) :] if isinstance(source, _Prefixed) else source.first
        encoding = "utf-8"
    elif kind is not None:
        return _Transcoded(source, kind), raw, kind, compression
    return source, raw, encoding, compression


def broken_off(source: Reader) -> str | None:
    """Why the compressed stream under a reader from :func:`open_log` broke off before its end (None
    when it did not, or the log is not compressed)."""
    stream = getattr(source, "fh", None) or getattr(getattr(source, "source", None), "fh", None)
    return stream.broken if isinstance(stream, _Decompressed) else None


def decode(raw: bytes) -> str:
    """A line's bytes as text: the reader hands over UTF-8, and a byte that is not becomes U+FFFD."""
    return raw.decode("utf-8", errors="replace")
