"""Voters' e-mail addresses and client addresses: how they are compared, which are refused,
and what the review page may group them by.

One vote per address per theme only holds if two spellings of one mailbox count as one. Every
address is folded to lower case; providers known to ignore dots in the local part (Gmail) or
everything after a `+` (Gmail, Outlook, iCloud, Proton, Fastmail, Yahoo's `-` is a separate
feature and is not folded) are folded further, and Gmail's two domains are one.
"""

import ipaddress
import re

from disposable_email_domains import blocklist
from email_validator import EmailNotValidError, validate_email

# Providers that deliver name.surname@ and namesurname@ to one mailbox.
DOTS_IGNORED = frozenset({"gmail.com", "googlemail.com"})
# Providers that deliver name+anything@ to name@.
PLUS_TAGS_IGNORED = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "msn.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "protonmail.com",
        "proton.me",
        "pm.me",
        "fastmail.com",
    }
)
SAME_MAILBOX_DOMAIN = {"googlemail.com": "gmail.com"}

# The maintained list of disposable e-mail domains, from the PyPI package
# `disposable-email-domains` (github.com/disposable-email-domains/disposable-email-domains).
DISPOSABLE_DOMAINS: frozenset[str] = frozenset(blocklist)


def fold_address(address: str) -> str:
    """The mailbox an address reaches, as one string: what "one vote per address" compares."""
    try:
        valid = validate_email(address.strip(), check_deliverability=False)
        local, domain = valid.local_part, valid.ascii_domain
    except EmailNotValidError:
        local, _, domain = address.strip().rpartition("@")
    local, domain = local.casefold(), domain.casefold().rstrip(".")
    if domain in PLUS_TAGS_IGNORED:
        local = local.split("+", 1)[0]
    if domain in DOTS_IGNORED:
        local = local.replace(".", "")
    domain = SAME_MAILBOX_DOMAIN.get(domain, domain)
    return f"{local}@{domain}"


def is_disposable(address: str) -> bool:
    """Whether the address is at a disposable domain, or a subdomain of one."""
    domain = address.rpartition("@")[2].casefold().rstrip(".")
    parts = domain.split(".")
    return any(".".join(parts[i:]) in DISPOSABLE_DOMAINS for i in range(len(parts) - 1))


def network_of(client: str) -> str:
    """The network a client address belongs to, as the review page groups them: its /24 for
    IPv4, its /48 for IPv6 (one household, office or small provider's block)."""
    try:
        ip = ipaddress.ip_address(client)
    except ValueError:
        return "unknown"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


_DIGITS = re.compile(r"[0-9]+")


def address_pattern(address: str) -> str:
    """The shape of an address for the review page: each run of digits as one `#`, so that
    voter1@, voter2@ … voter999@ show as one pattern, `voter#@`. The page lists a pattern only
    when many different addresses share it, which no one person's address does."""
    local, _, domain = address.rpartition("@")
    return f"{_DIGITS.sub('#', local)}@{domain}"
