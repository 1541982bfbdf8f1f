"""Bytes -> text: refuse binary and oversized input, strip BOMs, find the encoding.

UTF-8 is tried first (it is what almost every input is); UTF-8 with stray
legacy bytes is read as UTF-8 with those bytes as Windows-1252 (``mixed_utf8``);
anything else goes to charset-normalizer. NUL bytes and other control
characters, lone surrogates and stray byte-order marks never reach the text
(``clean_text``, which the cleaner applies to documents from anywhere).
"""
from __future__ import annotations

import codecs
import re
from typing import Any

from incidex.records import InputError

SAMPLE_BYTES = 8192

# Known file signatures: binary formats people drop into a folder by mistake.
MAGIC_NUMBERS: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "PDF document"),
    (b"PK\x03\x04", "ZIP archive or office document"),
    (b"PK\x05\x06", "ZIP archive"),
    (b"\x1f\x8b", "gzip archive"),
    (b"BZh", "bzip2 archive"),
    (b"\xfd7zXZ\x00", "xz archive"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),
    (b"Rar!\x1a\x07", "RAR archive"),
    (b"\x28\xb5\x2f\xfd", "zstd archive"),
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"),
    (b"RIFF", "RIFF media file"),
    (b"OggS", "Ogg media file"),
    (b"ID3", "MP3 audio"),
    (b"fLaC", "FLAC audio"),
    (b"\x7fELF", "ELF executable"),
    (b"\xca\xfe\xba\xbe", "Java class or Mach-O file"),
    (b"\xcf\xfa\xed\xfe", "Mach-O executable"),
    (b"SQLite format 3\x00", "SQLite database"),
    (b"\x00asm", "WebAssembly module"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "legacy Office document"),
    (b"wOFF", "web font"),
    (b"wOF2", "web font"),
)

BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# C0 controls other than tab, newline, vertical tab, form feed, carriage return, escape; plus DEL.
_CONTROL = frozenset(set(range(0, 9)) | {14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 28, 29, 30, 31, 127})
_CONTROL_BYTES = bytes(sorted(_CONTROL))
# Never text: NUL and the other C0 controls but tab and line ends, DEL, lone surrogates, stray
# byte-order marks, the non-characters U+FFFE/U+FFFF (lxml refuses a tree holding any of them).
_BAD_CHARS = re.compile("[\x00-\x08\x0e-\x1f\x7f\ud800-\udfff\ufeff\ufffe\uffff]")
_LINE_ENDS = str.maketrans({"\x0b": "\n", "\x0c": "\n"})  # vertical tab, form feed: a line break


def human_size(n: int) -> str:
    """10_000_000 -> '10 MB', 2_500 -> '2.5 kB', 900 -> '900 bytes'."""
    if n >= 1_000_000:
        return f"{n / 1_000_000:g} MB"
    if n >= 1_000:
        return f"{n / 1_000:g} kB"
    return f"{n} bytes"


def too_large(limit: int) -> str:
    return f"larger than the {human_size(limit)} limit (max_input_bytes)"


def _limits(settings: dict[str, Any] | None) -> tuple[int, float, float]:
    ing = (settings or {}).get("ingest", {})
    return (int(ing.get("max_input_bytes", 10_000_000)),
            float(ing.get("binary_control_ratio", 0.02)),
            float(ing.get("binary_nul_ratio", 0.001)))


def binary_reason(data: bytes, *, control_ratio: float = 0.02, nul_ratio: float = 0.001) -> str | None:
    """Why ``data`` looks binary, or None when it looks like text.

    Input that starts with a UTF-16/32 byte-order mark is text even though it holds NUL bytes.
    """
    if any(data.startswith(bom) for bom, enc in BOMS if enc != "utf-8"):
        return None
    for magic, name in MAGIC_NUMBERS:
        if data.startswith(magic):
            return f"binary file ({name})"
    sample = data[:SAMPLE_BYTES]
    if not sample:
        return None
    nuls = sample.count(0)
    if nuls > 1 and nuls / len(sample) > nul_ratio:  # one stray NUL is removed, not fatal
        return "binary file (NUL bytes)"
    controls = len(sample) - len(sample.translate(None, _CONTROL_BYTES))  # counted in C, not per byte
    if controls / len(sample) > control_ratio:
        return "binary file (control characters)"
    return None


def decode_bytes(data: bytes, origin: str, settings: dict[str, Any] | None = None,
                 *, what: str = "file") -> str:
    """Decode one input; raise ``InputError(origin, reason)`` when it cannot be text.

    ``what`` names the input in messages ("file", "response", "line").
    """
    max_bytes, control_ratio, nul_ratio = _limits(settings)
    if len(data) > max_bytes:
        raise InputError(origin, too_large(max_bytes))
    if not data.strip():
        raise InputError(origin, f"empty {what}" if not data else f"empty {what} (only whitespace)")
    reason = binary_reason(data, control_ratio=control_ratio, nul_ratio=nul_ratio)
    if reason:
        raise InputError(origin, reason if what == "file" else reason.replace("file", what, 1))

    text: str | None = None
    for bom, enc in BOMS:
        if data.startswith(bom):
            try:
                text = data[len(bom):].decode(enc)
            except UnicodeDecodeError as exc:
                raise InputError(origin, f"starts with a {enc} byte-order mark but is not valid {enc}: {exc.reason}") from None
            break
    if text is None:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = mixed_utf8(data) or _detect(data)
            if text is None:
                raise InputError(origin, "could not detect the text encoding (not UTF-8, and charset detection failed)") from None
    text = clean_text(text)
    if not text.strip():
        raise InputError(origin, f"empty {what} (only whitespace)")
    return text


_ESCAPED = re.compile("[\udc80-\udcff]")
# A byte that is not UTF-8, read as Windows-1252 (Latin-1 where 1252 has a hole).
_LEGACY = {0xDC00 + b: bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in range(0x80, 0x100)}


def mixed_utf8(data: bytes) -> str | None:
    """UTF-8 text with stray legacy bytes (a Windows-1252 quote pasted into a UTF-8
    page), or None when the bytes are mostly another encoding.

    Mixed when there are valid multi-byte UTF-8 characters and at least one for
    every 20 invalid bytes (in text of a legacy encoding, valid UTF-8 sequences
    occur by accident about once in thousands of bytes): the invalid bytes are
    then read as Windows-1252, one by one, and the UTF-8 text around them is kept
    as it is (charset detection on the whole would turn every UTF-8 character
    into two or three wrong ones).
    """
    s = data.decode("utf-8", errors="surrogateescape")
    invalid = len(_ESCAPED.findall(s))
    valid = len(s) - len(s.encode("ascii", errors="ignore")) - invalid
    if valid == 0 or valid * 20 < invalid:
        return None
    return _ESCAPED.sub(lambda m: _LEGACY[ord(m.group())], s)


def _detect(data: bytes) -> str | None:
    from charset_normalizer import from_bytes

    results = from_bytes(data)
    best = results.best()
    if best is None:
        return None
    # On short texts several single-byte code pages fit equally well (cp1250 reads
    # Latin-1 'à' as 'ŕ'); among the equally good ones prefer Windows-1252 / Latin-1,
    # by far the most common legacy encoding of Western news text.
    for m in results:
        if m.chaos <= best.chaos + 0.01 and m.coherence >= best.coherence - 0.1 \
                and ("cp1252" in m.could_be_from_charset or "latin_1" in m.could_be_from_charset):
            return str(m)
    return str(best)


def clean_text(text: str) -> str:
    """Apply the same character hygiene to text that did not come from bytes (JSON strings)."""
    return _BAD_CHARS.sub("", text).replace("\r\n", "\n").replace("\r", "\n").translate(_LINE_ENDS)


def printable(s: str | None) -> str | None:
    """An identifier (a file name, an id) that can be stored and printed: undecodable
    bytes of a file name and lone surrogates become U+FFFD."""
    if s is None or s.isascii():
        return s
    try:  # a file name's undecodable bytes (U+DC80-U+DCFF) become one U+FFFD each
        return s.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return s.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
