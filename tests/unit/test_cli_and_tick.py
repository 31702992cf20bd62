"""The mkportal command and the scheduler tick."""

from __future__ import annotations

from mkportal.cli import main
from mkportal.services import tokens
from mkportal.worker import tick


def test_cli_users_and_tokens(db, capsys):
    assert (
        main(
            [
                "users",
                "create",
                "--email",
                "a@b.test",
                "--password",
                "long-enough-pw",
                "--org",
                "New Co",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["tokens", "create", "--email", "a@b.test"]) == 0
    token = capsys.readouterr().out.strip()
    assert token.startswith("mkp_") and "\n" not in token
    actor = tokens.token_actor(token)
    assert actor.role == "owner" and actor.email == "a@b.test"
    assert main(["users", "create", "--email", "bad", "--password", "long-enough-pw"]) == 2
    assert "valid email" in capsys.readouterr().err
    assert main(["tokens", "create", "--email", "nobody@b.test"]) == 1


def test_cli_operator_and_seed_demo_are_idempotent(db, capsys):
    assert main(["seed-demo"]) == 0
    assert main(["seed-demo"]) == 0
    out = capsys.readouterr().out
    assert "operator@vshn.mkportal.local" in out
    assert main(["tokens", "create", "--email", "operator@vshn.mkportal.local"]) == 0
    token = capsys.readouterr().out.strip()
    assert tokens.token_actor(token).is_operator


def test_tick_runs_hooks_once_per_interval_across_workers(db, monkeypatch):
    from mkportal.worker.registry import kind_names

    kind_names()  # the real hooks register on import; replace them below
    calls = []
    monkeypatch.setattr(tick, "_HOOKS", {"count": lambda: calls.append(1), "broken": lambda: 1 / 0})
    assert tick.run_tick(owner="w1") == ["count"]
    assert tick.run_tick(owner="w2") == []
    assert calls == [1]
    assert tick.acquire_lock("x", "w1", 0.0)
    assert tick.acquire_lock("x", "w2", 60.0)
    assert not tick.acquire_lock("x", "w1", 60.0)
