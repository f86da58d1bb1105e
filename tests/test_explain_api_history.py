"""Missing Triton and torch names: the release history behind the answer (data/<package>_api.toml,
written by bench/explain/api_history.py from each release's wheel) and the verdict against the
installed release, through the CLI."""

from __future__ import annotations

import json
import textwrap

import pytest

from bench.explain import api_history as api_history_gen
from gpudiag.explain import api_history, verdicts

FMA_LINE = "AttributeError: module 'triton.language' has no attribute 'fma'"
LIBDEVICE_LINE = "AttributeError: module 'triton.language' has no attribute 'libdevice'"


def test_added_names_say_the_first_release_that_has_them():
    h = api_history.history("triton.language", "make_block_ptr")
    assert h is not None and h.added_in == "2.1.0" and h.removed_in is None
    assert h.fix_command() == 'pip install "triton>=2.1.0"'
    assert "added in Triton 2.1.0 (2.0.0 lacks it)" in h.describe()
    assert h.in_release("2.0.0") is False and h.in_release("3.1.1") is True


def test_a_removed_module_points_to_the_modules_that_took_over_its_names():
    h = api_history.history("triton.language", "libdevice")
    assert h is not None and h.removed_in == "2.1.0"
    where = [w for w, _ in h.elsewhere]
    assert "triton.language.extra.cuda.libdevice" in where  # the name, in 3.0 and later
    assert "triton.language.math" in where  # the functions, in 2.1 to 2.3
    assert h.fix_command() == 'pip install "triton<2.1.0"'


def test_a_moved_name_prefers_the_module_that_defines_it():
    h = api_history.history("triton.compiler.compiler", "triton_key")
    assert h is not None and h.removed_in is not None
    assert h.elsewhere[0][0] == "triton.runtime.cache.triton_key"  # autotuner only imports it


def test_names_no_release_has_and_modules_without_data():
    h = api_history.history("triton.language", "no_such_function")
    assert h is not None and not h.present and h.fix_command() is None
    assert h.describe().startswith("no Triton release from 2.0.0")
    assert api_history.history("triton.no_such_module", "x") is None  # a module no release has


def test_a_release_newer_than_the_data_counts_as_the_newest():
    h = api_history.history("triton.language", "cast")
    assert h is not None and h.in_release("99.0.0") is True and h.in_release("1.1.0") is None


@pytest.mark.parametrize(
    "installed,applies",
    [("2.3.1", "yes"), ("3.4.0", "no"), (None, "unknown")],
)
def test_the_verdict_compares_with_the_installed_triton(monkeypatch, installed, applies):
    monkeypatch.setattr(api_history, "installed", lambda package: installed)
    v = verdicts.api_release(FMA_LINE)
    assert v.applies == applies and v.about == "triton"
    assert v.commands == ['pip install "triton>=3.0.0"']


def test_cli_answers_under_your_triton(cli, no_gpu, monkeypatch):
    monkeypatch.setattr(api_history, "installed", lambda package: "3.9.0")
    r = cli("explain-warning", LIBDEVICE_LINE)
    assert r.exit_code == 0, r.stderr
    assert "Your Triton" in r.stdout and "Your GPU" not in r.stdout
    d = json.loads(cli("explain-warning", LIBDEVICE_LINE, "--json").stdout)
    assert d["id"] == "triton.language-name-missing"
    assert d["verdict"]["about"] == "triton" and d["verdict"]["applies"] == "yes"
    assert "removed in Triton 2.1.0" in d["verdict"]["details"][0]


def test_the_history_is_read_from_module_files(tmp_path):
    for version, body in {
        "1.0.0": "from .core import old\n__all__ = ['old', 'kept', 'ghost']\ndef kept(): pass\n",
        "1.1.0": "from .core import new\ndef kept(): pass\nif True:\n    def guarded(): pass\n",
    }.items():
        pkg = tmp_path / "wheels" / version / "triton" / "language"
        pkg.mkdir(parents=True)
        (pkg / "__init__.py").write_text(textwrap.dedent(body))
    out = tmp_path / "api.toml"
    assert api_history_gen.main(["triton", str(tmp_path / "wheels"), "--out", str(out)]) == 0
    text = out.read_text()
    assert 'releases = ["1.0.0", "1.1.0"]' in text
    assert 'old = "1.0.0..1.0.0"' in text and 'new = "1.1.0..1.1.0"' in text
    assert 'kept = "1.0.0..1.1.0"' in text and 'guarded = "1.1.0..1.1.0"' in text
    assert "ghost" not in text  # __all__ can name what a release no longer defines
    assert '"triton.language" = ["new", "old"]' in text  # imported, not defined, in their newest release


def test_modules_say_when_they_were_removed():
    h = api_history.missing("ModuleNotFoundError: No module named 'triton.ops'")
    assert h is not None and h.is_module and h.qualified == "triton.ops"
    assert h.removed_in == "3.2.0" and h.fix_command() == 'pip install "triton<3.2.0"'
    never = api_history.missing("No module named 'triton.no_such_module'")
    assert never is not None and "has a module triton.no_such_module" in never.describe()


def _has(obj, dotted: str) -> bool:
    """``hasattr`` for a config option nested in a class (``triton.cudagraph_trees``) too."""
    for part in dotted.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            return False
    return True


@pytest.mark.parametrize("package", ["triton", "torch"])
def test_the_history_agrees_with_the_installed_package(package):
    """The data, read from the wheels, against the Triton or torch this test runs with, where its release
    is in the data: every name the data gives that release is there, and none it denies it (except in
    a module that star-imports, whose names the data cannot see all of)."""
    import importlib

    version = api_history.installed(package)
    data = api_history._data(package)
    if version is None or api_history.version_tuple(version)[:2] not in {
        api_history.version_tuple(r)[:2] for r in data["releases"]
    }:
        pytest.skip(f"{package} {version} is not a release in the data")
    checked = 0
    for module, names in data["module"].items():
        try:
            mod = importlib.import_module(module)
        except ImportError:
            continue
        for name in names:
            if f"{module}.{name}" in data["exists"]:
                continue  # a submodule is an attribute of its package only once something imported it
            if name in data.get("conditional", {}).get(module, ()):
                continue  # bound under an `if` (a platform, an environment variable): not in every process
            h = api_history.history(module, name)
            assert h is not None
            there = h.in_release(version)
            if there is None:
                continue
            assert _has(mod, name) == there, (module, name, version)
            checked += 1
    assert checked > 500


def test_torch_names_and_modules_say_their_first_release():
    h = api_history.missing("AttributeError: module 'torch.library' has no attribute 'register_fake'")
    assert h is not None and h.package == "torch" and h.added_in == "2.4.0"
    assert h.fix_command() == 'pip install "torch>=2.4.0"'
    m = api_history.missing("ModuleNotFoundError: No module named 'torch.nn.attention.flex_attention'")
    assert m is not None and m.is_module and m.added_in == "2.5.0"
    # a name that is a submodule is answered as the module
    sub = api_history.missing("ImportError: cannot import name 'flex_attention' from 'torch.nn.attention'")
    assert sub is not None and sub.is_module and sub.qualified == "torch.nn.attention.flex_attention"


def test_a_name_torch_may_take_from_its_c_extension_is_not_called_missing():
    h = api_history.missing("AttributeError: module 'torch' has no attribute 'float8_e4m3fn'")
    assert h is not None and h.unseen_names and h.in_release("2.13.0") is None
    assert "C extension" in h.describe() and h.fix_command() is None


def test_cli_answers_under_your_torch(cli, no_gpu, monkeypatch):
    monkeypatch.setattr(api_history, "installed", lambda package: "2.3.1")
    line = "AttributeError: module 'torch.library' has no attribute 'custom_op'"
    r = cli("explain-warning", line)
    assert r.exit_code == 0, r.stderr
    assert "Your torch" in r.stdout
    d = json.loads(cli("explain-warning", line, "--json").stdout)
    assert d["id"] == "torch.api-name-missing" and d["scope"] == "general"
    assert d["verdict"]["about"] == "torch" and d["verdict"]["applies"] == "yes"
    assert d["verdict"]["commands"] == ['pip install "torch>=2.4.0"']


def test_torch_config_options_and_their_classes():
    h = api_history.missing("AttributeError: torch._inductor.config.fx_graph_cache does not exist")
    assert h is not None and h.added_in == "2.2.0"
    nested = api_history.missing("AttributeError: torch._inductor.config.triton.cudagraph_trees does not exist")
    assert nested is not None and nested.qualified == "torch._inductor.config.triton.cudagraph_trees"
    assert nested.added_in == "2.1.0"


def test_a_log_lists_each_missing_name_with_its_own_verdict(cli, no_gpu, tmp_path):
    log = tmp_path / "run.log"
    log.write_text(
        "AttributeError: module 'triton.language' has no attribute 'gather'\n"
        "AttributeError: module 'triton.language' has no attribute 'fma'\n"
        "AttributeError: module 'triton.language' has no attribute 'fma'\n"
        "ModuleNotFoundError: No module named 'torch._C._dynamo.eval_frame'\n"
    )
    d = json.loads(cli("explain-warning", "--log", str(log), "--json").stdout)
    found = {(k["id"], k["count"]): k["verdict"] for k in d["known"]}
    assert set(found) == {
        ("triton.language-name-missing", 1),
        ("triton.language-name-missing", 2),
        ("torch.api-name-missing", 1),
    }
    assert "gather" in found[("triton.language-name-missing", 1)]["summary"]
    assert "fma" in found[("triton.language-name-missing", 2)]["summary"]
    # torch._C's modules are the C extension's: no .py to read, so no claim either way
    assert found[("torch.api-name-missing", 1)]["applies"] == "unknown"


def test_a_module_whose_names_are_not_recorded_says_so_and_claims_nothing():
    h = api_history.missing("ImportError: cannot import name 'foo' from 'torch._dynamo.testing'")
    assert h is not None and h.names_unrecorded and h.in_release("2.13.0") is None
    assert "not known here" in h.describe() and h.fix_command() is None
    assert (
        verdicts.api_release("ImportError: cannot import name 'foo' from 'torch._dynamo.testing'").applies == "unknown"
    )
