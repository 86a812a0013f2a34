"""Client protocols through the CLI: `protocol: reply | connect | send`, the
`reply` each attempt records, what `check` refuses, and that permissions are
judged on the connect alone, whatever the reply.

The Linux servers are a small Python script (written into the test's
directory) that binds, sets the mode and listens under a temporary name,
renames the socket onto the endpoint, and then treats every
connection one way: `echo` (client speaks first: answers what it reads),
`silent` (reads, never answers, keeps its end open), `close` (closes at
once) or `greet` (says "hello\\n" first, like the fixtures).
"""
import os
import subprocess
import textwrap

import pytest

from conftest import leftovers
from test_seed import win32  # noqa: F401  (the module fixture: Wine and the Win32 parts)

SERVER = textwrap.dedent("""\
    import os, socket, sys, threading
    path, how, mode = sys.argv[1], sys.argv[2], int(sys.argv[3], 8)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    # Ready before it is on the endpoint name: clients start when it appears.
    os.umask(0o777 & ~mode)
    s.bind(path + ".new")
    os.chmod(path + ".new", mode)
    s.listen(64)
    os.rename(path + ".new", path)

    def serve(c):
        try:
            if how == "greet":
                c.sendall(b"hello\\n")
            if how == "close":
                return
            while True:
                data = c.recv(4096)
                if not data:
                    return
                if how == "echo":
                    c.sendall(data)
        except OSError:
            pass
        finally:
            c.close()

    while True:
        conn, _ = s.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()
    """)


def write_server(tmp_path):
    path = tmp_path / "server.py"
    path.write_text(SERVER)
    return str(path)


def scenario(tmp_path, name, how, clients, mode="0666", intended="0666",
             accounts="  - {name: alice, allowed: true}\n",
             expect="[allowed_never_denied]"):
    script = write_server(tmp_path)
    text = (f"name: {name}\n"
            "server:\n"
            f"  command: [\"/usr/bin/python3\", \"{script}\", \"{{endpoint}}\", \"{how}\","
            f" \"{mode}\"]\n"
            "  timeout: 30s\n"
            "endpoint: {kind: unix, path: p.sock}\n"
            f"intended: {{mode: \"{intended}\"}}\n"
            f"accounts:\n{accounts}"
            f"clients:\n{textwrap.indent(textwrap.dedent(clients), '  ')}"
            f"expect: {expect}\n")
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return str(path)


def attempts(run, name):
    return [e for e in run.trace(name) if e["ev"] == "attempt"]


def waited_s(a):
    """How long the client waited after its connect returned."""
    return (a["t_done"] - a["t_end"]) / 1e9


# ---- check: what the loader refuses ------------------------------------------

BAD = [
    ("send-without-protocol", "- {account: alice, send: \"x\"}",
     "9:22: 'send' needs 'protocol: send' (this client's protocol is 'reply')"),
    ("expect-with-connect", "- {account: alice, protocol: connect, expect: \"x\"}",
     "9:41: 'expect' needs 'protocol: send' (this client's protocol is 'connect')"),
    ("send-missing", "- {account: alice, protocol: send}",
     "9:5: missing required field 'send' in a client with 'protocol: send'"),
    ("send-empty", "- {account: alice, protocol: send, send: \"\"}",
     "9:44: 'send' is empty"),
    ("expect-empty", "- {account: alice, protocol: send, send: \"x\", expect: \"\"}",
     "9:57: 'expect' is empty: omit it to accept any reply"),
    ("read-timeout-connect", "- {account: alice, protocol: connect, read_timeout: 1s}",
     "9:41: 'read_timeout' does not apply to 'protocol: connect', which reads nothing"),
    ("read-timeout-zero", "- {account: alice, read_timeout: 0}",
     "9:36: 'read_timeout' must be longer than 0"),
    ("protocol-typo", "- {account: alice, protocol: sned}",
     "9:32: unknown protocol 'sned' (did you mean 'send'?)"),
    ("send-too-long", "- {account: alice, protocol: send, send: \"" + "x" * 4097 + "\"}",
     "9:44: 'send' is 4097 bytes long (at most 4096)"),
]


@pytest.mark.parametrize("name,client,message", BAD, ids=[b[0] for b in BAD])
def test_check_refuses_bad_protocol_keys(pipefault, tmp_path, name, client, message):
    path = tmp_path / f"{name}.yaml"
    path.write_text("name: bad\n"
                    "server: {fixture: chmod_before_listen}\n"
                    "endpoint: {kind: unix, path: s.sock}\n"
                    "intended: {mode: \"0660\"}\n"
                    "accounts:\n"
                    "  - {name: alice, allowed: true}\n"
                    "expect: [intended_before_accept]\n"
                    "clients:\n"
                    f"  {client}\n")
    proc = subprocess.run([pipefault, "check", str(path)], capture_output=True, text=True)
    assert proc.returncode == 2, proc
    assert f"{path}:{message}" in proc.stderr, proc.stderr


def test_check_refuses_expect_on_a_fifo(pipefault, tmp_path):
    path = tmp_path / "fifo.yaml"
    path.write_text("name: fifo\n"
                    "server: {fixture: fifo_chmod}\n"
                    "endpoint: {kind: fifo, path: f}\n"
                    "accounts: [{name: alice, allowed: true}]\n"
                    "clients:\n"
                    "  - {account: alice, protocol: send, send: \"x\", expect: \"y\"}\n"
                    "expect: [allowed_never_denied]\n")
    proc = subprocess.run([pipefault, "check", str(path)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert f"{path}:6:49: 'expect' needs a reply, and a fifo endpoint has none" in proc.stderr, \
        proc.stderr


def test_check_accepts_every_protocol(pipefault, tmp_path):
    path = scenario(tmp_path, "good", "echo", """\
        - {account: alice}
        - {account: alice, protocol: reply, read_timeout: 250ms}
        - {account: alice, protocol: connect}
        - {account: alice, protocol: send, send: "PING\\r\\n", expect: "+PONG", read_timeout: 2s}
        - {account: alice, protocol: send, send: "x"}
        """)
    proc = subprocess.run([pipefault, "check", path], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


# ---- run: what each protocol does ------------------------------------------------

def test_send_against_a_client_speaks_first_server_matches_without_waiting(
        run_pipefault, tmp_path):
    """The echo server never speaks first: `send` gets its reply at once and
    stops reading as soon as the prefix matched, far before read_timeout."""
    path = scenario(tmp_path, "send-echo", "echo", """\
        - {account: alice, attempts: 10, interval: 1ms, protocol: send,
           send: "PING\\r\\n", expect: "PING", read_timeout: 5s}
        """)
    run = run_pipefault(path)
    s = run.scenario("send-echo")
    assert s["verdict"] == "pass", (s["reason"], run.stderr)
    att = attempts(run, "send-echo")
    assert len(att) == 10
    for a in att:
        assert a["outcome"] == "ok" and a["protocol"] == "send", a
        assert a["reply"] == "matched" and a["served"] is True, a
        assert a["reply_head"] == "PING", a
        assert waited_s(a) < 2.5, a   # read_timeout is 5s: it never waited on it


def test_send_with_a_wrong_prefix_is_a_mismatch_and_shows_the_bytes(run_pipefault, tmp_path):
    path = scenario(tmp_path, "send-mismatch", "echo", """\
        - {account: alice, attempts: 3, protocol: send, send: "\\x01ab\\\\", expect: "+OK!",
           read_timeout: 5s}
        """)
    run = run_pipefault(path)
    s = run.scenario("send-mismatch")
    assert s["verdict"] == "pass", (s["reason"], run.stderr)
    for a in attempts(run, "send-mismatch"):
        assert a["outcome"] == "ok" and a["reply"] == "mismatch" and a["served"] is False, a
        # non-printable bytes and the backslash as \xNN: valid UTF-8, unambiguous
        assert a["reply_head"] == "\\x01ab\\x5c", a
        assert waited_s(a) < 2.5, a


def test_connect_reads_nothing_and_does_not_wait(run_pipefault, tmp_path):
    path = scenario(tmp_path, "connect-silent", "silent", """\
        - {account: alice, attempts: 10, interval: 1ms, protocol: connect}
        """)
    run = run_pipefault(path)
    s = run.scenario("connect-silent")
    assert s["verdict"] == "pass", (s["reason"], run.stderr)
    att = attempts(run, "connect-silent")
    assert len(att) == 10
    for a in att:
        assert a["outcome"] == "ok" and a["protocol"] == "connect", a
        assert a["reply"] == "none" and a["served"] is False and "reply_head" not in a, a
        assert waited_s(a) < 0.5, a   # the default read_timeout (1s) never applies


def test_reply_timeout_is_visible_and_still_admitted(run_pipefault, tmp_path):
    """A silent server: the connect passed the permission check, so the
    attempt is admitted (allowed_never_denied holds) and counts for its
    instance, but its `reply` says the server never answered."""
    path = scenario(tmp_path, "reply-timeout", "silent", """\
        - {account: alice, attempts: 2, protocol: reply, read_timeout: 300ms}
        """)
    run = run_pipefault(path)
    s = run.scenario("reply-timeout")
    assert s["verdict"] == "pass", (s["reason"], run.stderr)
    held = {e["id"]: e["held"] for e in s["expectations"]}
    assert held == {"allowed_never_denied": True}, s["expectations"]
    for a in attempts(run, "reply-timeout"):
        assert a["outcome"] == "ok" and a["reply"] == "timeout" and a["served"] is False, a
        assert 0.3 <= waited_s(a) < 2.5, a
    # results.json keeps admission and reply apart, per account
    (alice,) = s["clients"]
    assert alice["outcomes"] == {"ok": 2} and alice["replies"] == {"timeout": 2}, alice
    assert alice["served"] == 0, alice


def test_send_to_a_silent_server_times_out(run_pipefault, tmp_path):
    path = scenario(tmp_path, "send-timeout", "silent", """\
        - {account: alice, attempts: 1, protocol: send, send: "x", read_timeout: 200ms}
        """)
    run = run_pipefault(path)
    (a,) = attempts(run, "send-timeout")
    assert a["outcome"] == "ok" and a["reply"] == "timeout", a
    assert 0.2 <= waited_s(a) < 2.0, a


def test_a_server_that_closes_at_once_is_eof(run_pipefault, tmp_path):
    path = scenario(tmp_path, "eof", "close", """\
        - {account: alice, attempts: 3, protocol: send, send: "x", read_timeout: 5s}
        - {account: alice, attempts: 3, read_timeout: 5s}
        """)
    run = run_pipefault(path)
    att = attempts(run, "eof")
    assert len(att) == 6
    for a in att:
        assert a["outcome"] == "ok", a
        # send may find the end closed while writing: eof either way
        assert a["reply"] == "eof" and a["served"] is False, a
        assert waited_s(a) < 2.5, a


def test_default_protocol_is_reply_and_reads_the_first_bytes(run_pipefault, tmp_path):
    path = scenario(tmp_path, "greet", "greet", """\
        - {account: alice, attempts: 3}
        """)
    run = run_pipefault(path)
    for a in attempts(run, "greet"):
        assert a["protocol"] == "reply" and a["reply"] == "matched" and a["served"] is True, a
        assert a["reply_head"] == "h", a   # reply stops at the first byte
        assert waited_s(a) < 0.5, a


def test_admission_is_the_connect_whatever_the_reply(run_pipefault, tmp_path):
    """mallory (not allowed) reaches a socket left 0666: with `connect` he
    reads nothing and with `send` the server never answers, yet each connect
    got through the permission check, so others_never_admitted fails; a
    refused one records `reply: none`."""
    path = scenario(tmp_path, "admitted", "silent", """\
        - {account: mallory, attempts: 2, protocol: connect}
        - {account: mallory, attempts: 2, protocol: send, send: "x", read_timeout: 100ms}
        """, mode="0666", intended="0660",
        accounts="  - {name: mallory, allowed: false}\n", expect="[others_never_admitted]")
    run = run_pipefault(path)
    s = run.scenario("admitted")
    assert s["verdict"] == "fail", (s["reason"], run.stderr)
    att = attempts(run, "admitted")
    assert {a["reply"] for a in att if a["protocol"] == "connect"} == {"none"}
    assert {a["reply"] for a in att if a["protocol"] == "send"} == {"timeout"}
    assert all(a["outcome"] == "ok" for a in att), att

    path = scenario(tmp_path, "refused", "silent", """\
        - {account: mallory, attempts: 2, protocol: send, send: "x", expect: "y"}
        """, mode="0660", intended="0660",
        accounts="  - {name: mallory, allowed: false}\n", expect="[others_never_admitted]")
    run = run_pipefault(path)
    s = run.scenario("refused")
    assert s["verdict"] == "pass", (s["reason"], run.stderr)
    for a in attempts(run, "refused"):
        assert a["outcome"] == "EACCES" and a["reply"] == "none", a
        assert a["protocol"] == "send" and a["served"] is False, a
    assert not leftovers(run.results["run"]["id"])


# ---- win32 -------------------------------------------------------------------

WIN = """\
name: {name}
platform: win32
server: {{fixture: sd_every, timeout: 60s}}
endpoint: {{kind: npipe, path: proto}}
intended: {{sddl: "D:P(A;;GA;;;SY)(A;;GRGW;;;WD)"}}
accounts: [{{name: alice, allowed: true}}]
clients:
  - {{account: alice, attempts: 2, {client}}}
expect: [birth_intended]
"""


def test_win32_clients_follow_the_protocol(win32, run_pipefault, tmp_path):
    """The Win32 client gets the protocol, its bytes and read_timeout from
    the host: `connect` closes at once, `send` writes and compares (the
    fixture answers "ok\\n" whatever it reads), `reply` reads to its end."""
    cases = {
        "w-connect": ("protocol: connect", "connect", "none"),
        "w-send": ("protocol: send, send: \"hi\\r\\n\", expect: \"ok\"", "send", "matched"),
        "w-mismatch": ("protocol: send, send: \"hi\", expect: \"no\"", "send", "mismatch"),
        "w-reply": ("read_timeout: 5s", "reply", "matched"),
    }
    paths = []
    for name, (client, _, _) in cases.items():
        p = tmp_path / f"{name}.yaml"
        p.write_text(WIN.format(name=name, client=client))
        paths.append(str(p))
    run = run_pipefault(*paths)
    for name, (_, protocol, reply) in cases.items():
        s = run.scenario(name)
        assert s["verdict"] == "pass", (name, s["reason"], run.stderr)
        att = attempts(run, name)
        assert len(att) == 2, att
        for a in att:
            assert a["outcome"] == "ok" and a["protocol"] == protocol, a
            assert a["reply"] == reply and a["served"] is (reply == "matched"), a
            if protocol == "connect":
                assert "reply_head" not in a, a
            else:
                assert a["reply_head"].startswith("ok"), a
