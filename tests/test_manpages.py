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
