"""Ideal control for h11-chunk-terminator, written from the user's words only.

Public API only: an h11.Connection in the server role is fed a chunked request, in one
read and split across reads in many ways ("sometimes a single byte at a time"). A body
whose chunk data is not followed by CRLF must be refused with a protocol error (any
h11.ProtocolError; the message is not pinned); well-formed bodies, chunk extensions and
trailers must come out exactly as before (data, chunk boundaries, trailers, what is left
in the buffer).
"""

from typing import Iterator, List, Tuple

import h11
import pytest

HEAD = b"POST /upload HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n"


def splits(body: bytes) -> Iterator[Tuple[str, List[bytes]]]:
    yield "whole", [body]
    yield "bytewise", [body[i : i + 1] for i in range(len(body))]
    for size in (2, 3, 5, 7):
        yield f"reads of {size}", [body[i : i + size] for i in range(0, len(body), size)]
    for cut in range(1, len(body)):
        yield f"cut at {cut}", [body[:cut], body[cut:]]


def receive(pieces: List[bytes]) -> List[h11.Event]:
    """Feed the request head, then the body in ``pieces``; the events h11 hands out."""
    conn = h11.Connection(our_role=h11.SERVER)
    conn.receive_data(HEAD)
    events: List[h11.Event] = []
    request = conn.next_event()
    assert isinstance(request, h11.Request)
    for piece in pieces:
        conn.receive_data(piece)
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA or event is h11.PAUSED:
                break
            events.append(event)
    return events


def data_of(events: List[h11.Event]) -> bytes:
    return b"".join(bytes(e.data) for e in events if isinstance(e, h11.Data))


BAD_BODIES = [
    # (body, the data before the bad terminator: h11 may hand out at most this)
    (b"3\r\nxxx__1\r\na\r\n0\r\n\r\n", b"xxx"),  # the report
    (b"3\r\nxxx\r_1\r\na\r\n0\r\n\r\n", b"xxx"),
    (b"3\r\nxxx_\n1\r\na\r\n0\r\n\r\n", b"xxx"),
    (b"3\r\nxxx\n\r0\r\n\r\n", b"xxx"),
    (b"3\r\nxxx\n\n0\r\n\r\n", b"xxx"),
    (b"3\r\nxxx\r\r\n0\r\n\r\n", b"xxx"),
    (b"3\r\nxxx \r\n0\r\n\r\n", b"xxx"),
    (b"3\r\nxxx\t\r\n0\r\n\r\n", b"xxx"),
    (b"3\r\nxxx\n0\r\n\r\n", b"xxx"),
    (b"3\r\nxxxx\r\n0\r\n\r\n", b"xxx"),
    (b"3\r\nxxx\r\n2\r\nyy__0\r\n\r\n", b"xxxyy"),
    (b"2\r\nab\r\n1\r\nc..0\r\nSome: header\r\n\r\n", b"abc"),
]


@pytest.mark.parametrize(("body", "valid_prefix"), BAD_BODIES)
def test_chunk_data_not_followed_by_crlf_is_refused(body: bytes, valid_prefix: bytes) -> None:
    for how, pieces in splits(body):
        handed_out: List[h11.Event] = []
        conn = h11.Connection(our_role=h11.SERVER)
        conn.receive_data(HEAD)
        assert isinstance(conn.next_event(), h11.Request)
        with pytest.raises(h11.ProtocolError):
            for piece in pieces:
                conn.receive_data(piece)
                while True:
                    event = conn.next_event()
                    if event is h11.NEED_DATA or event is h11.PAUSED:
                        break
                    handed_out.append(event)
            pytest.fail(f"{body!r} ({how}) was accepted: {handed_out}")
        assert valid_prefix.startswith(data_of(handed_out)), (how, handed_out)
        assert not any(isinstance(e, h11.EndOfMessage) for e in handed_out), how


GOOD_BODIES = [
    # (body, the chunks' data, the trailers)
    (b"0\r\n\r\n", [], []),
    (b"5\r\n01234\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n", [b"01234", b"0123456789abcdef"], []),
    (b"3\r\nabc\r\n0\r\nSome: header\r\nOther: x\r\n\r\n", [b"abc"],
     [(b"some", b"header"), (b"other", b"x")]),
    (b'5;hello=there\r\nxxxxx\r\n0;random="junk"; some=more; canbe=lonnnnngg\r\n\r\n',
     [b"xxxxx"], []),
    (b"A\r\n0123456789\r\n1;x=y\r\nz\r\n0\r\n\r\n", [b"0123456789", b"z"], []),
    (b"5   \t \r\n01234\r\n0\r\n\r\n", [b"01234"], []),
    (b"4\r\n\r\n\r\n\r\n2\r\n\r\n\r\n0\r\nX: 1\r\n\r\n", [b"\r\n\r\n", b"\r\n"], [(b"x", b"1")]),
]


@pytest.mark.parametrize(("body", "chunks", "trailers"), GOOD_BODIES)
def test_well_formed_bodies_work_as_before(body: bytes, chunks: List[bytes], trailers) -> None:
    for how, pieces in splits(body):
        events = receive(pieces)
        assert isinstance(events[-1], h11.EndOfMessage), how
        assert list(events[-1].headers) == trailers, how
        assert data_of(events) == b"".join(chunks), how
        # every chunk's last piece of data is marked as its end
        seen, current = [], b""
        for event in events[:-1]:
            assert isinstance(event, h11.Data), how
            current += bytes(event.data)
            if event.chunk_end:
                seen.append(current)
                current = b""
        assert seen == chunks and current == b"", how


@pytest.mark.parametrize(("body", "chunks", "trailers"), GOOD_BODIES)
def test_a_body_read_at_once_gives_one_data_event_per_chunk(body, chunks, trailers) -> None:
    events = receive([body])
    assert events == [
        *(h11.Data(data=chunk, chunk_start=True, chunk_end=True) for chunk in chunks),
        h11.EndOfMessage(headers=trailers),
    ]


def test_the_next_request_on_the_connection_is_left_alone() -> None:
    following = b"GET /next HTTP/1.1\r\nHost: example.com\r\n\r\n"
    for how, pieces in splits(b"3\r\nabc\r\n0\r\n\r\n" + following):
        conn = h11.Connection(our_role=h11.SERVER)
        conn.receive_data(HEAD)
        events = []
        for piece in pieces:
            conn.receive_data(piece)
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA or event is h11.PAUSED:
                    break
                events.append(event)
        assert data_of(events) == b"abc", how
        assert isinstance(events[-1], h11.EndOfMessage), how
        assert conn.trailing_data == (following, False), how
