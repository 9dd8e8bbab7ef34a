"""The currencies an amount may be in: ISO 4217 List One as published 2026-01-01, each code with its minor unit
(how many decimal places an amount in it has; money is kept in those minor units).

A frozen table rather than a dependency: the kernel is the standard library only, the list changes a few times a
year, and a lookup costs nothing. Left out are the List One codes that have no minor unit ("N.A."): precious
metals (XAU, XAG, XPT, XPD), bond-market units (XBA..XBD), the SDR (XDR), XSU, XUA, the testing code XTS and XXX
("no currency"), none of which a price is in. Codes withdrawn from the list (HRK, SLL, ZWL, ANG...) are not
taken for new money; rows stored under one stay readable, since only requests are checked against this table.
When ISO amends the list, update the table here: every service's request checks follow it.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

_TWO_DECIMALS = """
AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BMD BND BOB BOV BRL BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CNY
COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS
INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR
MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP
STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST XAD XCD XCG YER ZAR ZMW ZWG
"""
_OTHER_DECIMALS = {
    0: "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF",
    3: "BHD IQD JOD KWD LYD OMR TND",
    4: "CLF UYW",
}

# Code -> minor unit (decimal places).
MINOR_UNITS: Mapping[str, int] = MappingProxyType(
    {code: 2 for code in _TWO_DECIMALS.split()}
    | {code: places for places, codes in _OTHER_DECIMALS.items() for code in codes.split()}
)


def is_currency(code: str) -> bool:
    """An active ISO 4217 code an amount can be in (upper case, as ISO writes it)."""
    return code in MINOR_UNITS
