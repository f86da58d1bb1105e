"""The committed man pages are exactly what the Typer app generates now (no drift)."""

from pathlib import Path

from gpudiag import manpages

MAN = Path(__file__).resolve().parents[1] / "man"


def test_committed_pages_match_generated():
    fresh = manpages.generate()
    committed = {p.name: p.read_text(encoding="utf-8") for p in MAN.glob("*.1")}
    assert sorted(committed) == sorted(fresh), "regenerate with: python -m gpudiag.manpages man"
    for name, text in fresh.items():
        assert committed[name] == text, f"man/{name} is stale: regenerate with python -m gpudiag.manpages man"


def test_one_page_per_subcommand():
    import typer.main

    from gpudiag.cli.app import full_app

    app = full_app()

    subs = typer.main.get_command(app).commands
    assert {f"gpudiag-{s}.1" for s in subs} | {"gpudiag.1"} == set(manpages.generate())


def _commands():
    import typer.main

    from gpudiag.cli.app import full_app

    group = typer.main.get_command(full_app())
    return [((), group)] + [((name,), cmd) for name, cmd in sorted(group.commands.items())]


def test_help_keeps_everything_at_80_and_200_columns(cli):
    import re

    squash = lambda text: re.sub(r"\s+", "", text)  # noqa: E731 - wrapping moves only whitespace
    for width in (80, 200):
        for args, cmd in _commands():
            r = cli(*args, "--help", env={"COLUMNS": str(width)})
            assert r.exit_code == 0, (args, r.stderr)
            lines = r.stdout.splitlines()
            assert all(len(line) <= width for line in lines), (args, width)
            assert "…" not in r.stdout and not any(
                line.rstrip().endswith("...") and not line.startswith("Usage:") for line in lines
            ), (args, width)
            text = squash(r.stdout)
            for param in cmd.params:
                if getattr(param, "help", None) and not getattr(param, "hidden", False):
                    assert squash(param.help) in text, (args, param.name)
            for para in (cmd.help or "").split("\n\n"):
                assert squash(para) in text, (args, para[:40])


def test_every_page_has_examples_and_its_exit_statuses():
    for name, text in manpages.generate().items():
        assert ".SH EXAMPLES" in text, name
        statuses = text.split(".SH EXIT STATUS")[1].split(".SH SEE ALSO")[0]
        codes = [int(line.split()[1]) for line in statuses.splitlines() if line.startswith(".B ")]
        assert {0, 2, 130, 141, 143, 129} <= set(codes), (name, codes)
        for line in text.split(".SH EXAMPLES")[1].split(".SH")[0].splitlines():
            if line.startswith(".B "):
                assert line.startswith(".B gpudiag ") or " gpudiag " in line, (name, line)


def test_synopsis_and_arguments_show_no_python_types():
    for name, text in manpages.generate().items():
        for word in ("<str>", "<path>", "<list", "{SCRIPT}", "...]..."):
            assert word not in text, (name, word)
