"""Tor artefacts: torrc directives and hidden services, onion addresses, key files.

Why each rule:
* A file is parsed as a torrc only when it is one: named `torrc*`, placed in `/etc/tor/`, a
  `*.conf` under a `torrc.d` directory, or (windows up to 1 MiB) text whose uncommented lines
  are mostly tor options (at least `MIN_KEYWORDS` distinct ones, and at least
  `MIN_OPTION_SHARE` of the lines that are neither blank nor comments). Prose never reaches
  that density: a changelog, a manual or a mail server's configuration has lines that begin
  with `User`, `Address` or `Log`, among many more that do not (1.2.0; before, three such
  lines anywhere in the window were enough, and package changelogs became torrcs).
* Parsing follows tor's config reader: keywords case-insensitive after leading whitespace,
  `#` comments, C-style quoted values, a trailing backslash continues the line, `%include`
  is a directive, each `HiddenServicePort` belongs to the `HiddenServiceDir` before it.
  Commented-out known options are reported with active=False (they show intent), and so is
  everything in sample/example configs (`*.sample*`, `*.example*`, `*.in`, `*.in-staging`)
  and in a package's defaults file (tor's `--defaults-torrc`, e.g. Debian's
  `tor-service-defaults-torrc`): the vendor's defaults are not the operator's configuration.
* Onion addresses anywhere: v3 (56 base32 chars) is `valid` when its checksum matches
  (rend-spec-v3: base32(pubkey || sha3_256(".onion checksum" || pubkey || 0x03)[:2] || 0x03)),
  v2 (16 chars) by format only.
* Hidden-service files by name. Secret key files (`hs_ed25519_secret_key`, v2 `private_key`,
  relay `secret_id_key`, ...) are recorded as existing with their type only: no secret byte
  and nothing derived from one ever enters a finding.
"""
from __future__ import annotations

import base64
import hashlib
import posixpath
import re
from dataclasses import dataclass, field
from typing import Iterator

from extractors._text import LineCounter, View, views
from extractors.base import Extractor, Finding, Source

NAME = "tor"
VERSION = "1.2.0"
MIN_KEYWORDS = 3
MIN_OPTION_SHARE = 0.5
CONTENT_SNIFF_MAX = 1 << 20

KEYWORDS = frozenset(k.lower() for k in """
SocksPort SocksPolicy SocksListenAddress ORPort ORListenAddress DirPort DirListenAddress ControlPort
ControlSocket ControlListenAddress HashedControlPassword CookieAuthentication CookieAuthFile DataDirectory
Log RunAsDaemon User Nickname ContactInfo Address OutboundBindAddress ExitPolicy ExitRelay ExitNodes
EntryNodes ExcludeNodes ExcludeExitNodes StrictNodes HiddenServiceDir HiddenServicePort HiddenServiceVersion
HiddenServiceAuthorizeClient HiddenServiceMaxStreams HiddenServiceNonAnonymousMode HiddenServiceSingleHopMode
HiddenServiceEnableIntroDoSDefense HiddenServiceNumIntroductionPoints HiddenServiceOnionBalanceInstance
HiddenServiceExportCircuitID HiddenServiceAllowUnknownPorts HiddenServiceDirGroupReadable
ClientOnionAuthDir UseBridges Bridge ClientTransportPlugin ServerTransportPlugin ServerTransportListenAddr
BridgeRelay PublishServerDescriptor RelayBandwidthRate RelayBandwidthBurst AccountingMax AccountingStart
AccountingRule MaxAdvertisedBandwidth BandwidthRate BandwidthBurst MyFamily DNSPort DnsPort TransPort
NATDPort HTTPTunnelPort HTTPProxy HTTPProxyAuthenticator HTTPSProxy HTTPSProxyAuthenticator Socks4Proxy
Socks5Proxy Socks5ProxyUsername Socks5ProxyPassword ReachableAddresses ReachableDirAddresses
ReachableORAddresses FascistFirewall FirewallPorts AutomapHostsOnResolve AutomapHostsSuffixes
VirtualAddrNetworkIPv4 VirtualAddrNetworkIPv6 DisableNetwork GeoIPFile GeoIPv6File SafeLogging
AvoidDiskWrites ClientOnly ConnectionPadding Sandbox NumCPUs DisableDebuggerAttachment
MapAddress TrackHostExits ExitPortStatistics KeepalivePeriod LongLivedPorts NewCircuitPeriod
MaxCircuitDirtiness IsolateDestAddr EnforceDistinctSubnets UseEntryGuards NumEntryGuards PidFile
ControlPortWriteToFile ControlPortFileGroupReadable CacheDirectory KeyDirectory DormantCanceledByStartup
ClientUseIPv6 ClientPreferIPv6ORPort IPv6Exit ExitPolicyRejectPrivate ServerDNSResolvConfFile
""".split())
_HEADER = re.compile(rb"== ed25519v1-(public|secret): (type0) ==\x00\x00\x00")
_V3_PUB_HEADER = b"== ed25519v1-public: type0 ==\x00\x00\x00"
_SECRET_FILES = frozenset(
    "hs_ed25519_secret_key private_key secret_id_key secret_onion_key secret_onion_key_ntor "
    "ed25519_master_id_secret_key ed25519_signing_secret_key secret_onion_key.old "
    "secret_onion_key_ntor.old".split()
)
# `.` first and case-insensitive only after it: a pattern led by a literal is scanned for in C.
_ONION = re.compile(rb"\.(?i:onion)(?![A-Za-z0-9\-])")
_ONION_HOST = re.compile(rb"(?:[A-Za-z2-7]{56}|[A-Za-z2-7]{16})\Z")
_B32 = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
# The first word of a line (after blanks and one `#`). Led by the newline, so `re` scans for
# it in C instead of trying `(?m)^` at every byte; the window's first line is matched alone.
_LINE_WORD = rb"[ \t]*#?[ \t]*([A-Za-z][A-Za-z0-9]{2,40})[ \t]"
_LINE_KW_FIRST = re.compile(_LINE_WORD)
_LINE_KW_NEXT = re.compile(rb"\n" + _LINE_WORD)
_SAMPLE = re.compile(r"\.sample|\.example|\.in(?:-|$)|-staging$|defaults", re.IGNORECASE)
_FINGERPRINT_FILE = re.compile(rb"([A-Za-z0-9]{1,19}) ([0-9A-F]{40})\r?\n?\Z")


@dataclass(frozen=True, slots=True)
class TorFinding(Finding):
    kind: str  # directive, hidden_service, onion, key_file, relay_identity
    name: str  # option keyword, file name, or "onion"
    value: str  # option value, HS directory, onion address, key type or fingerprint
    onion: str | None
    valid: bool | None  # onion checksum (v3) / format (v2); None when not about an onion
    active: bool | None  # False for commented lines and sample configs
    hs_dir: str | None
    ports: list[str] = field(default_factory=list)
    line_no: int | None = None


def onion_valid(host: str) -> bool:
    """Format (v2) or checksum (v3, rend-spec-v3 section 6) of `xxx.onion` or `xxx`."""
    label = host.lower().removesuffix(".onion")
    if len(label) == 16:
        return all(c in "abcdefghijklmnopqrstuvwxyz234567" for c in label)
    if len(label) != 56:
        return False
    try:
        raw = base64.b32decode(label.upper())
    except ValueError:
        return False
    pub, checksum, version = raw[:32], raw[32:34], raw[34:]
    return version == b"\x03" and hashlib.sha3_256(b".onion checksum" + pub + b"\x03").digest()[:2] == checksum


def onion_from_pubkey(pub: bytes) -> str:
    """The v3 onion address of a 32-byte ed25519 public key."""
    checksum = hashlib.sha3_256(b".onion checksum" + pub + b"\x03").digest()[:2]
    return base64.b32encode(pub + checksum + b"\x03").decode("ascii").lower() + ".onion"


def _onions(view: View, lines: LineCounter, hs_dir: str | None, name: str) -> Iterator[TorFinding]:
    text = view.text
    for m in _ONION.finditer(text):
        h = _ONION_HOST.search(text, max(0, m.start() - 56), m.start()) or _ONION_HOST.search(
            text, max(0, m.start() - 16), m.start())
        if h is None or (h.start() > 0 and text[h.start() - 1] in _B32):
            continue
        host = text[h.start():m.end()].decode("ascii")
        off = view.offset(h.start())
        yield TorFinding(off, "onion", name, host, host.lower(), onion_valid(host), None, hs_dir, [], lines.line_at(off))


def _is_torrc(source: Source, data: bytes) -> bool:
    name = (source.name or "").lower()
    path = (source.path or "").lower()
    if name.startswith("torrc") or (name.endswith(".conf") and "/torrc.d/" in f"/{path}"):
        return True
    if posixpath.dirname("/" + path.lstrip("/")) == "/etc/tor" and source.member is None:
        return True
    if len(data) > CONTENT_SNIFF_MAX or len(line_keywords(data)) < MIN_KEYWORDS:
        return False
    return options_dominate(data)


def options_dominate(data: bytes) -> bool:
    """True when tor options are at least `MIN_OPTION_SHARE` of the uncommented lines and
    `MIN_KEYWORDS` distinct options occur among them (what a torrc has and prose never does)."""
    lines = options = 0
    seen: set[bytes] = set()
    for raw in data.splitlines():
        line = raw.strip()
        if not line or line.startswith(b"#"):
            continue
        lines += 1
        word = line.split(None, 1)[0].lower()
        if word == b"%include" or word.decode("ascii", "replace") in KEYWORDS:
            options += 1
            seen.add(word)
    return len(seen) >= MIN_KEYWORDS and options >= MIN_OPTION_SHARE * lines


def line_keywords(data: bytes) -> set[str]:
    """The torrc keywords that begin a line of `data`, lower-cased."""
    words = set(_LINE_KW_NEXT.findall(data))
    first = _LINE_KW_FIRST.match(data)
    if first:
        words.add(first.group(1))
    return {w.lower().decode("ascii") for w in words} & KEYWORDS


def _unquote(value: str) -> str:
    """tor's C-style quoted string: `"a\\"b"` -> `a"b`; anything after the quote is ignored."""
    out, i = [], 1
    while i < len(value):
        c = value[i]
        if c == "\\" and i + 1 < len(value):
            out.append({"n": "\n", "t": "\t", "r": "\r"}.get(value[i + 1], value[i + 1]))
            i += 2
            continue
        if c == '"':
            break
        out.append(c)
        i += 1
    return "".join(out)


def _torrc(view: View, lines: LineCounter, sample: bool) -> Iterator[TorFinding]:
    text = view.text
    pos, n = 0, len(text)
    hs: list | None = None  # [offset, dir, ports, active, line_no]

    def flush():
        if hs is not None:
            yield TorFinding(hs[0], "hidden_service", "HiddenServiceDir", hs[1], None, None, hs[3], hs[1], hs[2], hs[4])

    while pos < n:
        nl = text.find(b"\n", pos)
        nl = n if nl < 0 else nl
        start, line = pos, text[pos:nl].rstrip(b"\r")
        pos = nl + 1
        while line.endswith(b"\\") and pos < n:  # continuation; comment lines inside are skipped
            nl = text.find(b"\n", pos)
            nl = n if nl < 0 else nl
            nxt = text[pos:nl].rstrip(b"\r")
            pos = nl + 1
            if nxt.lstrip().startswith(b"#"):
                continue
            line = line[:-1].rstrip() + b" " + nxt.lstrip()
        stripped = line.lstrip(b" \t")
        commented = stripped.startswith(b"#")
        body = stripped.lstrip(b"# \t") if commented else stripped
        if not body:
            continue
        kw_end = len(body.split(None, 1)[0])
        kw = body[:kw_end].decode("utf-8", "replace")
        if kw.lower() not in KEYWORDS and kw.lower() != "%include":
            continue
        rest = body[kw_end:].strip(b" \t").decode("utf-8", "replace")
        if not commented and "#" in rest and not rest.startswith('"'):
            rest = rest.split("#", 1)[0].rstrip()
        value = _unquote(rest) if rest.startswith('"') else rest
        off = view.offset(start + (len(line) - len(body)))
        active = not commented and not sample
        line_no = lines.line_at(off)
        low = kw.lower()
        if low == "hiddenservicedir":
            yield from flush()
            hs = [off, value, [], active, line_no]
        elif low == "hiddenserviceport" and hs is not None and hs[3] == active:
            hs[2].append(value)
        cur_dir = hs[1] if hs is not None and low.startswith("hiddenservice") else None
        yield TorFinding(off, "directive", kw, value, None, None, active, cur_dir, [], line_no)
    yield from flush()


def _key_file(data: bytes, name: str, hs_dir: str | None) -> Iterator[TorFinding]:
    if name == "hs_ed25519_public_key" or name == "ed25519_master_id_public_key":
        if len(data) == 64 and data.startswith(_V3_PUB_HEADER):
            pub = data[32:]
            fp = hashlib.sha256(pub).hexdigest()
            if name == "hs_ed25519_public_key":
                onion = onion_from_pubkey(pub)
                yield TorFinding(0, "key_file", name, fp, onion, True, None, hs_dir, [], None)
            else:
                yield TorFinding(0, "relay_identity", name, fp, None, None, None, hs_dir, [], None)
        return
    if name in _SECRET_FILES:
        m = _HEADER.match(data)
        if m:
            kind = f"ed25519v1-{m.group(1).decode()} {m.group(2).decode()}"
        elif data.startswith(b"-----BEGIN RSA PRIVATE KEY-----"):
            kind = "RSA private key (PEM)"
        else:
            kind = "unrecognised"
        # Only the file's existence and type: never key bytes or anything derived from them.
        yield TorFinding(0, "key_file", name, kind, None, None, None, hs_dir, [], None)
        return
    if name == "fingerprint":
        m = _FINGERPRINT_FILE.match(data)
        if m:
            yield TorFinding(0, "relay_identity", m.group(1).decode(), m.group(2).decode(), None, None, None, hs_dir, [], 1)


def extract(data: bytes, source: Source) -> Iterator[TorFinding]:
    """Tor findings in `data`; see the module docstring."""
    name = source.name or (posixpath.basename(source.path) if source.path else "")
    hs_dir = posixpath.dirname(source.path) if source.path else None
    lines = LineCounter(data)
    if source.window_offset == 0 and name in _SECRET_FILES | {"hs_ed25519_public_key", "ed25519_master_id_public_key", "fingerprint"}:
        yield from _key_file(data, name, hs_dir)
        if name in _SECRET_FILES:
            return  # never scan secret key material for anything else
    torrc = _is_torrc(source, data)
    sample = bool(_SAMPLE.search(name))
    onion_name = "hostname" if name == "hostname" else "onion"
    for view in views(data):
        if torrc:
            yield from _torrc(view, lines, sample)
        # 1.1.0: scanned in every view (was: only when `.onion` or `.ONION` occurs), so a
        # mixed-case `.Onion` no longer depends on what else the window holds.
        yield from _onions(view, lines, hs_dir if name == "hostname" else None, onion_name)


EXTRACTOR = Extractor(
    name=NAME,
    version=VERSION,
    table="tor",
    finding=TorFinding,
    extract=extract,
    description="torrc directives and hidden services, onion addresses (v3 checksum), Tor key files",
)
