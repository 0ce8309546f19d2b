"""Shared helper for the golden generators: byte-reproducible safetensors fixtures."""
import json
import struct


def canonicalize_header(path):
    """Rewrite a safetensors header with sorted __metadata__ keys (same JSON, same length) so regeneration
    is byte-reproducible; safetensors writes metadata in arbitrary order. Tensor data is untouched."""
    with open(path, "r+b") as fh:
        n = struct.unpack("<Q", fh.read(8))[0]
        text = fh.read(n).decode("utf-8")
        pad = len(text) - len(text.rstrip(" "))
        hdr = json.loads(text)
        if "__metadata__" in hdr:
            hdr["__metadata__"] = dict(sorted(hdr["__metadata__"].items()))
        new = json.dumps(hdr, separators=(",", ":"), ensure_ascii=False).encode("utf-8") + b" " * pad
        assert len(new) == n, (len(new), n)
        fh.seek(8)
        fh.write(new)
