"""Deterministic synthetic content of a seized spam server, written as files into a directory tree.

Why synthetic: real seized drives cannot be shipped, and recall can only be measured against
content whose every address, credential pair and onion is known. Every generator writes files
through a `Planter`, which records what it planted in a manifest (`Planter.manifest`, saved as
`planted.json` beside an image) so that tests and the benchmark can compare the case tables
with the truth.

Speed matters (a 1 GiB image must be generated in well under two minutes), so bulk bytes come
from `random.Random.randbytes` and from joining pre-built line pools, never per-byte Python.
Everything is drawn from one seeded `random.Random`, and file times and archive headers are
fixed, so the same seed gives the same tree.
"""
from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import random
import tarfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Rustock era: harvests and logs fall between early 2010 and the takedown (2011-03-16).
T_START = 1262304000  # 2010-01-01T00:00:00Z
T_END = 1300233600  # 2011-03-16T00:00:00Z
ARCHIVE_DATE = (2011, 3, 1, 12, 0, 0)

FIRST_NAMES = """james john robert michael william david richard joseph thomas charles christopher
daniel matthew anthony mark donald steven paul andrew joshua kenneth kevin brian george edward
mary patricia jennifer linda elizabeth barbara susan jessica sarah karen nancy lisa betty
margaret sandra ashley kimberly emily donna michelle carol amanda melissa deborah stephanie
hans klaus jurgen petra sabine monika pierre jean marie sophie nicolas isabelle giulia marco
alessandro francesca ivan sergey olga natalia dmitry elena andrei pavel jan piotr anna katarzyna
wei li ming hiroshi yuki kenji carlos jose maria lucia javier pedro ana joao priya rahul""".split()
LAST_NAMES = """smith johnson williams brown jones garcia miller davis rodriguez martinez hernandez
lopez gonzalez wilson anderson thomas taylor moore jackson martin lee perez thompson white harris
sanchez clark ramirez lewis robinson walker young allen king wright scott torres nguyen hill
flores green adams nelson baker hall rivera campbell mitchell carter roberts mueller schmidt
schneider fischer weber meyer wagner becker dubois durand lefebvre moreau rossi russo ferrari
esposito bianchi ivanov smirnov kuznetsov popov sokolov kowalski nowak wisniewski wang zhang
liu chen tanaka suzuki sato silva santos oliveira souza patel sharma singh kumar""".split()
DOMAINS = """gmail.com yahoo.com hotmail.com outlook.com aol.com msn.com live.com comcast.net
verizon.net att.net sbcglobal.net bellsouth.net charter.net cox.net earthlink.net juno.com
mail.ru yandex.ru rambler.ru list.ru bk.ru gmx.de web.de t-online.de freenet.de arcor.de
orange.fr free.fr laposte.net wanadoo.fr sfr.fr libero.it virgilio.it tiscali.it alice.it
btinternet.com hotmail.co.uk yahoo.co.uk sky.com talktalk.net ntlworld.com qq.com 163.com
126.com sina.com naver.com daum.net yahoo.co.jp nifty.com uol.com.br bol.com.br terra.com.br
seznam.cz wp.pl o2.pl interia.pl onet.pl telenet.be skynet.be shaw.ca rogers.com sympatico.ca
bigpond.com optusnet.com.au xtra.co.nz rediffmail.com""".split()
# Internationalised domain names (written in Unicode; IDNA form is their punycode).
IDN_DOMAINS = ["bücher.de", "münchen.de", "müller-bau.de", "яндекс.рф", "почта.рф", "ñandú.cl",
               "例え.jp", "köln.de"]
WORDS = """the of and to in is you that it he was for on are as with his they at be this have from
or one had by word but not what all were we when your can said there use an each which she do how
their if will up other about out many then them these so some her would make like him into time
has look two more write go see number no way could people my than first water been call who oil
its now find long down day did get come made may part service customer quality product order
delivery price market online secure account support network system update report project team
office business company contact information company about privacy policy terms home news""".split()
BRANDS = ["Microsoft", "Bing", "Hotmail", "Pfizer", "Viagra", "V1agra", "Vicodin", "Valium"]
PASSWORD_WORDS = """password qwerty dragon monkey letmein football baseball sunshine princess
shadow master michael superman batman trustno1 welcome login admin passw0rd hello freedom
whatever charlie donald secret summer winter flower cookie pepper ginger tigger killer""".split()
PASSWORD_SYMBOLS = "!#$%&*._-"
TLDS_FOR_SPAM = ["com", "net", "org", "info", "biz", "ru", "cn", "in"]
USER_AGENTS = [
    "Mozilla/5.0 (Windows; U; Windows NT 6.1; en-US) AppleWebKit/534.16 (KHTML, like Gecko) "
    "Chrome/10.0.648.133 Safari/534.16",
    "Mozilla/5.0 (Windows NT 6.1; rv:2.0) Gecko/20100101 Firefox/4.0",
    "Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.1; Trident/4.0)",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Wget/1.12 (linux-gnu)", "curl/7.21.0 (x86_64-pc-linux-gnu) libcurl/7.21.0",
]
HTTP_PATHS = ["/", "/index.php", "/index.html", "/admin/login.php", "/wp-login.php", "/img/logo.png",
              "/css/style.css", "/js/jquery.min.js", "/cgi-bin/mail.cgi", "/gate.php", "/stat.php",
              "/tracker/click.php?id=", "/unsubscribe.php?u=", "/favicon.ico", "/robots.txt"]
# Text that looks like an address to a careless matcher but is not one.
NOT_ADDRESSES = ["logo@2x.png", "icon@3x.png", "user@localhost", "@media", "font@font-face",
                 "sprite@2x.jpg", "user@@example.com"]


def onion_v3(key: bytes, version: int = 3) -> str:
    """The v3 onion address for a 32-byte ed25519 public key (rend-spec-v3, "Encoding onion addresses")."""
    checksum = hashlib.sha3_256(b".onion checksum" + key + bytes([version])).digest()[:2]
    return base64.b32encode(key + checksum + bytes([version])).decode("ascii").lower() + ".onion"


def onion_bad_checksum(key: bytes) -> str:
    """An onion that has the right shape but a wrong checksum (a typo, or a forged decoy)."""
    good = hashlib.sha3_256(b".onion checksum" + key + b"\x03").digest()[:2]
    bad = bytes([good[0] ^ 0x5A, good[1] ^ 0xA5])
    return base64.b32encode(key + bad + b"\x03").decode("ascii").lower() + ".onion"


@dataclass
class Planter:
    """Writes files under `root` and records what they hold.

    `volume` labels the records (`ext4`, `fat`, ...) so one manifest can describe a whole disk.
    """

    root: Path
    rng: random.Random
    volume: str = "ext4"
    manifest: dict[str, Any] = field(default_factory=dict)
    used_addresses: set[str] = field(default_factory=set)
    bytes_written: int = 0

    def __post_init__(self) -> None:
        m = self.manifest
        m.setdefault("files", [])
        m.setdefault("emails", {})
        m.setdefault("email_files", [])
        m.setdefault("not_emails", [])
        m.setdefault("combo_files", [])
        m.setdefault("onions", [])
        m.setdefault("torrc", [])
        m.setdefault("spam_templates", [])
        m.setdefault("html_pages", 0)
        m.setdefault("archives", [])
        m.setdefault("deleted", [])
        m.setdefault("brands", BRANDS)

    def for_volume(self, root: Path, volume: str) -> "Planter":
        """A planter for another partition that shares this one's RNG, manifest and address pool."""
        return Planter(root=root, rng=self.rng, volume=volume, manifest=self.manifest,
                       used_addresses=self.used_addresses)

    def write(self, rel: str, data: bytes, kind: str) -> str:
        """Write `data` at `rel` (a `/`-rooted path inside the volume); return that path."""
        rel = "/" + rel.lstrip("/")
        path = self.root / rel.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        t = self.rng.randint(T_START, T_END)
        os.utime(path, (t, t))
        self.bytes_written += len(data)
        self.manifest["files"].append({"volume": self.volume, "path": rel, "size": len(data),
                                       "kind": kind})
        return rel

    # -- people and secrets -------------------------------------------------------------

    def address(self, idn_share: float = 0.03) -> str:
        """A new, never before planted, plausible address."""
        r = self.rng
        while True:
            f, l = r.choice(FIRST_NAMES), r.choice(LAST_NAMES)
            style = r.randrange(8)
            if style == 0:
                local = f"{f}.{l}"
            elif style == 1:
                local = f"{f}_{l}{r.randrange(100)}"
            elif style == 2:
                local = f"{f[0]}{l}{r.randrange(1950, 2000)}"
            elif style == 3:
                local = f"{f}{l[0]}{r.randrange(1000)}"
            elif style == 4:
                local = f"{l}.{f}{r.randrange(10, 99)}"
            elif style == 5:
                local = f"{f}{r.randrange(10000)}"
            elif style == 6:
                local = f"{f}.{l}.{r.randrange(100)}"
            else:
                local = f"{f[0]}.{l}{r.randrange(100)}"
            domain = r.choice(IDN_DOMAINS) if r.random() < idn_share else r.choice(DOMAINS)
            addr = f"{local}@{domain}"
            if addr not in self.used_addresses:
                self.used_addresses.add(addr)
                return addr

    def addresses(self, n: int, category: str, idn_share: float = 0.03) -> list[str]:
        out = [self.address(idn_share) for _ in range(n)]
        self.manifest["emails"].setdefault(category, []).extend(out)
        return out

    def password(self) -> str:
        r = self.rng
        style = r.randrange(5)
        if style == 0:
            return f"{r.choice(PASSWORD_WORDS)}{r.randrange(1960, 2011)}"
        if style == 1:
            return f"{r.choice(PASSWORD_WORDS).capitalize()}{r.choice(PASSWORD_SYMBOLS)}{r.randrange(100)}"
        if style == 2:
            alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
            return "".join(r.choices(alphabet, k=r.randrange(8, 13)))
        if style == 3:
            return f"{r.choice(PASSWORD_WORDS)}{r.choice(PASSWORD_SYMBOLS)}{r.choice(PASSWORD_WORDS)}"
        return f"{r.choice(FIRST_NAMES)}{r.randrange(10, 9999)}"

    def username(self) -> str:
        r = self.rng
        return f"{r.choice(FIRST_NAMES)}{r.choice(LAST_NAMES)[:4]}{r.randrange(100)}"

    def spam_domain(self) -> str:
        r = self.rng
        return f"{r.choice(WORDS)}{r.choice(['-', ''])}{r.choice(WORDS)}{r.randrange(100)}.{r.choice(TLDS_FOR_SPAM)}"

    def ip(self) -> str:
        r = self.rng
        return f"{r.choice([24, 41, 58, 62, 77, 78, 85, 89, 91, 94, 109, 188, 190, 195, 201, 213, 217])}." \
               f"{r.randrange(256)}.{r.randrange(256)}.{r.randrange(1, 255)}"


# -- harvest lists ----------------------------------------------------------------------


def harvest_list(p: Planter, rel: str, n: int, *, encoding: str = "utf-8", category: str | None = None,
                 write: bool = True) -> tuple[str, bytes]:
    """A harvested address list, one address per line (some with a name, as scrapers leave them).

    `encoding` is `utf-8` or `utf-16-le` (with BOM, as Windows tools write it). Returns the path
    and the bytes; with `write=False` the bytes are only returned (for archive members).
    """
    category = category or ("utf16" if encoding.startswith("utf-16") else "plain")
    addrs = p.addresses(n, category)
    r = p.rng
    lines = []
    for a in addrs:
        roll = r.random()
        if roll < 0.08:
            local = a.split("@", 1)[0]
            lines.append(f'"{local.replace(".", " ").title()}" <{a}>')
        elif roll < 0.12:
            lines.append(f"{a};{r.choice(['us', 'de', 'ru', 'fr', 'uk'])}")
        else:
            lines.append(a)
    text = "\r\n".join(lines) + "\r\n" if encoding.startswith("utf-16") else "\n".join(lines) + "\n"
    data = (b"\xff\xfe" + text.encode("utf-16-le")) if encoding.startswith("utf-16") else text.encode("utf-8")
    p.manifest["email_files"].append({"volume": p.volume, "path": rel, "count": n, "encoding": encoding,
                                      "category": category})
    if write:
        rel = p.write(rel, data, "harvest_list")
    return rel, data


# -- combo lists ------------------------------------------------------------------------

COMBO_FORMATS = ["email:pass", "user;pass", "host|port|user|pass", "host:port:user:pass", "csv"]


def combo_list(p: Planter, rel: str, n: int, fmt: str, *, where: str = "plain",
               write: bool = True) -> tuple[str, bytes]:
    """A credential list in one of `COMBO_FORMATS`; pairs are recorded in `combo_files`."""
    r = p.rng
    pairs: list[list[str]] = []
    lines: list[str] = []
    if fmt == "csv":
        lines.append("login,password")
    logins_are_addresses = fmt in ("email:pass", "host|port|user|pass") or fmt == "csv"
    logins = p.addresses(n, "combo") if logins_are_addresses else [p.username() for _ in range(n)]
    for login in logins:
        pw = p.password()
        pairs.append([login, pw])
        if fmt == "email:pass":
            lines.append(f"{login}:{pw}")
        elif fmt == "user;pass":
            lines.append(f"{login};{pw}")
        elif fmt == "host|port|user|pass":
            host = f"{r.choice(['smtp', 'mail', 'mx'])}.{login.split('@', 1)[1]}"
            lines.append(f"{host}|{r.choice([25, 465, 587])}|{login}|{pw}")
        elif fmt == "host:port:user:pass":
            lines.append(f"{p.ip()}:{r.choice([21, 22, 2082, 2083, 3306])}:{login}:{pw}")
        elif fmt == "csv":
            lines.append(f"{login},{pw}")
        else:
            raise ValueError(f"unknown combo format {fmt!r}")
    data = ("\n".join(lines) + "\n").encode("utf-8")
    p.manifest["combo_files"].append({"volume": p.volume, "path": rel, "format": fmt, "where": where,
                                      "pairs": pairs})
    if write:
        rel = p.write(rel, data, "combo_list")
    return rel, data


# -- spam templates and ordinary HTML ---------------------------------------------------

SUBJECTS = [
    "{Cheap|Discount|Generic} {Viagra|V1agra|Cialis} - {save|get} %RND_NUM[2,2]%% off today",
    "{Hi|Hello|Dear} {%FIRSTNAME%}, your {Hotmail|Microsoft} account {needs|requires} verification",
    "{Pfizer|Canadian} pharmacy: {Vicodin|Valium|Xanax} without prescription",
    "Microsoft Office 2010 Professional - only $%RND_NUM[2,2]%.95",
    "{Re:|Fw:|} {your order|order confirmation} #%RND_NUM[6,6]%",
    "{Bing|Microsoft} rewards: {%FIRSTNAME%}, claim your {prize|gift card}",
]
BODIES = [
    """{Hello|Hi|Dear} {%FIRSTNAME%} {%LASTNAME%},

{Save|Get} up to %RND_NUM[2,2]%% on {Viagra|V1agra|Cialis|Levitra} from our {licensed|certified}
{Pfizer|Canadian} pharmacy. {No prescription needed|No doctor visit required}!
Vicodin, Valium, Xanax, Soma - {fast|discreet|overnight} shipping worldwide.

http://[-random-domain-]/{p|ph|rx}/?id=%RND_NUM[5,7]%

This message was sent to [-email-]. To unsubscribe click http://[-random-domain-]/u.php?e=[-email-]
""",
    """<html><body bgcolor="#ffffff">
<p>{Dear|Valued} {Hotmail|Windows Live|Microsoft} {customer|user} {%FIRSTNAME%},</p>
<p>Your mailbox [-email-] has exceeded its {quota|storage limit}. {Please|Kindly} verify your
account at <a href="http://[-random-domain-]/{login|verify}.php">Microsoft Account Services</a>
within %RND_NUM[2,2]% hours or it will be {closed|suspended}.</p>
<p>&copy; 2011 Microsoft Corporation. Bing, Hotmail and Windows Live are trademarks of Microsoft.</p>
</body></html>
""",
    """{%FIRSTNAME%}, {genuine|original} {software|licenses} at {OEM|wholesale} prices:
 * Microsoft Windows 7 Ultimate ........ $%RND_NUM[2,2]%.95
 * Microsoft Office 2010 Professional .. $%RND_NUM[2,2]%.95
 * Adobe Photoshop CS5 Extended ........ $%RND_NUM[2,2]%.95
{Download now|Instant download}: http://[-random-domain-]/soft/%RND_NUM[4,4]%
{Reply|Write} to [-email-] {if you have questions|for support}.
""",
    """Subject: {Re:|} {%FIRSTNAME%}, {enlarge|improve} your {life|performance}
From: "{Pfizer Inc|Pfizer Online|Dr. %RND_LASTNAME%}" <[-from-email-]>
To: [-email-]
X-Mailer: {The Bat! (v3.51)|Microsoft Outlook Express 6.00.2900.2180}

{V1agra|Viagra} {100mg|50mg} x {10|20|30} pills = $%RND_NUM[2,3]%
{Valium|Vicodin} 10mg x 30 pills = $%RND_NUM[2,3]%
http://[-random-domain-]/?{a|b|c}=%RND_NUM[3,5]%
""",
]


def spam_template(p: Planter, rel: str, *, write: bool = True) -> tuple[str, bytes]:
    """A mailer template: header macros, spintax and the brand names that Rustock abused."""
    r = p.rng
    body = r.choice(BODIES)
    subject = r.choice(SUBJECTS)
    text = f"Subject: {subject}\n\n{body}"
    if r.random() < 0.5:  # some templates carry a second spun variant, as mailers keep them
        text += "\n{--|==|##} {alt|variant} %RND_NUM[1,1]% {--|==|##}\n" + r.choice(BODIES)
    data = text.encode("utf-8")
    macros = sorted({m for m in ("[-email-]", "%RND_NUM[", "{%FIRSTNAME%}", "{%LASTNAME%}", "[-random-domain-]")
                     if m in text})
    brands = sorted({b for b in BRANDS if b in text})
    p.manifest["spam_templates"].append({"volume": p.volume, "path": rel, "macros": macros, "brands": brands,
                                         "spintax": text.count("|")})
    if write:
        rel = p.write(rel, data, "spam_template")
    return rel, data


def html_page(p: Planter, rel: str, approx_size: int) -> str:
    """An ordinary web page (the negative class for the template detector), one contact address."""
    r = p.rng
    title = " ".join(r.choices(WORDS, k=4)).title()
    contact = p.addresses(1, "html")[0]
    paras = []
    size = 0
    while size < approx_size:
        para = " ".join(r.choices(WORDS, k=r.randrange(40, 120))).capitalize() + "."
        paras.append(f"<p>{para}</p>")
        size += len(para) + 8
    html = (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\n"
            f"<link rel=\"stylesheet\" href=\"/css/style.css\"><style>@media screen {{ .logo {{ "
            f"background: url(/img/logo@2x.png) }} }}</style></head>\n<body><h1>{title}</h1>\n"
            + "\n".join(paras)
            + f"\n<footer>Contact: <a href=\"mailto:{contact}\">{contact}</a></footer></body></html>\n")
    p.manifest["html_pages"] += 1
    return p.write(rel, html.encode("utf-8"), "html")


# -- Tor ---------------------------------------------------------------------------------


def tor_setup(p: Planter) -> None:
    """torrc with two active hidden services, a commented torrc.sample, and three HS directories.

    Two directories hold valid v3 hostnames (the configured services); a third, left over from
    an older set-up, holds a hostname with a bad checksum.
    """
    r = p.rng
    services = [("/var/lib/tor/hidden_service/", "80 127.0.0.1:8080"),
                ("/var/lib/tor/mail_service/", "25 127.0.0.1:25")]
    torrc = ["## Configuration file for the bot panel", "SocksPort 9050", "Log notice file /var/log/tor/notices.log",
             "DataDirectory /var/lib/tor", ""]
    for d, port in services:
        torrc += [f"HiddenServiceDir {d}", f"HiddenServicePort {port}", ""]
        key = r.randbytes(32)
        onion = onion_v3(key)
        base = d.rstrip("/")
        p.write(f"{base}/hostname", (onion + "\n").encode(), "tor_hostname")
        p.write(f"{base}/hs_ed25519_public_key", b"== ed25519v1-public: type0 ==\x00\x00\x00" + key, "tor_key")
        p.write(f"{base}/hs_ed25519_secret_key", b"== ed25519v1-secret: type0 ==\x00\x00\x00" + r.randbytes(64),
                "tor_key")
        p.manifest["onions"].append({"volume": p.volume, "path": f"{base}/hostname", "onion": onion, "valid": True})
    key = r.randbytes(32)
    bad = onion_bad_checksum(key)
    p.write("/var/lib/tor/old_service/hostname", (bad + "\n").encode(), "tor_hostname")
    p.manifest["onions"].append({"volume": p.volume, "path": "/var/lib/tor/old_service/hostname", "onion": bad,
                                 "valid": False})
    rel = p.write("/etc/tor/torrc", "\n".join(torrc).encode(), "torrc")
    p.manifest["torrc"].append({"volume": p.volume, "path": rel, "hidden_service_dirs": [d for d, _ in services],
                                "commented": False})
    sample = ["## Sample torrc: every line is commented out", "#SocksPort 9050",
              "#HiddenServiceDir /var/lib/tor/hidden_service/", "#HiddenServicePort 80 127.0.0.1:80",
              "#HiddenServiceDir /var/lib/tor/other_hidden_service/", "#HiddenServicePort 22 127.0.0.1:22", ""]
    rel = p.write("/usr/share/doc/tor/torrc.sample", "\n".join(sample).encode(), "torrc_sample")
    p.manifest["torrc"].append({"volume": p.volume, "path": rel, "hidden_service_dirs": [], "commented": True})


# -- logs --------------------------------------------------------------------------------

_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _stamp_pool(r: random.Random, n: int, style: str) -> list[str]:
    """`n` increasing timestamps in log style (`apache`, `nginx` or `syslog`), starting somewhere in the era."""
    t = r.randint(T_START, T_END - 86400 * 30)
    out = []
    for _ in range(n):
        t += r.randrange(1, 120)
        g = time.gmtime(t)
        if style == "apache":
            out.append(f"{g.tm_mday:02d}/{_MONTHS[g.tm_mon - 1]}/{g.tm_year}:{g.tm_hour:02d}:{g.tm_min:02d}:"
                       f"{g.tm_sec:02d} +0000")
        elif style == "nginx":
            out.append(f"{g.tm_year}/{g.tm_mon:02d}/{g.tm_mday:02d} {g.tm_hour:02d}:{g.tm_min:02d}:{g.tm_sec:02d}")
        else:
            out.append(f"{_MONTHS[g.tm_mon - 1]} {g.tm_mday:2d} {g.tm_hour:02d}:{g.tm_min:02d}:{g.tm_sec:02d}")
    return out


def log_text(p: Planter, approx_size: int, kind: str) -> bytes:
    """An apache access, nginx error or postfix mail log of about `approx_size` bytes.

    Lines are drawn from a pool built per file (cheap), timestamps rise monotonically (each
    stamp is used for a run of lines). Mail logs record the addresses they name under
    `emails["log"]`.
    """
    r = p.rng
    ips = [p.ip() for _ in range(200)]
    doms = [p.spam_domain() for _ in range(60)]
    pool: list[tuple[str, str | None]] = []
    if kind == "apache":
        for _ in range(2000):
            path = r.choice(HTTP_PATHS)
            if path.endswith("="):
                path += str(r.randrange(100000))
            pool.append((f'{r.choice(ips)} - - [%s] "{r.choice(["GET", "GET", "POST"])} {path} HTTP/1.1" '
                         f'{r.choice([200, 200, 200, 302, 404, 500])} {r.randrange(200, 60000)} '
                         f'"http://{r.choice(doms)}/" "{r.choice(USER_AGENTS)}"\n', None))
    elif kind == "nginx":
        for _ in range(1000):
            pool.append((f'%s [error] {r.randrange(1000, 30000)}#0: *{r.randrange(1, 99999)} open() '
                         f'"/var/www/html{r.choice(HTTP_PATHS).split("?")[0]}" failed (2: No such file or '
                         f'directory), client: {r.choice(ips)}, server: {r.choice(doms)}, request: '
                         f'"GET / HTTP/1.1"\n', None))
    elif kind == "mail":
        addrs = [p.address(idn_share=0.0) for _ in range(300)]
        for _ in range(3000):
            qid = "".join(r.choices("0123456789ABCDEF", k=10))
            if r.random() < 0.5:
                a = r.choice(addrs)
                status = r.choice(["sent (250 OK)", "deferred (421 try later)", "bounced (550 no such user)"])
                pool.append((f"%s mx1 postfix/smtp[{r.randrange(1000, 30000)}]: {qid}: to=<{a}>, "
                             f"relay={r.choice(doms)}[{r.choice(ips)}]:25, delay={r.randrange(1, 90) / 10}, "
                             f"status={status}\n", a))
            else:
                pool.append((f"%s mx1 postfix/smtpd[{r.randrange(1000, 30000)}]: connect from "
                             f"{r.choice(doms)}[{r.choice(ips)}]\n", None))
    else:
        raise ValueError(f"unknown log kind {kind!r}")
    avg = sum(len(line) for line, _ in pool[:200]) // 200 + 22
    n = max(1, approx_size // avg)
    run = 8
    stamps = _stamp_pool(r, n // run + 1, {"apache": "apache", "nginx": "nginx", "mail": "syslog"}[kind])
    chosen = r.choices(pool, k=n)
    text = "".join(line % stamps[i // run] for i, (line, _) in enumerate(chosen))
    if kind == "mail":
        used = sorted({a for _, a in chosen if a})
        p.manifest["emails"].setdefault("log", []).extend(used)
    return text.encode("utf-8")


def log_file(p: Planter, rel: str, approx_size: int, kind: str) -> str:
    """Write `log_text` at `rel`."""
    return p.write(rel, log_text(p, approx_size, kind), f"log_{kind}")


# -- binaries ----------------------------------------------------------------------------

_ELF_HEADER = (b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00\x01\x00\x00\x00"
               + b"\x40\x10\x40\x00\x00\x00\x00\x00" + b"\x40\x00\x00\x00\x00\x00\x00\x00")
_ELF_STRINGS = (b"\x00libc.so.6\x00libpthread.so.0\x00GLIBC_2.2.5\x00socket\x00connect\x00send\x00recv\x00"
                b"getaddrinfo\x00__libc_start_main\x00usage: %s [-c config] [-d]\x00/etc/bot.conf\x00"
                b"HELO %s\r\n\x00MAIL FROM:<%s>\r\n\x00RCPT TO:<%s>\r\n\x00DATA\r\n\x00.shstrtab\x00.text\x00"
                b".data\x00.bss\x00.rodata\x00GCC: (Debian 4.4.5-8) 4.4.5\x00")


def binary_file(p: Planter, rel: str, size: int, *, elf: bool) -> str:
    """Random bytes, or an ELF-like executable: header, code-like bytes, zero padding, strings."""
    r = p.rng
    if not elf:
        return p.write(rel, r.randbytes(size), "binary_random")
    code = r.randbytes(max(0, size * 2 // 3))
    pad = b"\x00" * (size // 6)
    body = _ELF_HEADER + b"\x00" * (64 - len(_ELF_HEADER)) + code + pad + _ELF_STRINGS
    body += r.randbytes(max(0, size - len(body)))
    return p.write(rel, body[:max(size, 64 + len(_ELF_STRINGS))], "binary_elf")


# -- archives ----------------------------------------------------------------------------


def _tar_gz(members: list[tuple[str, bytes]], level: int = 6) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tf:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = T_END - 86400 * 15
            info.mode = 0o644
            info.uname = info.gname = "spam"
            tf.addfile(info, io.BytesIO(data))
    return gzip.compress(buf.getvalue(), compresslevel=level, mtime=T_END - 86400 * 15)


def _zip(members: list[tuple[str, bytes]], stored: bool = False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=ARCHIVE_DATE)
            info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return buf.getvalue()


def archives(p: Planter, base: str, scale: int) -> None:
    """Lists packed the way they travel: `.tar.gz`, `.zip`, and a `.zip` holding a `.tar.gz`.

    Member names are recorded as in the contract: nested levels joined with `!`.
    """
    n = max(20, scale)
    _, h1 = harvest_list(p, f"{base}/lists.tar.gz!lists/harvest_de.txt", n, category="archive", write=False)
    _, c1 = combo_list(p, f"{base}/lists.tar.gz!lists/combo_mail.txt", max(10, n // 4), "email:pass",
                       where="archive", write=False)
    rel = p.write(f"{base}/lists.tar.gz", _tar_gz([("lists/harvest_de.txt", h1), ("lists/combo_mail.txt", c1)]),
                  "archive_tar_gz")
    p.manifest["archives"].append({"volume": p.volume, "path": rel, "format": "tar.gz",
                                   "members": ["lists/harvest_de.txt", "lists/combo_mail.txt"]})
    _, h2 = harvest_list(p, f"{base}/lists.zip!harvest_ru.txt", n, category="archive", write=False)
    _, h3 = harvest_list(p, f"{base}/lists.zip!harvest_win.txt", max(10, n // 4), encoding="utf-16-le",
                         category="archive", write=False)
    rel = p.write(f"{base}/lists.zip", _zip([("harvest_ru.txt", h2), ("harvest_win.txt", h3)]), "archive_zip")
    p.manifest["archives"].append({"volume": p.volume, "path": rel, "format": "zip",
                                   "members": ["harvest_ru.txt", "harvest_win.txt"]})
    _, h4 = harvest_list(p, f"{base}/nested.zip!inner/deep.tar.gz!deep/harvest_us.txt", n, category="archive",
                         write=False)
    _, c2 = combo_list(p, f"{base}/nested.zip!inner/deep.tar.gz!deep/smtp.txt", max(10, n // 4),
                       "host|port|user|pass", where="archive", write=False)
    inner = _tar_gz([("deep/harvest_us.txt", h4), ("deep/smtp.txt", c2)])
    rel = p.write(f"{base}/nested.zip", _zip([("inner/deep.tar.gz", inner), ("inner/readme.txt", b"mailer lists\n")]),
                  "archive_zip_nested")
    p.manifest["archives"].append({"volume": p.volume, "path": rel, "format": "zip",
                                   "members": ["inner/deep.tar.gz", "inner/deep.tar.gz!deep/harvest_us.txt",
                                               "inner/deep.tar.gz!deep/smtp.txt", "inner/readme.txt"]})


# -- decoys ------------------------------------------------------------------------------

PASSWD = """root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
bin:x:2:2:bin:/bin:/usr/sbin/nologin
sys:x:3:3:sys:/dev:/usr/sbin/nologin
www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin
postfix:x:105:111::/var/spool/postfix:/usr/sbin/nologin
debian-tor:x:106:113::/var/lib/tor:/bin/false
spam:x:1000:1000:,,,:/home/spam:/bin/bash
"""
CONFIG = """# panel settings
listen: 0.0.0.0
port: 8080
threads: 64
timeout: 30
log_level: info
template_dir: /home/spam/templates
lists_dir: /home/spam/lists
retry: 3
"""
NGINX_CONF = """user www-data;
worker_processes 2;
events { worker_connections 768; }
http {
    sendfile on;
    server { listen 80; server_name localhost; root /var/www/html; }
}
"""
POSTFIX_CF = """myhostname = mx1.localdomain
mydestination = localhost
smtpd_banner = $myhostname ESMTP
inet_interfaces = all
"""
DOC = """{name} - documentation

Configuration lives in /etc/{name}.conf. Each line is key: value, for example

    timeout: 30
    host: localhost

Report bugs to the maintainers. Retina images are named like logo@2x.png and icon@3x.png;
they are not e-mail addresses. Local delivery to user@localhost needs no relay.
"""


def decoys(p: Planter) -> None:
    """Files that look like credentials, addresses or templates to a careless matcher."""
    p.write("/etc/passwd", PASSWD.encode(), "decoy_passwd")
    p.write("/etc/hostname", b"mx1\n", "decoy_config")
    p.write("/etc/panel/config.yml", CONFIG.encode(), "decoy_config")
    p.write("/etc/nginx/nginx.conf", NGINX_CONF.encode(), "decoy_config")
    p.write("/etc/postfix/main.cf", POSTFIX_CF.encode(), "decoy_config")
    for name in ("panel", "mailer", "libspf2"):
        p.write(f"/usr/share/doc/{name}/README", DOC.format(name=name).encode(), "documentation")
    p.manifest["not_emails"] = sorted(set(p.manifest["not_emails"]) | set(NOT_ADDRESSES))


# -- assemblies --------------------------------------------------------------------------


def plant_core(p: Planter, scale: int) -> None:
    """The spam-server core: lists, combos, templates, Tor, archives and decoys.

    `scale` is roughly the number of addresses in one ordinary harvest list; everything else
    is sized from it.
    """
    r = p.rng
    n_lists = 6
    for i in range(n_lists):
        enc = "utf-16-le" if i in (2, 5) else "utf-8"
        suffix = "_win" if enc != "utf-8" else ""
        harvest_list(p, f"/home/spam/lists/harvest_{i:02d}{suffix}.txt", scale + r.randrange(scale // 4 + 1),
                     encoding=enc)
    for i, fmt in enumerate(COMBO_FORMATS):
        ext = "csv" if fmt == "csv" else "txt"
        combo_list(p, f"/home/spam/combos/combo_{i:02d}.{ext}", max(10, scale // 3), fmt)
    for i in range(12):
        spam_template(p, f"/home/spam/templates/tpl_{i:02d}.{r.choice(['txt', 'tpl', 'html'])}")
    tor_setup(p)
    archives(p, "/home/spam/archive", max(20, scale // 2))
    decoys(p)
    for i in range(5):
        html_page(p, f"/var/www/html/page{i}.html", 4000)
    log_file(p, "/var/log/mail.log", 40_000, "mail")
    log_file(p, "/var/log/apache2/access.log", 40_000, "apache")
    for i in range(3):
        binary_file(p, f"/usr/local/bin/tool{i}", 20_000, elf=True)


def fill_bulk(p: Planter, target_bytes: int) -> None:
    """Add ordinary server content until about `target_bytes` have been written in total.

    By volume: logs ~35%, binaries ~30%, archives of logs/binaries ~15%, HTML ~12%,
    plus extra lists, combos and templates (a few %) as a busy spam server accumulates.
    """
    r = p.rng
    start = p.bytes_written
    budget = target_bytes - start
    if budget <= 0:
        return
    i = 0
    mix = {"log": 0.35, "bin": 0.27, "arc": 0.15, "html": 0.12, "elf": 0.04, "lists": 0.015, "combo": 0.006,
           "small": 0.004, "tpl": 0.0003}
    done = dict.fromkeys(mix, 0)
    while p.bytes_written - start < budget:
        left = budget - (p.bytes_written - start)
        # the kind furthest behind its share of the volume, so shares hold whatever the sizes drawn
        kind = min(mix, key=lambda k: (done[k] / mix[k], k))
        before = p.bytes_written
        i += 1
        if kind == "log":
            size = min(left, r.randrange(1 << 20, 24 << 20))
            lk = r.choice(["apache", "apache", "nginx", "mail"])
            sub = {"apache": "apache2/access.log", "nginx": "nginx/error.log", "mail": "mail.log"}[lk]
            log_file(p, f"/var/log/{sub}.{i}", size, lk)
        elif kind == "bin":
            size = min(left, int(r.lognormvariate(13, 1.5)) + 4096)
            binary_file(p, f"/opt/data/blob_{i:05d}.{r.choice(['bin', 'dat', 'db', 'cache'])}", size, elf=False)
        elif kind == "elf":
            size = min(left, int(r.lognormvariate(12, 1.2)) + 4096)
            binary_file(p, f"/usr/lib/bot/lib{r.choice(WORDS)}_{i}.so", size, elf=True)
        elif kind == "html":
            html_page(p, f"/var/www/html/site{i // 500}/{r.choice(WORDS)}_{i}.html",
                      min(left, int(r.lognormvariate(9.5, 0.8))))
        elif kind == "arc":
            members = []
            want = min(left, r.randrange(1 << 20, 16 << 20))
            got = 0
            j = 0
            while got < want:
                j += 1
                if r.random() < 0.3:
                    lk = r.choice(["apache", "nginx"])
                    data = log_text(p, min(want - got, 1 << 20), lk)
                    members.append((f"backup/logs/{lk}_{j}.log", data))
                else:
                    data = r.randbytes(min(want - got, r.randrange(64 << 10, 4 << 20)))
                    members.append((f"backup/data/blob_{j}.bin", data))
                got += len(data)
            if r.random() < 0.5:
                blob, fmt = _tar_gz(members, level=1), "tar.gz"
            else:
                blob, fmt = _zip(members, stored=True), "zip"
            rel = p.write(f"/var/backups/backup_{i:05d}.{fmt}", blob, f"archive_{fmt}")
            p.manifest["archives"].append({"volume": p.volume, "path": rel, "format": fmt,
                                           "members": [m for m, _ in members]})
        elif kind == "lists":
            n = max(100, min(left // 28, r.randrange(5_000, 60_000)))
            enc = "utf-16-le" if r.random() < 0.15 else "utf-8"
            harvest_list(p, f"/home/spam/lists/more/list_{i:05d}.txt", n, encoding=enc)
        elif kind == "combo":
            n = max(50, min(left // 40, r.randrange(2_000, 20_000)))
            fmt = r.choice(COMBO_FORMATS)
            combo_list(p, f"/home/spam/combos/more/combo_{i:05d}.{'csv' if fmt == 'csv' else 'txt'}", n, fmt)
        elif kind == "small":
            small_text(p, i)
        else:
            spam_template(p, f"/home/spam/templates/more/tpl_{i:05d}.txt")
        done[kind] += p.bytes_written - before


def small_text(p: Planter, i: int) -> str:
    """A small configuration, script or documentation file, the bulk of any server's file count."""
    r = p.rng
    kind = r.choice(["conf", "sh", "doc", "php"])
    words = " ".join(r.choices(WORDS, k=r.randrange(50, 700)))
    if kind == "conf":
        body = "".join(f"{r.choice(WORDS)}_{r.choice(WORDS)}: {r.choice([str(r.randrange(1000)), r.choice(WORDS)])}\n"
                       for _ in range(r.randrange(5, 60)))
        rel = f"/etc/panel/conf.d/{r.choice(WORDS)}_{i}.conf"
    elif kind == "sh":
        body = "#!/bin/sh\n# " + words[:200] + "\n" + "".join(
            f"{r.choice(['cp', 'mv', 'rm -f', 'chmod 644'])} /home/spam/{r.choice(WORDS)}_{r.randrange(99)}\n"
            for _ in range(r.randrange(3, 40)))
        rel = f"/home/spam/bin/{r.choice(WORDS)}_{i}.sh"
    elif kind == "php":
        body = f"<?php\n// {words[:120]}\n$cfg = array('{r.choice(WORDS)}' => {r.randrange(100)});\n" + \
            "".join(f"function {r.choice(WORDS)}_{j}($a) {{ return $a * {r.randrange(9)}; }}\n"
                    for j in range(r.randrange(3, 50)))
        rel = f"/var/www/html/panel/inc/{r.choice(WORDS)}_{i}.php"
    else:
        body = words + "\n"
        rel = f"/usr/share/doc/{r.choice(WORDS)}{i % 97}/{r.choice(['README', 'NEWS', 'changelog'])}_{i}"
    return p.write(rel, body.encode("utf-8"), f"small_{kind}")


def fat_content(p: Planter) -> None:
    """A few files on the FAT partition (a USB stick plugged into the server)."""
    harvest_list(p, "/LISTS/USA.TXT", 200)
    combo_list(p, "/LISTS/SMTP.TXT", 40, "host:port:user:pass")
    spam_template(p, "/TEMPLATE.TXT")
    p.write("/README.TXT", b"backup of lists, do not delete\r\n", "documentation")


def summary(manifest: dict[str, Any]) -> dict[str, Any]:
    """Counts that a human reads first (also stored in planted.json under `summary`)."""
    emails = manifest.get("emails", {})
    return {
        "files": len(manifest.get("files", [])),
        "bytes": sum(f["size"] for f in manifest.get("files", [])),
        "emails": {k: len(v) for k, v in emails.items()},
        "emails_total": sum(len(v) for v in emails.values()),
        "credentials": sum(len(c["pairs"]) for c in manifest.get("combo_files", [])),
        "onions_valid": sum(1 for o in manifest.get("onions", []) if o["valid"]),
        "onions_invalid": sum(1 for o in manifest.get("onions", []) if not o["valid"]),
        "spam_templates": len(manifest.get("spam_templates", [])),
        "archives": len(manifest.get("archives", [])),
        "deleted": len(manifest.get("deleted", [])),
    }


def write_manifest(manifest: dict[str, Any], path: Path) -> None:
    """Save `manifest` (with a fresh `summary`) as JSON; sorted keys so reruns compare equal."""
    manifest["summary"] = summary(manifest)
    path.write_text(json.dumps(manifest, ensure_ascii=False, sort_keys=True, indent=1) + "\n", encoding="utf-8")
