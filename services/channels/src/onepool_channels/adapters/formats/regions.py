"""Region codes (ISO 3166-2 style, as inventory locations use them: "CN-SH") from what marketplaces send."""

from __future__ import annotations

import re

# Chinese provincial-level divisions as Taobao/Tmall write them (receiver_state), by the name's stem:
# "上海", "上海市", "浙江省", "内蒙古自治区" all start with their stem.
_CN_PROVINCES = {
    "北京": "BJ",
    "天津": "TJ",
    "河北": "HE",
    "山西": "SX",
    "内蒙古": "NM",
    "辽宁": "LN",
    "吉林": "JL",
    "黑龙江": "HL",
    "上海": "SH",
    "江苏": "JS",
    "浙江": "ZJ",
    "安徽": "AH",
    "福建": "FJ",
    "江西": "JX",
    "山东": "SD",
    "河南": "HA",
    "湖北": "HB",
    "湖南": "HN",
    "广东": "GD",
    "广西": "GX",
    "海南": "HI",
    "重庆": "CQ",
    "四川": "SC",
    "贵州": "GZ",
    "云南": "YN",
    "西藏": "XZ",
    "陕西": "SN",
    "甘肃": "GS",
    "青海": "QH",
    "宁夏": "NX",
    "新疆": "XJ",
    "台湾": "TW",
    "香港": "HK",
    "澳门": "MO",
}
_CODE = re.compile(r"^[A-Z0-9]{1,3}\Z")


def from_cn_province(name: str) -> str:
    """'浙江省' -> 'CN-ZJ'; an unrecognised name gives 'CN' (sourcing then has no regional preference)."""
    stem = name.strip()
    for prefix, code in _CN_PROVINCES.items():
        if stem.startswith(prefix):
            return f"CN-{code}"
    return "CN" if stem else ""


def from_codes(country_code: str, province_code: str) -> str:
    """Shopify's country_code 'CN' + province_code 'SH' -> 'CN-SH'."""
    country = country_code.strip().upper()
    province = province_code.strip().upper()
    if not country:
        return ""
    return f"{country}-{province}" if province and _CODE.match(province) else country
