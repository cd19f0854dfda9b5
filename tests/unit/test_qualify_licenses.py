"""tools.repos.licenses: recognising license texts, metadata and SPDX expressions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools.repos.builder import build_repo
from tools.repos.git import open_repo
from tools.repos.licenses import (
    PROPRIETARY,
    detect_license,
    identify_license_text,
    is_open_source,
    resolve_license_name,
)
from tools.repos.records import CommitSpec

MIT = """MIT License

Copyright (c) 2024 Jane Doe

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY.
"""
MIT_0 = """MIT No Attribution

Copyright 2024 Jane Doe

Permission is hereby granted, free of charge, to any person obtaining a copy of this
software and associated documentation files (the "Software"), to deal in the Software
without restriction, including without limitation the rights to use, copy, modify,
merge, publish, distribute, sublicense, and/or sell copies of the Software, and to
permit persons to whom the Software is furnished to do so.
"""
APACHE = """
                                 Apache License
                           Version 2.0, January 2004
                        http://www.apache.org/licenses/

   TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION
"""
BSD_HEAD = """Copyright (c) 2020, Jane Doe
All rights reserved.

Redistribution and use in source and binary forms, with or without
modification, are permitted provided that the following conditions are met:

1. Redistributions of source code must retain the above copyright notice, this
   list of conditions and the following disclaimer.
"""
BSD_3 = (
    BSD_HEAD
    + """
3. Neither the name of the copyright holder nor the names of its
   contributors may be used to endorse or promote products derived from
   this software without specific prior written permission.
"""
)
BSD_4 = (
    BSD_3
    + """
4. All advertising materials mentioning features or use of this software must
   display the following acknowledgement: This product includes software.
"""
)
ISC = """ISC License

Copyright (c) 2024, Jane Doe

Permission to use, copy, modify, and/or distribute this software for any
purpose with or without fee is hereby granted, provided that the above
copyright notice and this permission notice appear in all copies.
"""
ZERO_BSD = """Permission to use, copy, modify, and/or distribute this software for any
purpose with or without fee is hereby granted.

THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES.
"""
GPL_3 = """                    GNU GENERAL PUBLIC LICENSE
                       Version 3, 29 June 2007

 Copyright (C) 2007 Free Software Foundation, Inc. <https://fsf.org/>
 Everyone is permitted to copy and distribute verbatim copies
 of this license document, but changing it is not allowed.

                            Preamble

  The GNU General Public License is a free, copyleft license for
software and other kinds of works.
"""
GPL_2 = """                    GNU GENERAL PUBLIC LICENSE
                       Version 2, June 1991

 Copyright (C) 1989, 1991 Free Software Foundation, Inc.,
"""
LGPL_3 = """                   GNU LESSER GENERAL PUBLIC LICENSE
                       Version 3, 29 June 2007

  This version of the GNU Lesser General Public License incorporates
the terms and conditions of version 3 of the GNU General Public
License, supplemented by the additional permissions listed below.
"""
LGPL_21 = """                  GNU LESSER GENERAL PUBLIC LICENSE
                       Version 2.1, February 1999
"""
AGPL_3 = """                    GNU AFFERO GENERAL PUBLIC LICENSE
                       Version 3, 19 November 2007
"""
MPL_2 = """Mozilla Public License Version 2.0
==================================

1. Definitions
--------------
"""
UNLICENSE = """This is free and unencumbered software released into the public domain.

Anyone is free to copy, modify, publish, use, compile, sell, or
distribute this software.
"""
CC0 = """Creative Commons Legal Code

CC0 1.0 Universal
"""
ZLIB = """This software is provided 'as-is', without any express or implied
warranty.

2. Altered source versions must be plainly marked as such, and must not be
   misrepresented as being the original software.
"""
BOOST = "Boost Software License - Version 1.0 - August 17th, 2003\n"
EPL_2 = "Eclipse Public License - v 2.0\n\n    THE ACCOMPANYING PROGRAM IS PROVIDED UNDER..."
PROPRIETARY_TEXT = """Copyright (c) 2024 Acme Corp. All rights reserved.

This software is proprietary and confidential. Unauthorized copying of this file,
via any medium, is strictly prohibited.
"""
COMMONS_CLAUSE = (
    APACHE
    + """
"Commons Clause" License Condition v1.0

The Software is provided to you by the Licensor under the License, as defined below,
subject to the following condition.
"""
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (MIT, "MIT"),
        (MIT_0, "MIT-0"),
        (APACHE, "Apache-2.0"),
        (BSD_3, "BSD-3-Clause"),
        (BSD_HEAD, "BSD-2-Clause"),
        (BSD_4, "BSD-4-Clause"),
        (ISC, "ISC"),
        (ZERO_BSD, "0BSD"),
        (GPL_3, "GPL-3.0"),
        (GPL_2, "GPL-2.0"),
        (LGPL_3, "LGPL-3.0"),
        (LGPL_21, "LGPL-2.1"),
        (AGPL_3, "AGPL-3.0"),
        (MPL_2, "MPL-2.0"),
        (UNLICENSE, "Unlicense"),
        (CC0, "CC0-1.0"),
        (ZLIB, "Zlib"),
        (BOOST, "BSL-1.0"),
        (EPL_2, "EPL-2.0"),
        (PROPRIETARY_TEXT, PROPRIETARY),
        (COMMONS_CLAUSE, "LicenseRef-Commons-Clause"),
        ("Do whatever, I guess.", None),
        ("", None),
    ],
)
def test_license_texts_are_recognised_by_their_distinctive_phrases(
    text: str, expected: str | None
) -> None:
    assert identify_license_text(text) == expected


def test_recognition_survives_reflowing_and_comment_markers() -> None:
    reflowed = " ".join(MIT.split())
    commented = "\n".join(f"# {line}" for line in MIT.splitlines())
    assert identify_license_text(reflowed) == "MIT"
    assert identify_license_text(commented) == "MIT"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("debian-GPL-3", "GPL-3.0"),
        ("debian-GPL-2", "GPL-2.0"),
        ("debian-LGPL-2.1", "LGPL-2.1"),
        ("debian-LGPL-3", "LGPL-3.0"),
        ("debian-Apache-2.0", "Apache-2.0"),
        ("debian-MPL-2.0", "MPL-2.0"),
        ("debian-CC0-1.0", "CC0-1.0"),
        ("debian-BSD", "BSD-3-Clause"),
    ],
)
def test_full_canonical_texts_shipped_by_debian_are_recognised(name: str, expected: str) -> None:
    path = Path("/usr/share/common-licenses") / name.removeprefix("debian-")
    if not path.exists():
        pytest.skip(f"{path} is not on this machine")
    assert identify_license_text(path.read_text()) == expected


@pytest.mark.parametrize(
    ("name", "expected", "open_source"),
    [
        ("MIT", "MIT", True),
        ("MIT License", "MIT", True),
        ("Apache License, Version 2.0", "Apache-2.0", True),
        ("apache-2.0", "Apache-2.0", True),
        ("GPL-3.0-or-later", "GPL-3.0-or-later", True),
        ("GPL-2.0+", "GPL-2.0+", True),
        ("MIT OR Apache-2.0", "MIT OR Apache-2.0", True),
        ("(MIT AND BUSL-1.1) OR GPL-2.0-only", "MIT AND BUSL-1.1 OR GPL-2.0-only", True),
        ("MIT AND BUSL-1.1", "MIT AND BUSL-1.1", False),
        (
            "GPL-2.0-only WITH Classpath-exception-2.0",
            "GPL-2.0-only WITH Classpath-exception-2.0",
            True,
        ),
        ("UNLICENSED", PROPRIETARY, False),
        ("Unlicense", "Unlicense", True),
        ("Proprietary", PROPRIETARY, False),
        ("SSPL-1.0", "SSPL-1.0", False),
        ("LicenseRef-Custom", "LicenseRef-Custom", None),
        ("Some House License", None, None),
    ],
)
def test_metadata_names_resolve_to_spdx_and_open_source_status(
    name: str, expected: str | None, open_source: bool | None
) -> None:
    resolved = resolve_license_name(name)
    assert resolved == expected
    assert is_open_source(resolved) is open_source


def _detect(tmp_path: Path, files: dict[str, str | None]) -> tuple[str | None, bool | None, str]:
    shas = build_repo(tmp_path / "repo", [CommitSpec(message="start", files=files)])
    with open_repo(str(tmp_path / "repo"), tmp_path / "cache") as repo:
        report = detect_license(repo, shas[0])
    return report.license, report.open_source, report.reason


def test_license_file_decides(tmp_path: Path) -> None:
    assert _detect(tmp_path, {"LICENSE.md": GPL_3, "a.py": ""})[:2] == ("GPL-3.0", True)


def test_copying_file_counts_as_a_license_file(tmp_path: Path) -> None:
    assert _detect(tmp_path, {"COPYING": LGPL_21, "a.c": ""})[:2] == ("LGPL-2.1", True)


def test_pyproject_license_expression_and_classifiers_are_read(tmp_path: Path) -> None:
    pyproject = '[project]\nname = "x"\nlicense = "BSD-3-Clause"\n'
    assert _detect(tmp_path / "a", {"pyproject.toml": pyproject})[:2] == ("BSD-3-Clause", True)
    classified = (
        '[project]\nname = "x"\nclassifiers = [\n'
        '  "License :: OSI Approved :: GNU General Public License v3 (GPLv3)",\n]\n'
    )
    assert _detect(tmp_path / "b", {"pyproject.toml": classified})[:2] == ("GPL-3.0-only", True)


def test_unknown_osi_classifier_still_counts_as_open_source(tmp_path: Path) -> None:
    setup_cfg = (
        "[metadata]\nname = x\nclassifiers =\n    License :: OSI Approved :: Some Obscure License\n"
    )
    license_id, open_source, _ = _detect(tmp_path, {"setup.cfg": setup_cfg})
    assert (license_id, open_source) == ("LicenseRef-OSI-Approved", True)


def test_package_json_license_and_npm_unlicensed(tmp_path: Path) -> None:
    isc = json.dumps({"name": "x", "license": "ISC"})
    assert _detect(tmp_path / "a", {"package.json": isc})[:2] == ("ISC", True)
    closed = json.dumps({"name": "x", "license": "UNLICENSED"})
    assert _detect(tmp_path / "b", {"package.json": closed})[:2] == (PROPRIETARY, False)


def test_the_blue_oak_model_license_is_open_source(tmp_path: Path) -> None:
    """minimatch, glob and other isaacs packages use it: by id and by its text."""
    blue_oak = json.dumps({"name": "x", "license": "BlueOak-1.0.0"})
    assert _detect(tmp_path / "a", {"package.json": blue_oak})[:2] == ("BlueOak-1.0.0", True)
    text = "# Blue Oak Model License\n\nVersion 1.0.0\n\n## Purpose\n\nThis license gives..."
    assert _detect(tmp_path / "b", {"LICENSE.md": text})[:2] == ("BlueOak-1.0.0", True)


def test_package_json_can_point_at_its_license_file(tmp_path: Path) -> None:
    files = {
        "package.json": json.dumps({"license": "SEE LICENSE IN TERMS.txt"}),
        "TERMS.txt": MPL_2,
    }
    assert _detect(tmp_path, files)[:2] == ("MPL-2.0", True)


def test_cargo_dual_license_expression(tmp_path: Path) -> None:
    cargo = '[package]\nname = "x"\nlicense = "MIT OR Apache-2.0"\n'
    assert _detect(tmp_path, {"Cargo.toml": cargo})[:2] == ("MIT OR Apache-2.0", True)


def test_reuse_licenses_directory_names_the_license(tmp_path: Path) -> None:
    files = {"LICENSES/EUPL-1.2.txt": "European Union Public Licence v. 1.2", "a.py": ""}
    assert _detect(tmp_path, files)[:2] == ("EUPL-1.2", True)


def test_spdx_headers_count_only_without_stronger_evidence(tmp_path: Path) -> None:
    files = {
        "src/a.go": "// SPDX-License-Identifier: MPL-2.0\npackage a\n",
        "src/b.go": "// SPDX-License-Identifier: MPL-2.0\npackage a\n",
        "vendor/c.go": "// SPDX-License-Identifier: GPL-3.0-only\npackage c\n",
    }
    license_id, open_source, reason = _detect(tmp_path / "a", files)
    assert (license_id, open_source) == ("MPL-2.0", True)
    assert "src/a.go" in reason
    with_file = {**files, "LICENSE": MIT}
    assert _detect(tmp_path / "b", with_file)[:2] == ("MIT", True)


def test_a_monorepo_without_a_root_license_is_licensed_by_its_packages(tmp_path: Path) -> None:
    """Each package folder carries its own license (setuptools-scm's layout)."""
    files = {
        "pyproject.toml": '[project]\nname = "workspace"\n',
        "tool-a/pyproject.toml": '[project]\nname = "a"\nlicense = {text = "MIT"}\n',
        "tool-a/LICENSE": MIT,
        "packages/b/package.json": json.dumps({"name": "b", "license": "ISC"}),
    }
    license_id, open_source, _ = _detect(tmp_path / "a", files)
    assert open_source is True and license_id in {"MIT", "ISC"}
    # A closed package beside an open one: a human decides.
    closed = {**files, "tool-c/package.json": json.dumps({"name": "c", "license": "UNLICENSED"})}
    assert _detect(tmp_path / "b", closed)[1] is None


def test_manifests_of_tests_and_vendored_code_license_nothing(tmp_path: Path) -> None:
    files = {
        "a.py": "",
        "tests/fixture-project/package.json": json.dumps({"license": "MIT"}),
        "node_modules/dep/package.json": json.dumps({"license": "MIT"}),
    }
    assert _detect(tmp_path, files)[:2] == (None, False)


def test_dual_license_files_are_open_source(tmp_path: Path) -> None:
    files = {"LICENSE-MIT": MIT, "LICENSE-APACHE": APACHE}
    license_id, open_source, _ = _detect(tmp_path, files)
    assert open_source is True
    assert license_id in {"MIT", "Apache-2.0"}


def test_no_license_anywhere_is_unknown(tmp_path: Path) -> None:
    license_id, open_source, reason = _detect(tmp_path, {"a.py": "x = 1\n"})
    assert (license_id, open_source) == (None, False)
    assert reason.startswith("no license file, package license field or SPDX header")


def test_unrecognised_license_text_is_unknown_not_open(tmp_path: Path) -> None:
    license_id, open_source, reason = _detect(tmp_path, {"LICENSE": "Be nice.\n"})
    assert (license_id, open_source) == (None, False)
    assert "LICENSE" in reason and "match no known license" in reason


def test_all_rights_reserved_is_proprietary(tmp_path: Path) -> None:
    license_id, open_source, reason = _detect(tmp_path, {"LICENSE": PROPRIETARY_TEXT})
    assert (license_id, open_source) == (PROPRIETARY, False)
    assert reason.startswith("not open source")


def test_commons_clause_on_apache_is_not_open_source(tmp_path: Path) -> None:
    assert _detect(tmp_path, {"LICENSE": COMMONS_CLAUSE})[1] is False


def test_open_and_closed_evidence_together_cannot_be_decided(tmp_path: Path) -> None:
    files = {"LICENSE": MIT, "package.json": json.dumps({"license": "UNLICENSED"})}
    license_id, open_source, reason = _detect(tmp_path, files)
    assert (license_id, open_source) == (None, None)
    assert "disagrees" in reason
