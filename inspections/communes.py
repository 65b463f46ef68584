"""The commune (xã, phường, thị trấn, đặc khu: the level under the province since 01/07/2025) read from an address
as Vietnamese addresses write it: "Số 5 Lê Lợi, Phường Phố Hiến, tỉnh Hưng Yên" → "Phường Phố Hiến"."""

import re
import unicodedata

_PREFIXES = (("thị trấn", "Thị trấn"), ("đặc khu", "Đặc khu"), ("phường", "Phường"), ("xã", "Xã"),
             ("tt.", "Thị trấn"), ("p.", "Phường"), ("x.", "Xã"))
_PART = re.compile(r"^(?P<prefix>thị trấn|đặc khu|phường|xã|tt\.|p\.|x\.)\s*(?P<name>\S.*)$", re.IGNORECASE)


def commune_from_address(address: str) -> str:
    """The first comma-separated part of `address` that names a commune, with its kind spelled out; "" if none."""
    text = unicodedata.normalize("NFC", address or "")
    for part in re.split(r"[,;]", text):
        match = _PART.match(" ".join(part.split()))
        if not match:
            continue
        prefix = match.group("prefix").casefold()
        name = match.group("name").strip(" .")
        if name:
            return f"{dict(_PREFIXES)[prefix]} {name}"[:100]
    return ""
