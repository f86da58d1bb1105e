"""``gpudiag check-tiles``: will these tile configs fit this GPU's shared memory, and by how much."""

from __future__ import annotations

from typing import List, Optional

import typer
from rich import box
from rich.table import Table

from gpudiag.cli.app import app
from gpudiag.cli.output import console, emit_json, fmt_bytes
from gpudiag.device import live_or_none, resolve_target
from gpudiag.tiles.dtypes import lookup as lookup_dtype
from gpudiag.errors import EXIT_USAGE, GpudiagError
from gpudiag.tiles import check as core
from gpudiag.tiles.from_script import kernels_from_script
from gpudiag.tiles.inductor import SETS, inductor_configs
from gpudiag.tiles.parse import TileConfig, parse_file, parse_tile
from gpudiag.tiles.waves import parse_shape


CHECK_TILES_HELP = """Will these tile configs fit this GPU's shared memory, exactly, before anything is launched.

For each config: shared memory needed, the limit, the margin in bytes and %, fits or not, the
largest stage count that fits, blocks per SM that shared memory allows, and with --exact the
registers per thread and spills. Exit code 1 when any config does not fit (a CI gate), 2 on bad
input.

The estimate (instant) models Triton's software pipeliner: stages x (BM*BK*bytes(A) +
BK*BN*bytes(B)), or the epilogue's BM*BN*bytes(out) buffer when larger; it never reports
"fits" for a config that failed on the H100 ground truth. --model cutlass models CUTLASS 3.x
builders (stage bytes + 16 B of barriers + scale factors, the StageCountAutoCarveout rule with
the builder family's capacity, 1024-byte aligned storage). --exact compiles the real Triton
matmul for the target on this machine, with the specialisation an aligned launch gets.
"""
# Every assumption behind the numbers, in --help and the man page as in the output's notes.
CHECK_TILES_HELP += "\n\nAssumptions: " + "; ".join(core.TRITON_NOTES + core.CUTLASS_NOTES) + "."


@app.command("check-tiles", help=CHECK_TILES_HELP)
def check_tiles_command(
    tiles: Optional[List[str]] = typer.Argument(None, metavar="TILE...", help="Tile configs BMxBNxBK[:STAGES][@WARPS], "
                                                "e.g. 128x256x64:3@8. A K written as 64B means 64 bytes of K "
                                                "(CUTLASS/TRT-LLM tile names)."),
    dtype: str = typer.Option("fp16", "--dtype", "-d", metavar="DTYPE", help="Element type of A (and B unless "
                              "--b-dtype): fp32, tf32, fp16, bf16, fp8 (= fp8e4m3), fp8e5m2, int8, fp4."),
    b_dtype: Optional[str] = typer.Option(None, "--b-dtype", metavar="DTYPE", help="Element type of B where it "
                                          "differs from A."),
    file: Optional[List[str]] = typer.Option(None, "--file", "-f", metavar="FILE", help="Read configs from a JSON, "
                                             "YAML (needs PyYAML) or CSV file; parsed as data, never evaluated."),
    from_inductor: bool = typer.Option(False, "--from-inductor", help="Check the matmul candidates the installed "
                                       "torch's inductor autotunes (read through its own heuristics module)."),
    inductor_set: str = typer.Option("mm", "--inductor-set", metavar="SET", help="Which inductor candidate list: "
                                     + ", ".join(SETS) + "."),
    from_script: Optional[str] = typer.Option(None, "--from-script", metavar="SCRIPT", help="Check the configs of "
                                              "every @triton.autotune kernel in a Python script (parsed with ast, "
                                              "never run)."),
    gpu: Optional[str] = typer.Option(None, "--gpu", "-g", metavar="NAME", help="Target a catalogue GPU instead of "
                                      "the live one (no GPU needed)."),
    arch: Optional[str] = typer.Option(None, "--arch", metavar="SM", help="Target an architecture, e.g. sm_90, "
                                       "sm_121 (per-compute-capability limits; no GPU needed)."),
    index: Optional[int] = typer.Option(None, "--index", "-i", metavar="N", min=0, help="The live GPU at this CUDA ordinal."),
    smem_limit: Optional[int] = typer.Option(None, "--smem-limit", metavar="BYTES", help="Compare against this "
                                             "per-block shared-memory limit instead of the target's."),
    sms: Optional[int] = typer.Option(None, "--sms", metavar="N", help="SM count for --shape where the target "
                                      "does not give one (--arch, --smem-limit)."),
    exact: bool = typer.Option(False, "--exact", help="Compile the Triton matmul for the target architecture and "
                               "report the compiler's shared memory, registers and spills (no GPU needed)."),
    a_layout: Optional[str] = typer.Option(None, "--a-layout", metavar="row|col", help="Layout of A: row (K "
                                           "contiguous, default) or col."),
    b_layout: Optional[str] = typer.Option(None, "--b-layout", metavar="row|col", help="Layout of B: row (N "
                                           "contiguous) or col (K-major). Default: col for fp8/fp4 (as "
                                           "torch._scaled_mm requires), row otherwise."),
    jobs: Optional[int] = typer.Option(None, "--jobs", "-j", metavar="N", help="Parallel compiles for --exact "
                                       "(default: all cores)."),
    no_cache: bool = typer.Option(False, "--no-cache", help="--exact: ignore and do not write the on-disk cache."),
    model: str = typer.Option("triton", "--model", metavar="MODEL", help="triton (Triton's pipeliner) or cutlass "
                              "(CUTLASS 3.x builders: stage bytes, barriers, scale factors, auto-carveout rule)."),
    grouped: bool = typer.Option(False, "--grouped", help="--model cutlass: a grouped (pointer-array) GEMM, whose "
                                 "builder reserves scheduler and tensor-map storage."),
    epilogue_smem: Optional[int] = typer.Option(None, "--epilogue-smem", metavar="BYTES", help="--model cutlass: "
                                                "the epilogue's shared storage, passed to StageCountAutoCarveout. "
                                                "Unknown by default: totals are then lower bounds and a config "
                                                "whose bound fits is reported as '?' (exit 1), never as a fit."),
    kernel_carveout: Optional[int] = typer.Option(None, "--kernel-carveout", metavar="BYTES", help="--model cutlass: "
                                                  "override the builder's kernel carveout."),
    block_scaled: Optional[bool] = typer.Option(None, "--block-scaled/--no-block-scaled", help="--model cutlass: "
                                                "operands carry block scale factors (default: yes for fp4)."),
    scale_vector: Optional[int] = typer.Option(None, "--scale-vector", metavar="N", help="--model cutlass: elements "
                                               "per scale factor (16 nvfp4, 32 mx)."),
    shape: Optional[str] = typer.Option(None, "--shape", metavar="MxNxK", help="Also report tiles, waves over the "
                                        "SMs, last-wave fill and the fewest SMs that keep the same waves."),
    groups: int = typer.Option(1, "--groups", metavar="G", help="With --shape: number of GEMMs in the group."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON document (schema gpudiag.check-tiles/1)."),
    from_triton_cache: bool = typer.Option(False, "--from-triton-cache", help="Check every kernel in a Triton "
                                           "cache: the folder given as the argument, else $TRITON_CACHE_DIR, else "
                                           "~/.triton/cache. Each is recompiled for every target (--arch and --gpu "
                                           "take comma lists: --arch sm_80,sm_89 --gpu 'RTX 4090',gb10; no GPU "
                                           "needed) into a kernel x target table of shared memory, registers, "
                                           "spills, blocks per SM and fits. Exit 1 if any cell does not launch "
                                           "or could not be checked. JSON schema gpudiag.check-tiles-cache/1."),
    kernel: Optional[List[str]] = typer.Option(None, "--kernel", "-k", metavar="NAME", help="--from-triton-cache: "
                                               "only kernels whose name contains NAME, or matches it as a glob "
                                               "(triton_mm*). Repeatable."),
) -> None:
    if from_triton_cache:  # a mode of its own: gpudiag/cli/check_tiles_cache.py
        from gpudiag.cli.check_tiles_cache import run_from_triton_cache
        return run_from_triton_cache(tiles, kernel, arch, gpu, index, jobs, not no_cache, json_out)
    configs: list[TileConfig] = []
    inductor_info = script_info = None
    for i, t in enumerate(tiles or []):
        configs.append(parse_tile(t, f"argument {i + 1}"))
    for f in file or []:
        configs.extend(parse_file(f))
    if from_inductor:
        ind = inductor_configs(inductor_set)
        configs.extend(ind.configs)
        inductor_info = {"torch_version": ind.torch_version, "source": ind.source, "set": inductor_set,
                         "count": len(ind.configs), "prunes_by_smem": ind.prunes_by_smem}
    if from_script:
        kernels = kernels_from_script(from_script)
        script_info = {"path": from_script, "kernels": [
            {"name": k.name, "line": k.line, "configs": len(k.configs), "skipped": k.skipped} for k in kernels]}
        for k in kernels:
            configs.extend(k.configs)
    if not configs:
        raise GpudiagError("no tile configs given: pass tiles like 128x128x64:3@4, --file, --from-inductor or "
                           "--from-script", EXIT_USAGE)
    # Bad input is reported before the environment is consulted (a typo is not a "no GPU" problem).
    for name in filter(None, (dtype, b_dtype)):
        lookup_dtype(name)
    parsed_shape = parse_shape(shape) if shape else None
    if smem_limit is not None and smem_limit <= 0:
        raise GpudiagError(f"--smem-limit must be a positive number of bytes, got {smem_limit}", EXIT_USAGE)
    if sum(x is not None for x in (gpu, arch, index)) > 1:
        raise GpudiagError("give at most one of --gpu, --arch and --index", EXIT_USAGE)
    opt = core.Options(a_dtype=dtype, b_dtype=b_dtype, model=model, exact=exact, a_layout=a_layout,
                       b_layout=b_layout, jobs=jobs, use_cache=not no_cache,
                       shape=parsed_shape, groups=groups, grouped=grouped,
                       epilogue_smem=epilogue_smem, kernel_carveout=kernel_carveout, block_scaled=block_scaled,
                       scale_vector=scale_vector)
    core.validate_options(opt)

    if gpu or arch or index is not None:
        facts = resolve_target(gpu=gpu, arch=arch, index=index)
    elif smem_limit is not None:
        facts = live_or_none()[0] if exact else None
    else:
        facts, why = live_or_none()
        if facts is None:
            raise GpudiagError(f"no live GPU ({why}); give --gpu NAME, --arch sm_XY or --smem-limit BYTES",
                               EXIT_USAGE)
    target = core.target_from(facts, smem_limit, sms)
    report = core.check(configs, target, opt)
    report.inductor = inductor_info
    report.script = script_info
    if json_out:
        emit_json(report.to_dict())
    else:
        render(report)
    if not report.all_fit:
        raise typer.Exit(1)


def _display_spec(v: core.TileVerdict) -> str:
    """The config as given, with the stage count used filled in where it was left out."""
    if ":" in v.spec:
        return v.spec
    if "@" in v.spec:
        return v.spec.replace("@", f":{v.stages}@")
    return f"{v.spec}:{v.stages}"


def _num(n: int | None) -> str:
    return "n/a" if n is None else f"{n:,}"


def render(report: core.CheckReport) -> None:
    con = console()
    t = report.target
    where = f"{t.name}" + (f" ({t.sm}, {t.origin})" if t.sm else "")
    con.print(f"[bold]check-tiles[/bold] · {where} · limit {t.limit_bytes:,} B per block "
              f"[dim]({t.limit_source})[/dim]")
    if report.inductor:
        i = report.inductor
        con.print(f"inductor candidates: {i['count']} from torch {i['torch_version']} ({i['source']}), before "
                  "inductor scales block sizes down to small problem shapes")
        if i.get("prunes_by_smem") is False:
            con.print("  inductor does not drop the ones that do not fit by itself (torch._inductor.config."
                      "max_autotune_prune_choices_based_on_shared_mem is off; TORCHINDUCTOR_MAX_AUTOTUNE_PRUNE_"
                      "CHOICES_BASED_ON_SHARED_MEM=1 turns it on): max-autotune compiles them, they fail with "
                      "'out of resource', and it logs 'No valid triton configs'")
    if report.script:
        for k in report.script["kernels"]:
            con.print(f"{report.script['path']}:{k['line']} kernel {k['name']}: {k['configs']} config(s)")
            for s in k["skipped"]:
                con.print(f"  [yellow]skipped {s}[/yellow]")
    groups = {v.group for v in report.verdicts}
    layouts = {(v.a_layout, v.b_layout) for v in report.verdicts if v.b_layout}
    if len(layouts) == 1:
        a_l, b_l = next(iter(layouts))
        con.print(f"operands: A {a_l}-major, B {b_l}-major" + (" (K-major)" if b_l == "col" else ""))
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    cols = (["kernel"] if len(groups) > 1 else []) + ["config", "dtype", "needed B", "margin", "fits",
                                                        "max st.", "blk/SM"]
    if report.exact:
        cols += ["regs", "spills"]
    for c in cols:
        table.add_column(c, justify="left" if c in ("config", "dtype", "kernel", "fits") else "right",
                         no_wrap=c in ("config", "dtype", "needed B", "margin"))
    for v in report.verdicts:
        fits = "[green]yes[/green]" if v.fits else ("[red]NO[/red]" if v.fits is False else "[yellow]?[/yellow]")
        dt = v.a_dtype if v.a_dtype == v.b_dtype else f"{v.a_dtype}x{v.b_dtype}"
        if v.b_layout and len(layouts) > 1:
            dt += f" {v.a_layout[0]}{v.b_layout[0]}"
        margin = "n/a" if v.margin_bytes is None else f"{v.margin_bytes:+,} ({v.margin_pct:+.1f}%)"
        row = ([v.group or ""] if len(groups) > 1 else []) + [
            _display_spec(v), dt, _num(v.needed_bytes), margin, fits, str(v.largest_stages_that_fit),
            _num(v.blocks_per_sm_by_smem)]
        if report.exact:
            e = v.exact
            row += [_num(e.regs_per_thread) if e else "", _num(e.spills) if e else ""]
        table.add_row(*row)
    con.print(table)
    if report.shape is not None:
        s = report.shape
        wt = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False,
                   title=f"{s.m}x{s.n}x{s.k}" + (f" x {report.groups} groups" if report.groups > 1 else "")
                   + f" on {t.sm_count} SMs")
        for c in ("config", "tiles", "waves", "last wave", "efficiency", "fewest SMs", "K iters"):
            wt.add_column(c, justify="left" if c == "config" else "right", no_wrap=c == "config")
        for v in report.verdicts:
            w = v.waves
            wt.add_row(_display_spec(v), f"{w.tiles:,}", str(w.waves), f"{100 * w.last_wave_fill:.0f}%",
                       f"{100 * w.efficiency:.0f}%", str(w.min_sms_same_waves), str(w.k_iterations))
        con.print(wt)
    for v in report.verdicts:
        for p in v.problems:
            con.print(f"[red]{v.spec} ({v.where}): {p}[/red]")
        if v.cutlass is not None:
            c = v.cutlass
            con.print(f"[bold]{v.spec}[/bold] CUTLASS {c.family}: stage = A {c.a_tile_bytes:,} + B {c.b_tile_bytes:,}"
                      f" + SFA {c.sfa_bytes:,} + SFB {c.sfb_bytes:,} + barriers {c.barrier_bytes} = "
                      f"{c.stage_bytes:,} B; auto-carveout picks {c.auto_stages} stage(s) from "
                      f"{c.family_capacity_bytes:,} - {c.kernel_carveout_bytes:,} (kernel) - "
                      f"{c.epilogue_carveout_bytes:,} (epilogue) B")
            def state(r: dict) -> str:
                if r["fits"] is None:
                    return f"fits if the epilogue needs <= {r['margin_bytes']:,} B"
                return "fits" if r["fits"] else f"{-r['margin_bytes']:,} B over"

            con.print("  stages -> bytes: " + ", ".join(f"{r['stages']}: {r['bytes']:,} ({state(r)})"
                                                       for r in c.stage_table))
            fits_list = [str(r["stages"]) for r in c.stage_table if r["fits"]]
            maybe_list = [str(r["stages"]) for r in c.stage_table if r["fits"] is None]
            if maybe_list:
                con.print(f"  stage counts that fit {t.limit_bytes:,} B, depending on the epilogue: "
                          f"{', '.join(maybe_list)}")
            else:
                con.print(f"  stage counts that fit {t.limit_bytes:,} B: {', '.join(fits_list) or 'none'}")
            if c.auto_stages_fit is False:
                con.print(f"  [red]the builder's own pick ({c.auto_stages} stages, {c.auto_stages_launch_bytes:,} B)"
                          f" does not fit this device: {c.auto_stages_launch_bytes - t.limit_bytes:,} B over[/red]")
    n, m = report.fit_count, len(report.verdicts)
    style = "green" if n == m else "red"
    con.print(f"[{style}]{n} of {m} fit[/{style}] {fmt_bytes(t.limit_bytes)} per block on {t.name}")
    failing = [v for v in report.verdicts if v.fits is False]
    for v in failing[:20]:
        con.print(f"  [red]does not fit:[/red] {v.spec} ({v.where}) needs {v.needed_bytes:,} B, "
                  f"{-v.margin_bytes:,} B over; largest stage count that fits: {v.largest_stages_that_fit}")
    if len(failing) > 20:
        con.print(f"  … and {len(failing) - 20} more (--json lists all)")
    for note in report.notes:
        con.print(f"[dim]note: {note}[/dim]")
