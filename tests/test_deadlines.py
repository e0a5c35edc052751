"""``adapters.deadlines.Deadlines``, the PostgreSQL store's bound on a statement's round trip,
on real sockets: a peer that never answers is cut off at the deadline, one that answers in time
is left alone, and only sockets still watched are ever shut down. (The store against a stopped
server: test_postgres.py.)"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from meeting_rules.adapters.deadlines import DeadlineExceeded, Deadlines


def answer(ours: socket.socket) -> bytes:
    """A byte from the peer, as a driver waits for it: the end of the stream (the shutdown ends
    the wait so) is a lost connection."""
    got = ours.recv(1)
    if not got:
        raise ConnectionResetError("the connection was closed under the wait")
    return got


@pytest.fixture
def deadlines() -> Iterator[Deadlines]:
    watcher = Deadlines(0.3)
    yield watcher
    watcher.close()


def test_a_peer_that_never_answers_is_cut_off_at_the_deadline(deadlines: Deadlines) -> None:
    ours, silent = socket.socketpair()
    with ours, silent:
        started = time.monotonic()
        with pytest.raises(DeadlineExceeded), deadlines.watch(ours.fileno()):
            answer(ours)
        took = time.monotonic() - started
        assert 0.3 <= took < 2.0, took
        assert ours.fileno() >= 0  # shut down, not closed: its owner closes it


def test_an_answer_in_time_leaves_the_socket_alone(deadlines: Deadlines) -> None:
    ours, peer = socket.socketpair()
    with ours, peer:
        for _ in range(3):  # longer in all than one deadline, each round trip within it
            with deadlines.watch(ours.fileno()):
                peer.sendall(b"x")
                assert ours.recv(1) == b"x"
            time.sleep(0.15)
        time.sleep(0.4)  # past every deadline that was set
        peer.sendall(b"y")
        assert ours.recv(1) == b"y"
        ours.sendall(b"z")
        assert peer.recv(1) == b"z"


def test_a_failure_of_its_own_goes_through_unchanged(deadlines: Deadlines) -> None:
    ours, peer = socket.socketpair()
    with ours, peer:
        with pytest.raises(KeyError), deadlines.watch(ours.fileno()):
            raise KeyError("not the deadline's")
        peer.sendall(b"x")
        assert ours.recv(1) == b"x"


def test_each_watch_has_its_own_deadline(deadlines: Deadlines) -> None:
    """A long watch and a short one at once, from two threads: the short one is cut off at its
    own deadline, the long one (given more time) is not."""
    short, short_peer = socket.socketpair()
    long, long_peer = socket.socketpair()
    outcome: dict[str, object] = {}

    def wait_long() -> None:
        with deadlines.watch(long.fileno(), seconds=3.0):
            outcome["long"] = long.recv(1)

    with short, short_peer, long, long_peer:
        waiter = threading.Thread(target=wait_long)
        waiter.start()
        with pytest.raises(DeadlineExceeded), deadlines.watch(short.fileno()):
            answer(short)
        long_peer.sendall(b"L")
        waiter.join(5)
        assert outcome == {"long": b"L"}


def test_a_deadline_is_positive_and_a_closed_watcher_watches_nothing() -> None:
    with pytest.raises(ValueError, match="positive"):
        Deadlines(0)
    watcher = Deadlines(1)
    ours, peer = socket.socketpair()
    with ours, peer:
        with watcher.watch(ours.fileno()):
            pass
        watcher.close()
        with pytest.raises(RuntimeError, match="closed"), watcher.watch(ours.fileno()):
            pass
    assert not any(t.name == "meeting_rules.deadlines" for t in threading.enumerate())
