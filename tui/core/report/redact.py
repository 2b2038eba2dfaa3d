"""Masking of handles, account ids, contact details and links inside quoted post text.

Quotes in a write-up carry only the post's pseudonymous label; the people named or reachable in
them are masked. The patterns, applied in this order, are listed in `PATTERNS` and docs/reports.md.
"""

from __future__ import annotations

import re

__all__ = ["MASK", "PATTERNS", "mask"]

MASK = "***"

# Labels that announce an account id or contact: "小红书号：12345", "vx: abc_123", "QQ 123456".
_ZH_LABELS = ("小红书号|小红书ID|小红书id|红书号|红薯号|抖音号|快手号|微博号|微博|微信号|微信|威信|薇信|V信|v信|"
              "QQ号|qq号|扣扣|电报号?|飞机号?|手机号码?|手机|电话号码?|电话|联系方式|账号|帐号|用户名|ID号")
_EN_LABELS = r"(?<![A-Za-z])(?:vx|wx|wechat|weixin|qq|telegram|tg|whatsapp|line|uid|id|tel|phone)(?![A-Za-z])"
_URL_CHARS = r"[A-Za-z0-9\-._~:/?#@!$&'()*+,;=%]"  # no brackets: they end a link in running text

PATTERNS: list[tuple[str, re.Pattern[str], str]] = [
    ("links", re.compile(rf"(?:https?://|www\.){_URL_CHARS}+", re.I), "<link>"),
    ("e-mail addresses", re.compile(r"[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"), f"{MASK}@{MASK}"),
    ("labelled account ids", re.compile(
        rf"((?:{_ZH_LABELS}|{_EN_LABELS})\s*(?:是|为|[:：=]|\s)?\s*)[A-Za-z0-9_\-.+]{{3,}}", re.I), rf"\1{MASK}"),
    ("@mentions", re.compile(r"[@＠][^\s@＠,，。.!！?？:：;；、()（）\[\]【】<>《》\"'“”‘’#＃]+"), f"@{MASK}"),
    ("phone numbers", re.compile(
        r"(?<![\d+])(?:(?:\+|00)\d{1,3}[\s-]?)?(?:1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}|\d{3,4}[\s-]\d{7,8})(?!\d)"
        r"|\+\d{1,3}[\s-]?\d[\d\s-]{6,}\d"), MASK),
    ("platform post ids", re.compile(r"(?<![0-9a-f])[0-9a-f]{24}(?![0-9a-f])"), MASK),
]


def mask(text: str) -> str:
    """The text with links, e-mail addresses, labelled account ids, @mentions and phone numbers masked."""
    for _, pattern, replacement in PATTERNS:
        text = pattern.sub(replacement, text)
    return text
