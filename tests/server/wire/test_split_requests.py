"""Against a running ``sciswift serve``: requests split across reads at every
byte, pipelined requests, and request-splicing attempts. No request is ever
answered with another request's identity, and no ACL or object changes but by
its owner's own requests."""

from __future__ import annotations

import http.client
import io
import os
import socket
import time
import uuid
from collections.abc import Iterator

import h11
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ..conftest import RunningServer


def send_pieces(port: int, pieces: list[bytes], pause: float = 0.002, timeout: float = 5.0) -> bytes:
    """Send ``pieces`` on one connection with a pause between them (each its own
    TCP segment), half-close, and return everything the server answered."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            for i, piece in enumerate(pieces):
                if i and pause:
                    time.sleep(pause)
                s.sendall(piece)
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server answered and closed early (a refused request)
        out = bytearray()
        try:
            while chunk := s.recv(65536):
                out += chunk
        except (TimeoutError, ConnectionResetError):
            pass
    return bytes(out)


class _Unclosable(io.BytesIO):
    def close(self) -> None:  # http.client closes its file after each response
        pass


class _Sock:
    def __init__(self, data: bytes) -> None:
        self._fp = _Unclosable(data)

    def makefile(self, *args: object, **kwargs: object) -> io.BytesIO:
        return self._fp


def responses(raw: bytes, methods: list[str]) -> list[tuple[int, dict[str, str], bytes]]:
    """The responses in ``raw``, read as http.client reads them (HEAD ones have
    no body); stops at the first incomplete one."""
    sock = _Sock(raw)
    out = []
    for method in methods:
        resp = http.client.HTTPResponse(sock, method=method)  # type: ignore[arg-type]
        try:
            resp.begin()
            body = resp.read()
        except (http.client.HTTPException, OSError):
            break
        out.append((resp.status, {k.lower(): v for k, v in resp.getheaders()}, body))
    return out


@pytest.fixture(scope="module")
def tokens(server: RunningServer) -> dict[str, str]:
    return {"a": server.auth()[1], "b": server.auth("test2:tester2", "testing2")[1]}


@pytest.fixture
def victim(server: RunningServer) -> Iterator[str]:
    """A private container of test:tester holding object ``secret``."""
    name = f"victim-{uuid.uuid4().hex[:10]}"
    conn = server.connection()
    conn.put_container(name)
    conn.put_object(name, "secret", b"top secret bytes")
    yield name
    conn.delete_object(name, "secret")
    conn.delete_container(name)


def assert_untouched(server: RunningServer, container: str) -> None:
    headers = server.connection().head_container(container)
    assert "x-container-read" not in headers, headers
    resp, _ = server.raw("GET", f"/v1/AUTH_test/{container}/secret")
    assert resp.status == 401  # still private
    assert server.connection().get_object(container, "secret")[1] == b"top secret bytes"


def request(method: str, path: str, token: str | None = None, body: bytes = b"", *extra: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *extra]
    if token:
        lines.append(f"X-Auth-Token: {token}")
    if body or method in ("PUT", "POST"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def test_a_head_split_at_every_byte_is_served(server: RunningServer, tokens: dict[str, str], victim: str) -> None:
    cases = [
        (b"GET /info HTTP/1.1\r\nHost: x\r\n\r\n", "GET", 200),
        (request("GET", f"/v1/AUTH_test/{victim}/secret", tokens["a"],
                 b"", "User-Agent: python-swiftclient-4.11.0", "Accept-Encoding: gzip, deflate"), "GET", 200),
        (request("PUT", f"/v1/AUTH_test/{victim}/split", tokens["a"], b"0123456789"), "PUT", 201),
    ]
    for raw, method, status in cases:
        for cut in range(1, len(raw)):
            got = responses(send_pieces(server.port, [raw[:cut], raw[cut:]]), [method])
            assert got and got[0][0] == status, (raw[:cut], got[:1])
    assert server.connection().get_object(victim, "split")[1] == b"0123456789"
    server.connection().delete_object(victim, "split")


def test_a_small_segment_size_client_is_served(server: RunningServer, tokens: dict[str, str], victim: str) -> None:
    """A ~3 KB request in 40-byte segments (a small MSS) always works."""
    extra = [f"X-Object-Meta-K{i}: {'v' * 60}" for i in range(40)]
    raw = request("PUT", f"/v1/AUTH_test/{victim}/many-headers", tokens["a"], b"x" * 500, *extra)
    assert len(raw) > 2900
    for _ in range(5):
        pieces = [raw[i : i + 40] for i in range(0, len(raw), 40)]
        got = responses(send_pieces(server.port, pieces, pause=0.0005), ["PUT"])
        assert got and got[0][0] == 201
    headers = server.connection().head_object(victim, "many-headers")
    assert headers["x-object-meta-k39"] == "v" * 60
    server.connection().delete_object(victim, "many-headers")


def test_pipelined_requests_of_two_users_keep_their_identities(
    server: RunningServer, tokens: dict[str, str], victim: str
) -> None:
    stream = [
        request("GET", f"/v1/AUTH_test/{victim}/secret", tokens["a"]),
        request("GET", f"/v1/AUTH_test/{victim}/secret", tokens["b"]),  # another account: 403
        request("GET", f"/v1/AUTH_test/{victim}/secret"),  # anonymous: 401
        request("HEAD", "/v1/AUTH_test2", tokens["b"]),
        request("HEAD", "/v1/AUTH_test2", tokens["a"]),
    ]
    methods = ["GET", "GET", "GET", "HEAD", "HEAD"]
    expected = [200, 403, 401, 204, 403]
    whole = responses(send_pieces(server.port, [b"".join(stream)]), methods)
    assert [r[0] for r in whole] == expected
    assert whole[0][2] == b"top secret bytes" and b"top secret" not in whole[1][2]
    data = b"".join(stream)
    for cut in range(1, len(data), 11):
        got = responses(send_pieces(server.port, [data[:cut], data[cut:]], pause=0.001), methods)
        assert [r[0] for r in got] == expected, cut


ATTACK_POST = b"POST /v1/AUTH_test/{c} HTTP/1.1\r\nX-Container-Read: .r:*,.rlistings\r\nX-Pad: aaa"


@pytest.mark.parametrize(
    "where",
    ["as_reported", "request_line", "header_name", "header_value", "between_head_and_body", "chunked_body"],
)
def test_splicing_attempts_change_nothing(
    server: RunningServer, tokens: dict[str, str], victim: str, where: str
) -> None:
    post = ATTACK_POST.replace(b"{c}", victim.encode())
    odd = b"GET /info?\xff HTTP/1.1\r\nHost: x\r\n\r\n"
    client = request("GET", f"/v1/AUTH_test/{victim}/secret", tokens["a"])
    if where == "as_reported":
        pieces = [post, odd, client]
    elif where == "request_line":
        pieces = [post[:7], post[7:], odd, client]
    elif where == "header_name":
        i = post.index(b"Read")
        pieces = [post[:i], post[i:], odd, client]
    elif where == "header_value":
        i = post.index(b".rlistings")
        pieces = [post[:i], post[i:] + b"\r\n", odd, client]
    elif where == "between_head_and_body":
        head = post.replace(b"X-Pad: aaa", b"Content-Length: 5\r\n\r\n")
        pieces = [head, b"ab", odd, client]
    else:
        head = post.replace(b"X-Pad: aaa", b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
        pieces = [head, odd, client]
    send_pieces(server.port, pieces, pause=0.02)
    assert_untouched(server, victim)
    # the same bytes as one write: the same outcome
    send_pieces(server.port, [b"".join(pieces)])
    assert_untouched(server, victim)


def test_victim_request_is_answered_as_the_victim(server: RunningServer, tokens: dict[str, str], victim: str) -> None:
    post = ATTACK_POST.replace(b"{c}", victim.encode()) + b"\r\nContent-Length: 0\r\n\r\n"  # complete, tokenless
    client = request("GET", f"/v1/AUTH_test/{victim}/secret", tokens["a"])
    got = responses(send_pieces(server.port, [post, client], pause=0.02), ["POST", "GET"])
    assert [r[0] for r in got] == [401, 200]
    assert got[1][2] == b"top secret bytes"
    assert_untouched(server, victim)


def test_a_request_joined_from_two_users_bytes_is_refused(
    server: RunningServer, tokens: dict[str, str], victim: str
) -> None:
    """The shape a fuzz run once logged (user b on a's container, refused): a's
    tokenless POST loses its blank line, and b's request line becomes a header,
    so b's headers (and token) follow a's request line. Those are the client's
    own bytes, one request: with two Host headers it is malformed (400); without,
    it is b asking for a's container (403). Either way nothing changes, and
    nothing is answered with a's identity."""
    post = request("POST", f"/v1/AUTH_test/{victim}", None, b"", "X-Container-Read: .r:*")
    get = request("GET", f"/v1/AUTH_test2/{uuid.uuid4().hex[:8]}/o", tokens["b"])
    joined = post[:-2] + get.replace(b"GET ", b"GET:", 1)
    assert strict_requests(joined) == []  # h11 refuses it too
    got = responses(send_pieces(server.port, [joined]), ["POST"])
    assert [r[0] for r in got] == [400]
    one_host = post[:-2] + get.replace(b"GET ", b"GET:", 1).replace(b"Host: 127.0.0.1\r\n", b"")
    assert [(m, t) for m, t, _ in strict_requests(one_host)] == [("POST", f"/v1/AUTH_test/{victim}")]
    got = responses(send_pieces(server.port, [one_host]), ["POST"])
    assert [r[0] for r in got] == [403]
    # the token of the other user in the same head: refused, whichever comes first
    for first, second in (("a", "b"), ("b", "a")):
        both = request("HEAD", f"/v1/AUTH_test/{victim}", tokens[first]).replace(
            b"\r\n\r\n", f"\r\nX-Auth-Token: {tokens[second]}\r\n\r\n".encode())
        assert [r[0] for r in responses(send_pieces(server.port, [both]), ["HEAD"])] == [400]
    assert_untouched(server, victim)


# ------------------------------------------------------------------- fuzzing
def strict_requests(data: bytes) -> list[tuple[str, str, list[str]]]:
    """The requests h11 reads from ``data`` as a server would (answering each),
    up to the first it refuses: (method, target, the X-Auth-Token values)."""
    conn = h11.Connection(h11.SERVER)
    conn.receive_data(data)
    conn.receive_data(b"")
    out: list[tuple[str, str, list[str]]] = []
    while True:
        try:
            event = conn.next_event()
        except h11.RemoteProtocolError:
            return out
        if isinstance(event, h11.Request):
            out.append((event.method.decode("latin-1"), event.target.decode("latin-1"),
                        [v.decode("latin-1") for k, v in event.headers if k == b"x-auth-token"]))
        elif isinstance(event, h11.EndOfMessage):
            conn.send(h11.Response(status_code=204, headers=[]))
            conn.send(h11.EndOfMessage())
            try:
                conn.start_next_cycle()
            except h11.LocalProtocolError:
                return out
        elif event is h11.NEED_DATA or isinstance(event, h11.ConnectionClosed):
            return out  # the stream ends inside a request, or the connection closed


FUZZ_EXAMPLES = int(os.environ.get("SCISWIFT_FUZZ_EXAMPLES_SERVER", "40"))
MARK = {"a": "mka" + uuid.uuid4().hex[:8], "b": "mkb" + uuid.uuid4().hex[:8]}
USERS = {"a": ("test:tester", "AUTH_test"), "b": ("test2:tester2", "AUTH_test2")}


def crossing(fields: list[str]) -> str | None:
    """"a" or "b" when an access-log line (split on spaces) shows that user
    on the other user's marked container, else None."""
    who = {USERS["a"][0]: "a", USERS["b"][0]: "b"}.get(fields[14]) if len(fields) == 16 else None
    if who is None or MARK["b" if who == "a" else "a"] not in fields[4]:
        return None
    return who


@st.composite
def request_streams(draw: st.DrawFn) -> tuple[list[bytes], list[str]]:
    """A connection's worth of requests from users a and b (each naming only
    its own marked container), mutated, and cut into pieces."""
    raw = bytearray()
    for _ in range(draw(st.integers(1, 5))):
        who = draw(st.sampled_from("ab"))
        _, account = USERS[who]
        path = f"/v1/{account}/{MARK[who]}"
        kind = draw(st.sampled_from(["get", "put", "post", "head", "anon_post"]))
        if kind == "get":
            raw += request("GET", path + "/o", who)
        elif kind == "put":
            raw += request("PUT", path + "/o", who, draw(st.binary(max_size=40)))
        elif kind == "head":
            raw += request("HEAD", path, who)
        elif kind == "post":
            raw += request("POST", path, who, b"", "X-Container-Meta-Fuzz: 1")
        else:
            raw += request("POST", path, None, b"", "X-Container-Read: .r:*")
    for _ in range(draw(st.integers(0, 3))):
        i = draw(st.integers(0, len(raw) - 1))
        op = draw(st.sampled_from(["flip", "insert", "delete"]))
        if op == "flip":
            raw[i] = draw(st.sampled_from(b"\r\n :\x00\x80\xff0\t"))
        elif op == "insert":
            raw[i:i] = draw(st.sampled_from([b"\r\n", b"\n", b"\r", b" ", b"Content-Length: 7\r\n",
                                             b"Transfer-Encoding: chunked\r\n", b"\xc3\xa9", b"\r\n\r\n"]))
        else:
            del raw[i : i + draw(st.integers(1, 6))]
    cuts = sorted(set(draw(st.lists(st.integers(1, max(1, len(raw) - 1)), max_size=6))))
    points = [0, *cuts, len(raw)]
    return [bytes(raw[a:b]) for a, b in zip(points, points[1:]) if b > a], []


def test_fuzz_no_request_acts_with_another_identity(server: RunningServer, tokens: dict[str, str]) -> None:
    conn_a = server.connection()
    conn_b = server.connection("test2:tester2", "testing2")
    conn_a.put_container(MARK["a"])
    conn_b.put_container(MARK["b"])
    token_of = {"a": tokens["a"], "b": tokens["b"]}

    @settings(max_examples=FUZZ_EXAMPLES, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(request_streams())
    def run(stream: tuple[list[bytes], list[str]]) -> None:
        pieces = [p.replace(b"X-Auth-Token: a\r\n", f"X-Auth-Token: {token_of['a']}\r\n".encode())
                   .replace(b"X-Auth-Token: b\r\n", f"X-Auth-Token: {token_of['b']}\r\n".encode())
                  for p in stream[0]]
        start = len(server.log_text())
        send_pieces(server.port, pieces, pause=0.001, timeout=3)
        time.sleep(0.05)  # the access log line follows the reply
        # Checked here too, not only after the run: hypothesis then shrinks a
        # failing stream and prints it (a CI run saw user b logged on a's
        # container, 403, once, with no stream to look at).
        # A mutation may join one user's request line to the other's headers:
        # then the client itself sent that request, and it must be refused, not
        # treated as a splice. What counts is what h11 (a strict HTTP/1.1
        # parser that is not ours) reads from the same bytes.
        oracle: list[tuple[str, str, list[str]]] | None = None
        for line in server.log_text()[start:].splitlines():
            fields = line.split(" ")
            who = crossing(fields)
            if who is None:
                continue
            assert fields[6] in ("401", "403"), (line, pieces)  # never served
            oracle = strict_requests(b"".join(pieces)) if oracle is None else oracle
            other = MARK["b" if who == "a" else "a"]
            assert any(method == fields[3] and other in target and token_of[who] in tokens_sent
                       for method, target, tokens_sent in oracle), (line, pieces, oracle)

    run()
    time.sleep(0.2)  # let the access log reach the file
    checked = 0
    for line in server.log_text().splitlines():
        fields = line.split(" ")
        if len(fields) != 16 or not (MARK["a"] in fields[4] or MARK["b"] in fields[4]):
            continue
        checked += 1
        if crossing(fields) is not None:
            # only as the client's own joined request (checked in each example), and refused
            assert fields[6] in ("401", "403"), line
    assert checked >= FUZZ_EXAMPLES // 2  # the log was read, and requests got through (a mutated
    # first request line can make a whole connection unreadable, so not one per example)
    # no container became readable but by its owner's own (valid) request
    for who, conn in (("a", conn_a), ("b", conn_b)):
        assert "x-container-read" not in conn.head_container(MARK[who])
    for who, conn in (("a", conn_a), ("b", conn_b)):
        for obj in conn.get_container(MARK[who])[1]:
            conn.delete_object(MARK[who], obj["name"])
        conn.delete_container(MARK[who])
