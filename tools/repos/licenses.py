"""Which license a repository is under at a commit, and whether that is open source.

Evidence comes from four places, strongest first: license files at the root (LICENSE*,
LICENCE*, COPYING*, UNLICENSE), REUSE's ``LICENSES/<id>.txt``, package metadata
(pyproject.toml, setup.cfg, setup.py, package.json, Cargo.toml, composer.json, *.gemspec,
pom.xml) and ``SPDX-License-Identifier:`` headers in source files (used only when nothing
stronger exists, since vendored files carry their own).

License texts are recognised by distinctive phrases of their canonical wording, compared
after normalisation (lower case, punctuation and line breaks folded to single spaces),
so reflowed or re-punctuated copies still match. Rules are tried in order and the first
match wins: narrower licenses (LGPL, AGPL) come before the GPL whose text they mention.

Open source means OSI-approved (the allowlist below), plus CC0-1.0: OSI never approved it,
but as a public-domain dedication it grants more than any OSI license does.
"""

from __future__ import annotations

import configparser
import json
import re
import tomllib
from collections import Counter
from collections.abc import Callable
from pathlib import PurePosixPath

from pydantic import BaseModel

from tools.repos.git import LocalRepo
from tools.repos.records import LicenseFinding, LicenseReport, LicenseSource

PROPRIETARY = "LicenseRef-Proprietary"
OSI_APPROVED_UNSPECIFIED = "LicenseRef-OSI-Approved"

_OSI_APPROVED_TEXT = """
    0BSD AAL AFL-1.1 AFL-1.2 AFL-2.0 AFL-2.1 AFL-3.0 AGPL-3.0 APL-1.0 APSL-1.0 APSL-1.1
    APSL-1.2 APSL-2.0 Apache-1.1 Apache-2.0 Artistic-1.0 Artistic-1.0-Perl Artistic-2.0
    BSD-1-Clause BSD-2-Clause BSD-2-Clause-Patent BSD-3-Clause BSD-3-Clause-LBNL BSL-1.0
    CAL-1.0 CATOSL-1.1 CDDL-1.0 CECILL-2.1 CNRI-Python CPAL-1.0 CPL-1.0 CUA-OPL-1.0 ECL-1.0
    ECL-2.0 EFL-1.0 EFL-2.0 EPL-1.0 EPL-2.0 EUDatagrid EUPL-1.1 EUPL-1.2 Entessa Fair
    Frameworx-1.0 GPL-2.0 GPL-3.0 HPND IPA IPL-1.0 ISC Intel LGPL-2.0 LGPL-2.1 LGPL-3.0
    LPL-1.0 LPL-1.02 LPPL-1.3c MIT MIT-0 MIT-Modern-Variant MPL-1.0 MPL-1.1 MPL-2.0
    MPL-2.0-no-copyleft-exception MS-PL MS-RL MirOS Motosoto MulanPSL-2.0 Multics NASA-1.3
    NCSA NGPL NPOSL-3.0 NTP Naumen Nokia OCLC-2.0 OFL-1.1 OGTSL OLDAP-2.8 OSET-PL-2.1
    OSL-1.0 OSL-2.0 OSL-2.1 OSL-3.0 PHP-3.0 PHP-3.01 PSF-2.0 PostgreSQL Python-2.0 QPL-1.0
    RPL-1.1 RPL-1.5 RPSL-1.0 RSCPL SISSL SPL-1.0 SimPL-2.0 Sleepycat UCL-1.0 UPL-1.0
    Unicode-DFS-2016 Unicode-3.0 Unlicense VSL-1.0 W3C Watcom-1.0 Xnet ZPL-2.0 ZPL-2.1 Zlib
    CC0-1.0 BlueOak-1.0.0"""
OSI_APPROVED = frozenset(_OSI_APPROVED_TEXT.split())
_NOT_OPEN_SOURCE_TEXT = """
    BUSL-1.1 SSPL-1.0 Elastic-2.0 CC-BY-NC-4.0 CC-BY-NC-SA-4.0 CC-BY-NC-ND-4.0 WTFPL
    BSD-4-Clause JSON"""
NOT_OPEN_SOURCE = frozenset(_NOT_OPEN_SOURCE_TEXT.split())
OPEN_REFS = frozenset({OSI_APPROVED_UNSPECIFIED, "LicenseRef-BSD", "LicenseRef-GPL"})
CLOSED_REFS = frozenset({PROPRIETARY, "LicenseRef-Commons-Clause", "LicenseRef-PolyForm"})

_CANONICAL_IDS = {
    license_id.lower(): license_id for license_id in OSI_APPROVED | NOT_OPEN_SOURCE
} | {ref.lower(): ref for ref in OPEN_REFS | CLOSED_REFS}
_VERSION_SUFFIX = re.compile(r"(-only|-or-later|\+)$", re.IGNORECASE)


def normalize_text(text: str) -> str:
    """Lower case, every run of non-alphanumerics folded to one space."""
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split())


class _TextRule(BaseModel):
    license: str
    all_of: tuple[str, ...]
    none_of: tuple[str, ...] = ()


def _rule(license_id: str, *all_of: str, none_of: tuple[str, ...] = ()) -> _TextRule:
    return _TextRule(
        license=license_id,
        all_of=tuple(normalize_text(p) for p in all_of),
        none_of=tuple(normalize_text(p) for p in none_of),
    )


_MIT_GRANT = "Permission is hereby granted, free of charge, to any person obtaining a copy"
_MIT_NOTICE = "The above copyright notice and this permission notice shall be included"
_BSD_GRANT = (
    "Redistribution and use in source and binary forms, with or without modification, "
    "are permitted provided that the following conditions are met"
)
_BSD_ENDORSE = "may be used to endorse or promote products derived from this software"
_BSD_ADVERTISING = "All advertising materials mentioning features or use of this software"
_ISC_GRANT = "distribute this software for any purpose with or without fee is hereby granted"
_ISC_NOTICE = "provided that the above copyright notice and this permission notice appear in all"

# Licenses that restrict use: checked first, because they are often appended to an open
# text (the Commons Clause rides on Apache-2.0 or MIT).
_RESTRICTIVE_RULES = (
    _rule("LicenseRef-Commons-Clause", "Commons Clause"),
    _rule("BUSL-1.1", "Business Source License"),
    _rule("SSPL-1.0", "Server Side Public License"),
    _rule("Elastic-2.0", "Elastic License 2.0"),
    _rule("LicenseRef-PolyForm", "PolyForm"),
    _rule("CC-BY-NC-4.0", "Creative Commons", "Attribution-NonCommercial"),
)
_OPEN_RULES = (
    _rule("AGPL-3.0", "GNU Affero General Public License Version 3, 19 November 2007"),
    _rule(
        "AGPL-3.0",
        "GNU Affero General Public License as published by the Free Software Foundation",
    ),
    _rule("LGPL-3.0", "This version of the GNU Lesser General Public License incorporates"),
    _rule(
        "LGPL-3.0",
        "GNU Lesser General Public License as published by the Free Software Foundation, "
        "either version 3",
    ),
    _rule("LGPL-2.1", "GNU Lesser General Public License", "Version 2.1, February 1999"),
    _rule(
        "LGPL-2.1",
        "GNU Lesser General Public License as published by the Free Software Foundation; "
        "either version 2.1",
    ),
    _rule(
        "LGPL-2.0",
        "This license, the Library General Public License, applies to some specially designated",
    ),
    _rule("GPL-3.0", "GNU General Public License", "Version 3, 29 June 2007"),
    _rule(
        "GPL-3.0",
        "GNU General Public License as published by the Free Software Foundation, either version 3",
    ),
    _rule("GPL-2.0", "GNU General Public License", "Version 2, June 1991"),
    _rule(
        "GPL-2.0",
        "GNU General Public License as published by the Free Software Foundation; either version 2",
    ),
    _rule("Apache-2.0", "Apache License, Version 2.0"),
    _rule("Apache-1.1", "The Apache Software License, Version 1.1"),
    _rule("MPL-2.0", "Mozilla Public License Version 2.0"),
    _rule("MPL-2.0", "Mozilla Public License, v. 2.0"),
    _rule("MPL-1.1", "Mozilla Public License Version 1.1"),
    _rule("EPL-2.0", "Eclipse Public License - v 2.0"),
    _rule("EPL-2.0", "Eclipse Public License version 2.0"),
    _rule("EPL-1.0", "Eclipse Public License - v 1.0"),
    _rule("EUPL-1.2", "European Union Public Licence v. 1.2"),
    _rule("CDDL-1.0", "Common Development and Distribution License (CDDL) Version 1.0"),
    _rule("BSL-1.0", "Boost Software License - Version 1.0"),
    _rule("Artistic-2.0", "The Artistic License 2.0"),
    _rule("Artistic-1.0", "The intent of this document is to state the conditions under which a"),
    _rule("MS-PL", "Microsoft Public License (Ms-PL)"),
    _rule("UPL-1.0", "Universal Permissive License (UPL)"),
    _rule("OFL-1.1", "SIL Open Font License", "Version 1.1"),
    _rule("Unlicense", "This is free and unencumbered software released into the public domain"),
    _rule("CC0-1.0", "CC0 1.0 Universal"),
    _rule("BlueOak-1.0.0", "Blue Oak Model License", "Version 1.0.0"),
    _rule("WTFPL", "Do What The Fuck You Want To Public License"),
    _rule("BSD-4-Clause", _BSD_GRANT, _BSD_ADVERTISING),
    _rule("BSD-3-Clause", _BSD_GRANT, _BSD_ENDORSE),
    _rule("BSD-2-Clause", _BSD_GRANT),
    _rule("MIT", _MIT_GRANT, _MIT_NOTICE),
    _rule("MIT-0", _MIT_GRANT, "without restriction", none_of=(_MIT_NOTICE,)),
    _rule("ISC", _ISC_GRANT, _ISC_NOTICE),
    _rule("0BSD", _ISC_GRANT, none_of=(_ISC_NOTICE,)),
    _rule("Zlib", "Altered source versions must be plainly marked as such"),
    _rule("PSF-2.0", "PYTHON SOFTWARE FOUNDATION LICENSE VERSION 2"),
)
_PROPRIETARY_PHRASES = tuple(
    normalize_text(phrase)
    for phrase in (
        "All rights reserved",
        "proprietary and confidential",
        "Unauthorized copying of this file",
        "may not be copied, modified, or distributed",
        "without the express written permission",
        "This software is proprietary",
    )
)


def identify_license_text(text: str) -> str | None:
    """The SPDX id whose canonical wording ``text`` contains; LicenseRef-Proprietary for
    "all rights reserved" texts that grant nothing; None when no rule matches."""
    normalized = normalize_text(text)
    if not normalized:
        return None
    for rule in (*_RESTRICTIVE_RULES, *_OPEN_RULES):
        if all(p in normalized for p in rule.all_of) and not any(
            p in normalized for p in rule.none_of
        ):
            return rule.license
    if any(phrase in normalized for phrase in _PROPRIETARY_PHRASES):
        return PROPRIETARY
    return None


# Free-form names that package metadata uses instead of SPDX ids (keys are normalized).
_ALIASES = {
    "mit": "MIT",
    "mit license": "MIT",
    "the mit license": "MIT",
    "expat": "MIT",
    "apache": "Apache-2.0",
    "apache2": "Apache-2.0",
    "apache 2": "Apache-2.0",
    "apache 2 0": "Apache-2.0",
    "apache license 2 0": "Apache-2.0",
    "apache license version 2 0": "Apache-2.0",
    "apache software license": "Apache-2.0",
    "apache software license 2 0": "Apache-2.0",
    "asl 2 0": "Apache-2.0",
    "bsd": "LicenseRef-BSD",
    "bsd license": "LicenseRef-BSD",
    "new bsd": "BSD-3-Clause",
    "new bsd license": "BSD-3-Clause",
    "modified bsd": "BSD-3-Clause",
    "revised bsd": "BSD-3-Clause",
    "bsd 3": "BSD-3-Clause",
    "bsd 3 clause": "BSD-3-Clause",
    "3 clause bsd": "BSD-3-Clause",
    "simplified bsd": "BSD-2-Clause",
    "freebsd": "BSD-2-Clause",
    "bsd 2": "BSD-2-Clause",
    "bsd 2 clause": "BSD-2-Clause",
    "2 clause bsd": "BSD-2-Clause",
    "gpl": "LicenseRef-GPL",
    "gnu gpl": "LicenseRef-GPL",
    "gplv2": "GPL-2.0-only",
    "gpl 2": "GPL-2.0-only",
    "gpl v2": "GPL-2.0-only",
    "gplv2+": "GPL-2.0-or-later",
    "gplv3": "GPL-3.0-only",
    "gpl 3": "GPL-3.0-only",
    "gpl v3": "GPL-3.0-only",
    "gplv3+": "GPL-3.0-or-later",
    "lgpl": "LGPL-2.1",
    "lgplv2": "LGPL-2.0",
    "lgplv2 1": "LGPL-2.1",
    "lgplv2+": "LGPL-2.0-or-later",
    "lgpl 2 1": "LGPL-2.1",
    "lgplv3": "LGPL-3.0-only",
    "lgpl 3": "LGPL-3.0-only",
    "lgplv3+": "LGPL-3.0-or-later",
    "agpl": "AGPL-3.0",
    "agplv3": "AGPL-3.0-only",
    "agpl 3": "AGPL-3.0-only",
    "agplv3+": "AGPL-3.0-or-later",
    "mpl 2 0": "MPL-2.0",
    "mpl2": "MPL-2.0",
    "mozilla public license 2 0": "MPL-2.0",
    "isc": "ISC",
    "iscl": "ISC",
    "isc license": "ISC",
    "the unlicense": "Unlicense",
    "zlib": "Zlib",
    "zlib libpng": "Zlib",
    "boost": "BSL-1.0",
    "boost software license 1 0": "BSL-1.0",
    "epl 2 0": "EPL-2.0",
    "eclipse public license 2 0": "EPL-2.0",
    "cc0": "CC0-1.0",
    "psf": "PSF-2.0",
    "python software foundation license": "PSF-2.0",
    "proprietary": PROPRIETARY,
    "commercial": PROPRIETARY,
    "closed source": PROPRIETARY,
    "all rights reserved": PROPRIETARY,
    "private": PROPRIETARY,
    "unlicensed": PROPRIETARY,  # npm's word for "no license granted", not the Unlicense
    "other proprietary license": PROPRIETARY,
}


def _alias_key(name: str) -> str:
    """Normalize a license name for alias lookup, keeping a trailing "+" (or later)."""
    plus = "+" if name.strip().endswith("+") else ""
    return normalize_text(name) + plus


# --- SPDX expressions -------------------------------------------------------------------

# An id, or (operator, left, right); for "WITH" the right side is the exception's id.
_Expr = str | tuple[str, "_Expr", "_Expr"]
_TOKEN = re.compile(r"\(|\)|[A-Za-z0-9.+:-]+")


def _canonical_id(token: str) -> str | None:
    """The canonical spelling of a known SPDX id (version suffixes kept), else None."""
    suffix_match = _VERSION_SUFFIX.search(token)
    suffix = suffix_match.group(0) if suffix_match else ""
    base = token[: len(token) - len(suffix)] if suffix else token
    known = _CANONICAL_IDS.get(base.lower())
    if known is None:
        return token if token.startswith("LicenseRef-") else None
    return known + suffix.lower()


def parse_spdx_expression(text: str) -> _Expr | None:
    """Parse "MIT OR (Apache-2.0 AND Zlib)"-style expressions; None unless every id is known
    (or a LicenseRef-) and the syntax is valid."""
    tokens = _TOKEN.findall(text)
    if not tokens or "".join(tokens) != re.sub(r"\s+", "", text):
        return None
    position = 0

    def peek() -> str | None:
        return tokens[position] if position < len(tokens) else None

    def take() -> str:
        nonlocal position
        position += 1
        return tokens[position - 1]

    def parse_or() -> _Expr | None:
        left = parse_and()
        while left is not None and (peek() or "").upper() == "OR":
            take()
            right = parse_and()
            left = None if right is None else ("OR", left, right)
        return left

    def parse_and() -> _Expr | None:
        left = parse_with()
        while left is not None and (peek() or "").upper() == "AND":
            take()
            right = parse_with()
            left = None if right is None else ("AND", left, right)
        return left

    def parse_with() -> _Expr | None:
        atom = parse_atom()
        if atom is not None and (peek() or "").upper() == "WITH":
            take()
            exception = peek()
            if exception is None or exception in {"(", ")"}:
                return None
            return ("WITH", atom, take())
        return atom

    def parse_atom() -> _Expr | None:
        token = peek()
        if token is None or token == ")" or token.upper() in {"AND", "OR", "WITH"}:
            return None
        take()
        if token == "(":
            inner = parse_or()
            if peek() != ")":
                return None
            take()
            return inner
        return _canonical_id(token)

    expression = parse_or()
    return expression if position == len(tokens) else None


def _format(expression: _Expr, *, nested: bool = False) -> str:
    if isinstance(expression, str):
        return expression
    operator, left, right = expression
    text = f"{_format(left, nested=True)} {operator} {_format(right, nested=True)}"
    return f"({text})" if nested and operator == "OR" else text


def _leaf_open(license_id: str) -> bool | None:
    base = _VERSION_SUFFIX.sub("", license_id)
    if base in OSI_APPROVED or base in OPEN_REFS:
        return True
    if base in NOT_OPEN_SOURCE or base in CLOSED_REFS:
        return False
    return None


def is_open_source(expression: str | None) -> bool | None:
    """True if the SPDX expression grants an open-source license, False if it does not,
    None if it names something unknown. OR needs one open branch, AND needs all."""
    if not expression:
        return None
    parsed = parse_spdx_expression(expression)
    if parsed is None:
        return None

    def evaluate(node: _Expr) -> bool | None:
        if isinstance(node, str):
            return _leaf_open(node)
        operator, left, right = node
        if operator == "WITH":
            return evaluate(left)  # an exception only adds permissions
        values = (evaluate(left), evaluate(right))
        if operator == "OR":
            if True in values:
                return True
            return False if values == (False, False) else None
        if False in values:
            return False
        return True if values == (True, True) else None

    return evaluate(parsed)


def resolve_license_name(name: str) -> str | None:
    """An SPDX expression for what metadata says: an expression, a common name, or a text."""
    name = name.strip()
    if not name:
        return None
    parsed = parse_spdx_expression(name)
    if parsed is not None:
        return _format(parsed)
    alias = _ALIASES.get(_alias_key(name))
    if alias is not None:
        return alias
    return identify_license_text(name)


def _classifier_license(classifier: str) -> str | None:
    """SPDX id for a trove classifier such as "License :: OSI Approved :: MIT License"."""
    parts = [part.strip() for part in classifier.split("::")]
    if len(parts) < 2 or parts[0] != "License":
        return None
    if parts[1] == "Other/Proprietary License":
        return PROPRIETARY
    if parts[1] != "OSI Approved":
        return None
    name = parts[-1]
    abbreviation = re.search(r"\(([^)]+)\)\s*$", name)
    for candidate in (abbreviation.group(1) if abbreviation else None, name):
        if candidate:
            resolved = _ALIASES.get(_alias_key(candidate)) or resolve_license_name(candidate)
            if resolved and is_open_source(resolved):
                return resolved
    return OSI_APPROVED_UNSPECIFIED  # approved by the classifier's own words


# --- Finding evidence in a repository ---------------------------------------------------


_LICENSE_FILE = re.compile(r"^(un)?licen[cs]e([._-].*)?$|^copying([._-].*)?$", re.IGNORECASE)
_VENDORED = {"node_modules", "vendor", "third_party", "third-party", "thirdparty", "external"}
_MAX_LICENSE_BYTES = 200_000


def _finding(
    source: LicenseSource, path: str, license_id: str | None, detail: str = ""
) -> LicenseFinding:
    return LicenseFinding(
        source=source,
        path=path,
        license=license_id,
        open_source=is_open_source(license_id),
        detail=detail,
    )


def _text(data: bytes | None) -> str:
    return data.decode("utf-8", errors="replace") if data else ""


def _metadata_names_pyproject(text: str) -> list[tuple[str, str]]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return []
    names: list[tuple[str, str]] = []
    for table_name, table in (
        ("project", data.get("project", {})),
        ("tool.poetry", data.get("tool", {}).get("poetry", {})),
    ):
        license_value = table.get("license")
        if isinstance(license_value, str):
            names.append((f"[{table_name}].license", license_value))
        elif isinstance(license_value, dict) and isinstance(license_value.get("text"), str):
            names.append((f"[{table_name}].license.text", license_value["text"]))
        elif isinstance(license_value, dict) and isinstance(license_value.get("file"), str):
            names.append((f"[{table_name}].license.file", "file:" + license_value["file"]))
        names += [
            (f"[{table_name}].classifiers", "classifier:" + c)
            for c in table.get("classifiers", [])
            if isinstance(c, str) and c.startswith("License ::")
        ]
    return names


def _metadata_names_setup_cfg(text: str) -> list[tuple[str, str]]:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text)
    except configparser.Error:
        return []
    if not parser.has_section("metadata"):
        return []
    names = []
    for key in ("license_expression", "license"):
        if parser.has_option("metadata", key):
            names.append((f"[metadata].{key}", parser.get("metadata", key)))
    if parser.has_option("metadata", "classifiers"):
        names += [
            ("[metadata].classifiers", "classifier:" + line.strip())
            for line in parser.get("metadata", "classifiers").splitlines()
            if line.strip().startswith("License ::")
        ]
    return names


def _metadata_names_setup_py(text: str) -> list[tuple[str, str]]:
    names = [
        ("license=", m.group(1))
        for m in re.finditer(r"\blicense\s*=\s*['\"]([^'\"]{1,200})['\"]", text)
    ]
    names += [
        ("classifiers", "classifier:" + m.group(1))
        for m in re.finditer(r"['\"](License ::[^'\"]+)['\"]", text)
    ]
    return names


def _metadata_names_package_json(text: str) -> list[tuple[str, str]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return []
    if not isinstance(data, dict):
        return []
    names = []
    value = data.get("license")
    if isinstance(value, dict):
        value = value.get("type")
    if isinstance(value, str):
        match = re.match(r"(?i)see licen[cs]e in (.+)", value.strip())
        names.append(("license", "file:" + match.group(1).strip() if match else value))
    for item in data.get("licenses", []) if isinstance(data.get("licenses"), list) else []:
        if isinstance(item, dict) and isinstance(item.get("type"), str):
            names.append(("licenses[].type", item["type"]))
    return names


def _metadata_names_cargo(text: str) -> list[tuple[str, str]]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return []
    names = []
    for table_name, table in (
        ("package", data.get("package", {})),
        ("workspace.package", data.get("workspace", {}).get("package", {})),
    ):
        if isinstance(table.get("license"), str):
            names.append((f"[{table_name}].license", table["license"]))
        if isinstance(table.get("license-file"), str):
            names.append((f"[{table_name}].license-file", "file:" + table["license-file"]))
    return names


def _metadata_names_composer(text: str) -> list[tuple[str, str]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return []
    value = data.get("license") if isinstance(data, dict) else None
    if isinstance(value, str):
        return [("license", value)]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return [("license", " OR ".join(value))]  # composer lists are alternatives
    return []


def _metadata_names_gemspec(text: str) -> list[tuple[str, str]]:
    match = re.search(r"\.licenses?\s*=\s*\[?\s*['\"]([^'\"]+)['\"]", text)
    return [("license", match.group(1))] if match else []


def _metadata_names_pom(text: str) -> list[tuple[str, str]]:
    match = re.search(r"<license>\s*<name>([^<]+)</name>", text)
    return [("<license><name>", match.group(1))] if match else []


_METADATA_PARSERS: dict[str, Callable[[str], list[tuple[str, str]]]] = {
    "pyproject.toml": _metadata_names_pyproject,
    "setup.cfg": _metadata_names_setup_cfg,
    "setup.py": _metadata_names_setup_py,
    "package.json": _metadata_names_package_json,
    "Cargo.toml": _metadata_names_cargo,
    "composer.json": _metadata_names_composer,
    "pom.xml": _metadata_names_pom,
}


def _metadata_parser(path: str) -> Callable[[str], list[tuple[str, str]]] | None:
    if path.endswith(".gemspec"):
        return _metadata_names_gemspec
    return _METADATA_PARSERS.get(path)


def _spdx_from_header(line: str) -> str:
    value = line.split("SPDX-License-Identifier:", 1)[1]
    value = re.split(r"\*/|-->|#}|\"|'", value)[0]
    return value.strip().rstrip(";,")


def collect_license_findings(repo: LocalRepo, sha: str) -> list[LicenseFinding]:
    """Every piece of license evidence in the tree at ``sha``: the root's license files,
    REUSE folder and package metadata; when the root has none (a monorepo whose packages
    each carry their own), those of the package folders; then SPDX headers."""
    paths = [entry.path for entry in repo.list_files(sha)]
    reuse = []
    for path in sorted(paths):
        pure = PurePosixPath(path)
        if len(pure.parts) == 2 and pure.parts[0] == "LICENSES":
            license_id = resolve_license_name(pure.stem)
            reuse.append(_finding("reuse_dir", path, license_id or f"LicenseRef-{pure.stem}"))
    findings = _folder_findings(repo, sha, paths, "", after_files=reuse)
    if not findings:
        for folder in _package_folders(paths):
            findings += _folder_findings(repo, sha, paths, folder)
    if not findings:
        findings += _header_findings(repo, sha)
    return findings


# Folders whose manifests are not the project's packages.
_NOT_PACKAGES = _VENDORED | {
    *("test", "tests", "testing", "fixtures", "example", "examples", "docs", "benchmarks"),
}


def _package_folders(paths: list[str]) -> list[str]:
    """Folders one or two levels down that hold a package manifest (a monorepo's packages)."""
    folders = set()
    for path in paths:
        pure = PurePosixPath(path)
        parents = pure.parts[:-1]
        is_manifest = _metadata_parser(pure.name) is not None
        if (
            is_manifest
            and 1 <= len(parents) <= 2
            and not {p.lower() for p in parents} & _NOT_PACKAGES
        ):
            folders.add("/".join(parents))
    return sorted(folders)


def _folder_findings(
    repo: LocalRepo,
    sha: str,
    paths: list[str],
    folder: str,
    after_files: list[LicenseFinding] | None = None,
) -> list[LicenseFinding]:
    """License files, then ``after_files``, then package metadata, directly in ``folder``
    ("" for the root)."""
    prefix = f"{folder}/" if folder else ""
    here = sorted(
        path for path in paths if path.startswith(prefix) and "/" not in path[len(prefix) :]
    )
    findings: list[LicenseFinding] = []

    def file_finding(source: LicenseSource, path: str, detail: str = "") -> LicenseFinding:
        text = _text(repo.read_file(sha, path, max_bytes=_MAX_LICENSE_BYTES))
        return _finding(source, path, identify_license_text(text), detail)

    for path in here:
        if _LICENSE_FILE.match(path[len(prefix) :]):
            findings.append(file_finding("license_file", path))
    findings += after_files or []
    for path in here:
        parser = _metadata_parser(path[len(prefix) :])
        if parser is None:
            continue
        for detail, name in parser(_text(repo.read_file(sha, path))):
            if name.startswith("classifier:"):
                license_id = _classifier_license(name.removeprefix("classifier:"))
                if license_id is not None:
                    findings.append(_finding("package_metadata", path, license_id, detail))
            elif name.startswith("file:"):
                target = str(PurePosixPath(prefix + name.removeprefix("file:").strip()))
                if target in paths and not any(f.path == target for f in findings):
                    findings.append(file_finding("license_file", target, f"named by {path}"))
            else:
                findings.append(
                    _finding("package_metadata", path, resolve_license_name(name), detail)
                )
    return findings


def _header_findings(repo: LocalRepo, sha: str) -> list[LicenseFinding]:
    """The most common SPDX header outside vendored directories, as one finding."""
    counts: Counter[str] = Counter()
    examples: dict[str, str] = {}
    for path, line in repo.grep(sha, r"SPDX-License-Identifier:"):
        if set(PurePosixPath(path).parts[:-1]) & _VENDORED:
            continue
        expression = _spdx_from_header(line)
        counts[expression] += 1
        examples.setdefault(expression, path)
    if not counts:
        return []
    expression, count = counts.most_common(1)[0]
    license_id = resolve_license_name(expression)
    detail = f"in {count} of {sum(counts.values())} files with an SPDX header"
    return [_finding("spdx_header", examples[expression], license_id or expression, detail)]


def decide_license(findings: list[LicenseFinding], where: str) -> LicenseReport:
    """One decision from all findings (rules in order):

    1. nothing found: not open source (unknown license);
    2. an open and a closed finding together: cannot tell (a human reads the files);
    3. any open finding: open source, named by the strongest open finding;
    4. any closed finding: not open source;
    5. only unrecognised texts: not open source (unknown license).
    """
    if not findings:
        return LicenseReport(
            license=None,
            open_source=False,
            reason=f"no license file, package license field or SPDX header at {where}",
        )
    opened = [f for f in findings if f.open_source is True]
    closed = [f for f in findings if f.open_source is False]
    if opened and closed:
        return LicenseReport(
            license=None,
            open_source=None,
            reason=f"license evidence disagrees: {_describe(opened[0])} but {_describe(closed[0])}",
            findings=findings,
        )
    if opened:
        chosen = opened[0]
        return LicenseReport(
            license=chosen.license,
            open_source=True,
            reason=f"open source: {_describe(chosen)}",
            findings=findings,
        )
    if closed:
        chosen = closed[0]
        return LicenseReport(
            license=chosen.license,
            open_source=False,
            reason=f"not open source: {_describe(chosen)}",
            findings=findings,
        )
    return LicenseReport(
        license=None,
        open_source=False,
        reason=f"unrecognised license: {', '.join(sorted({f.path for f in findings}))} "
        "match no known license",
        findings=findings,
    )


def _describe(finding: LicenseFinding) -> str:
    label = finding.license or "an unrecognised license"
    detail = f" {finding.detail}" if finding.detail else ""
    return f"{finding.path}{detail} says {label}"


def detect_license(repo: LocalRepo, sha: str) -> LicenseReport:
    """The license of the tree at ``sha`` and whether it is open source."""
    return decide_license(collect_license_findings(repo, sha), sha[:12])
