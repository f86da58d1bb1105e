"""``gpudiag check-tiles --kernel MODULE:FUNCTION --configs SPACE.json``: options in, the screen out.

``check_tiles.py`` declares the options and hands over here; this module loads the kernel and its
space (``gpudiag.tiles.kernel_spec``, ``space_configs``), resolves the targets, runs the screen (``gpudiag.tiles.space``)
with a progress bar on stderr, merges shards (``--merge``), writes the surviving space and the
dropped configs where asked, and renders the report or prints its JSON.
"""

from __future__ import annotations

import typer
from rich.markup import escape

from gpudiag import files
from gpudiag.cli.check_tiles_cache import named_targets, with_live_gpu
from gpudiag.cli.modes import current_context, reject_unused_options
from gpudiag.cli.output import console, emit_json, say
from gpudiag.errors import EXIT_USAGE, GpudiagError
from gpudiag.tiles import kernel_spec, space_configs
from gpudiag.tiles.space_report import SpaceReport, merge

# The check-tiles parameters that mean something in this mode; any other one given is an error.
USED_PARAMS = {
    "tiles",  # with --merge: the documents
    "kernel",
    "configs",
    "signature",
    "shard",
    "merge",
    "write_surviving",
    "write_dropped",
    "gpu",
    "arch",
    "index",
    "jobs",
    "no_cache",
    "json_out",
    "show_all",
}
LISTED = 20  # dropped configs shown in the text without --all
WORDS = {
    "launches": "launch",
    "does-not-fit": "do not fit",
    "cannot-launch": "cannot launch",
    "cannot-compile": "cannot compile",
    "unknown": "not checked",
}


def _reject_unused_options() -> None:
    reject_unused_options(USED_PARAMS, "--kernel/--configs, which compiles your kernel for each config and target")


def _given_tiles() -> bool:
    ctx = current_context()
    if ctx is None:
        return False
    return bool(ctx.params.get("tiles"))


def _kernel(refs: list[str] | None) -> kernel_spec.KernelSpec:
    if not refs:
        raise GpudiagError(
            "--configs screens your own kernel: give --kernel MODULE:FUNCTION (a .py file or an importable module)",
            EXIT_USAGE,
        )
    if len(refs) > 1:
        raise GpudiagError(f"--kernel names one kernel to screen, got {len(refs)}: {', '.join(refs)}", EXIT_USAGE)
    specs = kernel_spec.load_kernels(refs[0])
    if len(specs) > 1:
        names = ", ".join(s.name for s in specs)
        raise GpudiagError(
            f"--kernel {refs[0]}: gpudiag_kernels() returns {len(specs)} kernels ({names}); name one as "
            f"{kernel_spec.split_ref(refs[0])[0]}:NAME",
            EXIT_USAGE,
        )
    return specs[0]


def _progress():
    from gpudiag.cli.check_tiles import _Progress

    bar = _Progress()

    def update(done: int, total: int) -> None:
        bar.update("compiling config x target", done, total)

    return bar, update


def run_space(
    kernel: list[str] | None,
    configs: str | None,
    signature: str | None,
    shard: str | None,
    merge_files: list[str] | None,
    write_surviving: str | None,
    write_dropped: str | None,
    arch: str | None,
    gpu: str | None,
    index: int | None,
    jobs: int | None,
    use_cache: bool,
    json_out: bool,
    show_all: bool,
) -> None:
    _reject_unused_options()
    if jobs is not None and jobs < 1:
        raise GpudiagError(f"--jobs must be at least 1, got {jobs}", EXIT_USAGE)
    if merge_files is not None:
        if not merge_files:
            raise GpudiagError("--merge joins the JSON documents given as arguments: --merge shard-*.json", EXIT_USAGE)
        if kernel or configs or signature or shard:
            raise GpudiagError(
                "--merge reads the JSON documents of earlier runs; --kernel, --configs, --signature and --shard "
                "belong to those runs",
                EXIT_USAGE,
            )
        report = merge([(p, SpaceReport.from_dict(space_configs.read_json(p, "--merge"), p)) for p in merge_files])
    else:
        if _given_tiles():
            raise GpudiagError(
                "--kernel screens the configs of --configs (or of the kernel's module); tile arguments do not apply",
                EXIT_USAGE,
            )
        from gpudiag.tiles import space

        shard_kn = space.parse_shard(shard)
        spec = _kernel(kernel)
        if signature:
            space_configs.apply_signature_file(spec, signature)
        if configs:
            space_configs.apply_space_file(spec, configs)
        targets = with_live_gpu(named_targets(arch, gpu), index)
        bar, update = _progress()
        with bar:
            report = space.screen(spec, targets, shard_kn, parallel=jobs, use_cache=use_cache, on_progress=update)
    doc = report.to_dict()
    if write_surviving:
        files.write_user_file(write_surviving, _json(doc["surviving"]))
    if write_dropped:
        files.write_user_file(write_dropped, _json(doc["dropped"]))
    if json_out:
        emit_json(doc)
    else:
        render(report, doc, show_all, write_surviving)
    if report.exit_code:
        raise typer.Exit(report.exit_code)


def _json(value) -> str:
    import json

    return json.dumps(value, indent=2) + "\n"


def render(report: SpaceReport, doc: dict, show_all: bool, written: str | None) -> None:
    con = console()
    space = doc["space"]
    shard = f", shard {space['shard']['k']}/{space['shard']['n']}" if space["shard"] else ""
    merged = f", merged from {len(space['merged_from'])} documents" if space["merged_from"] else ""
    say(con, f"check-tiles --kernel {report.where}", "bold")
    say(
        con,
        f"{len(report.rows):,} of {report.space_size:,} configs{shard}{merged} (from {report.space_source}) x "
        f"{len(report.targets)} target(s) · Triton {report.triton}",
    )
    con.print("targets (shared memory per block, opt-in):")
    for t in report.targets:
        where = "" if t["label"] == t["sm"] else f" {t['sm']}"
        say(con, f"{t['label']}{where}: {t['name']}, {t['smem_per_block_optin_bytes']:,} B", indent="  ")

    dropped = doc["dropped"]
    if dropped:
        con.print()
        shown = dropped if show_all else dropped[:LISTED]
        title = f"dropped: {len(dropped):,} config(s)" + ("" if len(shown) == len(dropped) else f" (first {LISTED})")
        con.print(f"[bold]{escape(title)}[/bold]")
        for d in shown:
            row = next(r for r in report.rows if r["index"] == d["index"])
            say(con, f"#{d['index']} {row['label']}", indent="  ")
            for target, reason in d["reasons"].items():
                style = "yellow" if d["statuses"][target] == "unknown" else "red"
                say(con, f"{target}: {reason}", style, indent="      ")
    crashes = report.crashes()
    if crashes:
        con.print()
        say(con, f"the compiler crashed on {len(crashes)} config x target cell(s); the screen went on:", "yellow")
        for r, c in crashes[: LISTED if not show_all else None]:
            say(con, f"#{r['index']} on {c['target']}: {c['reason']}", "yellow", indent="  ")

    surviving = doc["surviving"]
    if surviving and (show_all or len(surviving) <= LISTED):
        con.print()
        con.print("[bold]surviving[/bold]:")
        for r in report.rows:
            if report.survives(r):
                say(con, f"#{r['index']} {r['label']}", indent="  ")
    con.print()
    con.print("[bold]per target[/bold] (configs):")
    for s in doc["summary"]:
        counts = ", ".join(f"{s[k.replace('-', '_')]:,} {WORDS[k]}" for k in WORDS if s[k.replace("-", "_")])
        say(con, f"{s['target']}: {counts or 'none'}", indent="  ")
    where = f", written to {written}" if written else " (--write-surviving PATH writes them as JSON)"
    say(
        con,
        f"surviving on every target: {len(surviving):,} of {len(report.rows):,} configs{where}",
        "green" if surviving else "red",
    )
    if space["missing"]:
        say(con, f"not screened: {len(space['missing']):,} configs of the space (a shard missing?)", "yellow")
    comp = doc["compile"]
    say(
        con,
        f"{comp['compiled']:,} compiled now, {comp['cached']:,} from gpudiag's cache; {comp['wall_s']:.1f} s with "
        f"{comp['jobs']} parallel compiles",
        "dim",
    )
    for note in doc["notes"]:
        say(con, f"note: {note}", "dim")
