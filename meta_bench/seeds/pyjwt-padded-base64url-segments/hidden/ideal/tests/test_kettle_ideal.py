"""Outcome tests written from the user's words (public API only: jwt.decode, jwt.get_unverified_header).

Tokens are built by hand the way an issuer that keeps base64 padding (AWS ALB) builds them:
the signature is computed over the header and payload segments exactly as they appear in the
token, padding included.
"""

import base64
import hashlib
import hmac
import json

import pytest

import jwt
from jwt.exceptions import DecodeError

KEY = b"k" * 48  # HS256 secret, long enough to avoid key-length warnings
# Chosen so that every segment needs padding: header 2 '=', payload 2 '=', HS256 signature 1 '='.
HEADER = {"alg": "HS256", "kid": "alb-key-12", "typ": "JWT"}
# Its JSON is a multiple of 3 bytes long: its segment needs no padding at all.
HEADER_NO_PAD = {"alg": "HS256", "kid": "alb-key-1", "typ": "JWT"}
PAYLOAD = {"sub": "user-42", "email": "jane@example.com", "exp": 4102444800}


def _b64(data: bytes, padded: bool) -> str:
    text = base64.urlsafe_b64encode(data).decode("ascii")
    return text if padded else text.rstrip("=")


def _json(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


def make_token(header_seg: str, payload_seg: str, *, pad_sig: bool, sig_suffix: str = "") -> str:
    signing_input = f"{header_seg}.{payload_seg}".encode("ascii")
    signature = hmac.new(KEY, signing_input, hashlib.sha256).digest()
    return f"{header_seg}.{payload_seg}.{_b64(signature, pad_sig)}{sig_suffix}"


def segments(padded: bool):
    return _b64(_json(HEADER), padded), _b64(_json(PAYLOAD), padded)


def decode(token):
    return jwt.decode(token, KEY, algorithms=["HS256"], options={"verify_exp": False})


def test_fixture_really_needs_padding():
    h, p = segments(True)
    sig = make_token(h, p, pad_sig=True).split(".")[2]
    assert h.endswith("==") and p.endswith("==") and sig.endswith("=")
    assert not _b64(_json(HEADER_NO_PAD), True).endswith("=")


def test_unpadded_token_still_decodes():
    h, p = segments(False)
    assert decode(make_token(h, p, pad_sig=False)) == PAYLOAD


def test_padded_signature_decodes():
    h, p = segments(False)
    assert decode(make_token(h, p, pad_sig=True)) == PAYLOAD


def test_all_segments_padded_decodes():
    h, p = segments(True)
    assert decode(make_token(h, p, pad_sig=True)) == PAYLOAD


def test_padded_header_only_decodes():
    h, _ = segments(True)
    _, p = segments(False)
    assert decode(make_token(h, p, pad_sig=False)) == PAYLOAD


def test_padded_payload_only_decodes():
    _, p = segments(True)
    h, _ = segments(False)
    assert decode(make_token(h, p, pad_sig=False)) == PAYLOAD


def test_get_unverified_header_with_padded_header():
    h, p = segments(True)
    token = make_token(h, p, pad_sig=True)
    assert jwt.get_unverified_header(token)["kid"] == "alb-key-12"


def test_str_and_bytes_tokens():
    h, p = segments(True)
    token = make_token(h, p, pad_sig=True)
    assert decode(token.encode("ascii")) == PAYLOAD


def test_signature_still_checked_on_padded_token():
    h, p = segments(True)
    token = make_token(h, p, pad_sig=True)
    other = jwt.encode(PAYLOAD, b"x" * 48, algorithm="HS256", headers={"kid": "alb-key-1"})
    forged = ".".join(token.split(".")[:2] + [other.split(".")[2] + "="])
    with pytest.raises(DecodeError):
        decode(forged)


def test_signature_computed_over_padded_text():
    # The issuer signed the padded text; verifying against an unpadded rewrite must fail,
    # and verifying the token as sent must succeed.
    h, p = segments(True)
    token = make_token(h, p, pad_sig=True)
    sig = token.split(".")[2]
    hu, pu = segments(False)
    with pytest.raises(DecodeError):
        decode(f"{hu}.{pu}.{sig}")
    assert decode(token) == PAYLOAD


# --- what must stay rejected -------------------------------------------------------------

def _bad_segment_tokens():
    h, p = segments(True)
    hu, pu = segments(False)
    cases = {
        "header_extra_equals": (h + "=", p),
        "header_four_extra_equals": (h + "====", p),
        "payload_extra_equals": (h, p + "=="),
        "payload_four_extra_equals": (h, p + "===="),
        "header_equals_in_middle": (hu[:5] + "=" + hu[5:], pu),
        "payload_equals_in_middle": (hu, pu[:7] + "==" + pu[7:]),
        "header_padding_not_needed": (_b64(_json(HEADER_NO_PAD), False) + "==", pu),
        "payload_junk": (hu, pu + "!!"),
        "header_single_equals_too_few": (hu + "=", pu),
    }
    return {name: make_token(hh, pp, pad_sig=False) for name, (hh, pp) in cases.items()}


@pytest.mark.parametrize("name", sorted(_bad_segment_tokens()))
def test_bad_header_or_payload_padding_rejected(name):
    token = _bad_segment_tokens()[name]
    with pytest.raises(DecodeError):
        decode(token)
    with pytest.raises(DecodeError):
        jwt.get_unverified_header(token)


@pytest.mark.parametrize("suffix", ["==", "=====", "!!", "=!"])
def test_bad_signature_padding_rejected(suffix):
    # correct padding for this signature is a single '='
    h, p = segments(False)
    with pytest.raises(DecodeError):
        decode(make_token(h, p, pad_sig=True, sig_suffix=suffix))


def test_signature_equals_in_middle_rejected():
    h, p = segments(False)
    token = make_token(h, p, pad_sig=False)
    head, sig = token.rsplit(".", 1)
    with pytest.raises(DecodeError):
        decode(f"{head}.{sig[:4]}={sig[4:]}")


def test_signature_four_extra_equals_rejected():
    h, p = segments(False)
    token = make_token(h, p, pad_sig=True)
    with pytest.raises(DecodeError):
        decode(token + "====")


def test_es256_alb_style_token():
    pytest.importorskip("cryptography")
    from cryptography.hazmat.primitives.asymmetric import ec

    private_key = ec.generate_private_key(ec.SECP256R1())
    token = jwt.encode(PAYLOAD, private_key, algorithm="ES256", headers={"kid": "alb-key-1"})
    h, p, s = token.split(".")
    padded = f"{h}.{p}.{s}" + "=" * ((-len(s)) % 4)
    assert padded.endswith("==")
    assert jwt.get_unverified_header(padded)["kid"] == "alb-key-1"
    assert (
        jwt.decode(padded, private_key.public_key(), algorithms=["ES256"], options={"verify_exp": False})
        == PAYLOAD
    )
