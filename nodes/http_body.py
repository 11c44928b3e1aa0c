"""What `net.http` makes of an answer's body, and whose cookies its requests carry.

* `content` is the body's exact bytes (after the Content-Encoding is undone); an encoding the
  client cannot undo fails the node (`undecodable_encoding`) instead of handing on still
  compressed bytes as if they were the body.
* `text` (`decode_text`) uses the charset the answer declares — the Content-Type header, else a
  byte-order mark, else for HTML/XML a `<meta charset>` or `<?xml encoding?>` in the first
  1024 bytes — else UTF-8, else windows-1252. Nothing is ever replaced by U+FFFD: a declared
  charset that is unknown or does not fit the bytes is noted (the node logs a warning) and the
  next rule is tried. A body that is neither valid UTF-8 nor declared text (an image, a zip)
  has `text` None. ISO-8859-1 and ASCII labels are read as windows-1252, their superset, as
  browsers do.
* `send` keeps each node's cookies in its own jar (`ctx.cookies`), across redirects too, unless
  the workflow shares one jar (`"settings": {"share_cookies": true}`, engine/executor.py).
docs/semantics.md states these rules with examples.
"""

from __future__ import annotations

import codecs
import functools
import importlib.util
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - httpx is imported where a request is made (nodes/http.py)
    import httpx

__all__ = ["decode_text", "send", "supported_encodings", "undecodable_encoding"]


@functools.cache
def supported_encodings() -> frozenset[str]:
    """What httpx undoes: gzip and deflate always, br and zstd when their packages are
    installed (brotli is a dependency of Flowloom)."""
    found = {"identity", "gzip", "deflate"}
    if importlib.util.find_spec("brotli") or importlib.util.find_spec("brotlicffi"):
        found.add("br")
    if importlib.util.find_spec("zstandard"):
        found.add("zstd")
    return frozenset(found)

_SNIFF_BYTES = 1024
_META = re.compile(rb"""<meta\s[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_XML_DECLARATION = re.compile(rb"""^\s*<\?xml\s[^>]*?encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""")
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))
_TEXT_APPLICATIONS = frozenset({"json", "xml", "javascript", "ecmascript", "x-javascript",
                                "x-www-form-urlencoded", "x-ndjson", "csv", "yaml", "x-yaml",
                                "graphql", "sql", "rtf", "x-sh", "toml"})
# The bytes 0x80-0x9f as windows-1252 reads them; the five it leaves undefined map to the C1
# control of the same number, as the WHATWG Encoding Standard has it.
_WINDOWS_1252 = {b: (bytes([b]).decode("cp1252", "ignore") or chr(b)) for b in range(0x80, 0xA0)}
_C1_TABLE = str.maketrans({chr(b): c for b, c in _WINDOWS_1252.items()})


def windows_1252(data: bytes) -> str:
    """`data` as windows-1252; every byte decodes, none becomes U+FFFD."""
    return data.decode("latin-1").translate(_C1_TABLE)


def _content_type(value: str | None) -> tuple[str | None, str | None]:
    """(media type, charset) of a Content-Type header value, each None if absent."""
    if not value:
        return None, None
    from email.message import Message  # (email, ~5 ms of imports, only once a body is read)

    message = Message()
    message["content-type"] = value
    charset = message.get_param("charset")
    if isinstance(charset, tuple):  # RFC 2231 form
        charset = charset[2]
    kind = message.get_content_type() if "/" in value else None
    return kind, (str(charset).strip().strip("'\"") or None) if charset else None


def _is_text(kind: str) -> bool:
    major, _, minor = kind.partition("/")
    return (major == "text" or minor.endswith(("+json", "+xml"))
            or (major == "application" and minor in _TEXT_APPLICATIONS))


def _declared(content: bytes, kind: str | None, charset: str | None) -> list[tuple[str, str]]:
    """The charsets the answer names, with where it names them, in the order they count."""
    found = []
    if charset:
        found.append((charset, "the Content-Type header"))
    for bom, codec in _BOMS:
        if content.startswith(bom):
            found.append((codec, "a byte-order mark"))
            break
    head = content[:_SNIFF_BYTES]
    markup = kind is None or "html" in kind or "xml" in kind
    if markup and head.lstrip()[:1] == b"<":
        xml = _XML_DECLARATION.match(head)
        meta = xml or _META.search(head)
        if meta is not None:
            where = "its <?xml?> declaration" if xml else "a <meta> charset"
            found.append((meta.group(1).decode("ascii"), where))
    return found


def _decode(content: bytes, label: str) -> str:
    name = codecs.lookup(label).name
    if name in ("latin-1", "iso8859-1", "ascii", "cp1252"):
        return windows_1252(content)
    return content.decode(name)


def decode_text(content: bytes, content_type: str | None) -> tuple[str | None, str | None]:
    """(text, note): the body as text by the rules above (None for a binary body), and a
    sentence when a declared charset could not be used."""
    if not content:
        return "", None
    kind, charset = _content_type(content_type)
    note = None
    for label, where in _declared(content, kind, charset):
        try:
            return _decode(content, label), note
        except LookupError:
            problem = f"names the unknown charset {label!r}"
        except UnicodeDecodeError as exc:
            problem = f"says {label}, but byte {exc.start} does not decode as {label}"
        note = note or f"{where} {problem}"
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        if kind is not None and not _is_text(kind):
            return None, note  # an image, a zip, ...: `content` has the bytes
        return windows_1252(content), (f"{note}; read as windows-1252" if note else None)
    return text, (f"{note}; read as UTF-8" if note else None)


def undecodable_encoding(response: httpx.Response) -> str | None:
    """The Content-Encoding the client cannot undo, or None."""
    if not response.content:
        return None
    codings = [c.strip().lower() for c in response.headers.get("content-encoding", "").split(",")]
    unknown = [c for c in codings if c and c not in supported_encodings()]
    return ", ".join(unknown) or None


async def send(ctx: Any, method: str, url: str, **options: Any) -> httpx.Response:
    """One request by the run's client, with this node's cookie jar (and redirects followed
    as the client would, so a cookie set by a redirect is sent on to its target)."""
    import httpx

    client: httpx.AsyncClient = ctx.http
    jar: httpx.Cookies = ctx.cookies
    if jar is client.cookies:  # the workflow shares one jar: the client keeps it
        return await client.request(method, url, **options)
    request = client.build_request(method, url, **options)
    hops = 0
    while True:
        jar.set_cookie_header(request)
        response = await client.send(request, follow_redirects=False)
        jar.extract_cookies(response)
        following = response.next_request
        if following is None or not client.follow_redirects:
            return response
        hops += 1
        if hops > client.max_redirects:
            await response.aclose()
            raise httpx.TooManyRedirects(f"more than {client.max_redirects} redirects",
                                         request=following)
        await response.aclose()
        request = following
