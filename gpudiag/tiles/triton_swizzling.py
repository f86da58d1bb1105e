"""The shared memory Triton reserves to convert a 2-D tile from one register layout to another
(``triton_layouts.py``): a Python port of the compiler's scratch rule, Triton 3.6 to 3.9.

Sources: ``cvtNeedsSharedMemory`` / ``cvtNeedsWarpShuffle`` (whether a conversion goes through shared
memory at all), ``getNvidiaAllocationAnalysisScratchSizeFn`` (third_party/nvidia/.../Allocation.cpp)
with ``getSrcDstTiles`` and ``optimalSwizzling`` (lib/Tools/GenericSwizzling.cpp): a conversion's
scratch is the tile divided by the "reps" the swizzled layout moves in turns, so it is often a half
or a quarter of BM x BN, never more. Layout bases are handled as vectors over GF(2).
"""

from __future__ import annotations

from dataclasses import dataclass

from gpudiag.tiles.triton_layouts import Basis, Layout, log2


def _flat(layout: Layout, bases: tuple[Basis, ...]) -> list[int]:
    """Bases as offsets into the flattened tile (dimension 0 most minor, as ``flattenOuts`` does)."""
    rows = layout.shape[0]
    return [r + rows * c for r, c in bases]


def _pow2(x: int) -> bool:
    return x > 0 and x & (x - 1) == 0


def _rref(rows: list[int], dim: int) -> list[int]:
    """Reduced row echelon form over GF(2), columns ordered from bit 0 (f2reduce's convention)."""
    rows = [r for r in rows if r]
    out: list[int] = []
    for col in range(dim):
        bit = 1 << col
        pick = next((i for i, r in enumerate(rows) if r & bit), None)
        if pick is None:
            continue
        pivot = rows.pop(pick)
        rows = [r ^ pivot if r & bit else r for r in rows]
        out = [r ^ pivot if r & bit else r for r in out]
        out.append(pivot)
    return out


def _pivot(row: int) -> int:
    return (row & -row).bit_length() - 1


def _nullspace(vectors: list[int], dim: int) -> list[int]:
    mat = _rref(vectors, dim)
    pivots = {_pivot(r) for r in mat}
    basis = []
    for free in range(dim):
        if free in pivots:
            continue
        vec = 1 << free
        for r in mat:
            if r & (1 << free):
                vec ^= 1 << _pivot(r)
        basis.append(vec)
    return basis


def _complement(basis: list[int], dim: int) -> list[int]:
    pivots = {_pivot(r) for r in _rref(basis, dim)}
    return [1 << i for i in range(dim) if i not in pivots]


def _intersection(b1: list[int], b2: list[int], dim: int) -> list[int]:
    if all(_pow2(x) for x in b1) and all(_pow2(x) for x in b2):
        s2 = set(b2)
        return [b for b in b1 if b and b in s2]
    return _nullspace(_nullspace(b1, dim) + _nullspace(b2, dim), dim)


def _segment(bank_src: list[int], bank_dst: list[int], dim: int, length: int) -> list[int]:
    """``computeSegment``: the bases that pick which 128-byte bank row an element lands in."""
    set_src = {b for b in bank_src if b}
    set_dst = {b for b in bank_dst if b}
    seg = [1 << b for b in range(dim) if (1 << b) not in set_src and (1 << b) not in set_dst]
    if len(seg) >= length:
        return seg[:length]
    a = sorted(v for v in set_src if v not in set_dst)
    b = sorted(v for v in set_dst if v not in set_src)
    if len(a) > len(b):
        a, b = b, a
    conflicts = min(max(0, length - len(a) - len(seg)), len(a))
    seg += [a[i] ^ b[i] for i in range(conflicts, len(a))]
    seg += a[:conflicts] + b[:conflicts]
    return seg[:length]


@dataclass(frozen=True)
class _Swizzle:
    segment: tuple[int, ...]
    reps: int  # log2 of the turns the conversion takes


def _swizzle(
    src_regs: list[int],
    dst_regs: list[int],
    dim: int,
    bitwidth: int,
    vbasis: list[int],
    tile_src: list[int],
    tile_dst: list[int],
    leave_reps: int = 0,
) -> _Swizzle:
    """``optimalSwizzling`` (the core) followed by ``buildReps``: a basis that is a register in both
    layouts and falls in the segment becomes a turn ("rep") instead of more shared memory."""
    len_bank = min(log2(1024 // ((1 << len(vbasis)) * bitwidth)), dim - len(vbasis))
    len_seg = dim - len_bank - len(vbasis)
    seg = _segment(vbasis + tile_src, vbasis + tile_dst, dim, len_seg)
    src_set, dst_set = set(src_regs), set(dst_regs)
    kept: list[int] = []
    reps = 0
    for s in seg:
        if s in src_set and s in dst_set:
            if leave_reps > 0:
                leave_reps -= 1
                kept.append(s)
            else:
                reps += 1
        else:
            kept.append(s)
    return _Swizzle(tuple(kept), reps)


def _bank_conflicts(tile_src: list[int], tile_dst: list[int], sw: _Swizzle, dim: int) -> int:
    seg = list(sw.segment)
    write = (1 << len(_intersection(seg, tile_src, dim))) - 1
    read = (1 << len(_intersection(seg, tile_dst, dim))) - 1
    return read + write


class _Solver:
    """Preimages of tile offsets under a layout: which (register, lane, warp) bits hold them."""

    def __init__(self, regs: list[int], lanes: list[int], warps: list[int], dim: int):
        self.n_regs, self.n_lanes = len(regs), len(lanes)
        cols = regs + lanes + warps
        # rows of [value | selector]; eliminate on value bits to express any value as XOR of columns
        self.rows: list[tuple[int, int]] = []
        for i, v in enumerate(cols):
            sel = 1 << i
            for rv, rs in self.rows:
                if v & (rv & -rv):
                    v ^= rv
                    sel ^= rs
            if v:
                low = v & -v
                self.rows = [(rv ^ v, rs ^ sel) if rv & low else (rv, rs) for rv, rs in self.rows]
                self.rows.append((v, sel))

    def combination(self, value: int) -> int | None:
        """The columns whose XOR is ``value`` (bit i: column i); None when no combination gives it."""
        sel = 0
        for rv, rs in self.rows:
            if value & (rv & -rv):
                value ^= rv
                sel ^= rs
        return None if value else sel

    def preimage(self, value: int) -> tuple[int, int] | None:
        """(register bits, lane bits) of the element at ``value``; None when no thread holds it."""
        sel = self.combination(value)
        if sel is None:
            return None
        return sel & ((1 << self.n_regs) - 1), (sel >> self.n_regs) & ((1 << self.n_lanes) - 1)

    def warp_bits(self, value: int) -> int | None:
        """The warp index bits of the element at ``value``; None when no thread holds it."""
        sel = self.combination(value)
        return None if sel is None else sel >> (self.n_regs + self.n_lanes)


def _tile_vbasis(
    a_regs,
    a_lanes,
    b_regs,
    b_lanes,
    b_solve_a: _Solver,
    n_reg_a: int,
    n_reg_b: int,
    lane_tile_a: tuple[int, ...],
    lane_tile_b: tuple[int, ...],
    dim: int,
) -> list[int] | None:
    """``optimalSwizzlingTile``: the vector bases that let both sides use their instruction."""
    vb = _intersection(a_regs, b_regs, dim)
    if len(vb) < n_reg_b:
        return None
    vb = vb[:n_reg_b]
    tile_a = [a_lanes[i] for i in lane_tile_a]
    tile_b = [b_lanes[i] for i in lane_tile_b]
    if any(x == 0 for x in tile_a + tile_b):
        return None
    for i in range(n_reg_a - n_reg_b):
        pre = b_solve_a.preimage(b_lanes[lane_tile_b[i]])
        if pre is None or pre[0] == 0:
            return None
    for idx_a, idx_b in zip(lane_tile_a, lane_tile_b[len(lane_tile_b) - len(lane_tile_a) :]):
        pre = b_solve_a.preimage(b_lanes[idx_b])
        if pre is None or pre[1] != (1 << idx_a):
            return None
    return vb + tile_b


def _ldst_vbasis(src_regs, dst_regs, src_lanes, dst_lanes, dim: int, bitwidth: int) -> list[int]:
    """``getVbasis``: vectorisation when no ld/stmatrix pairing applies."""
    vb = _intersection(src_regs, dst_regs, dim)[: log2(128 // bitwidth)]
    per_bank = 0 if bitwidth > 32 else log2(32 // bitwidth)
    lane_src, lane_dst = set(src_lanes), set(dst_lanes)
    max_vec = log2(128 // max(bitwidth, 32))

    def after_bank0(regs, vbasis, other_lanes):
        out = []
        for r in regs:
            if r in vbasis:
                continue
            if r in other_lanes:
                out.append(r)
            if len(out) == max_vec:
                break
        return out

    vec_src = True
    if (1 << len(vb)) * bitwidth < 32:

        def prefix(p, regs):
            return list(regs[: len(p)]) == list(p)

        src_prefix, dst_prefix = prefix(vb, src_regs), prefix(vb, dst_regs)
        if vb and not src_prefix and not dst_prefix:
            src_regs = vb + [r for r in src_regs if r not in vb]
            dst_regs = vb + [r for r in dst_regs if r not in vb]
            src_prefix = dst_prefix = True

        def fill(regs, vbasis):
            return list(vbasis) + [regs[i] for i in range(len(vbasis), min(per_bank, len(regs)))]

        if src_prefix and dst_prefix:
            vs = after_bank0(src_regs, fill(src_regs, vb), lane_dst)
            vd = after_bank0(dst_regs, fill(dst_regs, vb), lane_src)
            src_prefix = vs >= vd  # SmallVector's operator>=: lexicographic, as the compiler compares
        vec_src = src_prefix
        vb = fill(src_regs if vec_src else dst_regs, vb)
    vb += after_bank0(src_regs, vb, lane_dst) if vec_src else after_bank0(dst_regs, vb, lane_src)
    return vb


def _ldst_swizzle(src_regs, dst_regs, src_lanes, dst_lanes, dim: int, bitwidth: int) -> _Swizzle:
    """``optimalSwizzlingLdSt``: plain ld.shared/st.shared with the widest vectors both sides allow."""
    vb = _ldst_vbasis(src_regs, dst_regs, src_lanes, dst_lanes, dim, bitwidth)

    def vector_size(regs):
        n = 0
        for i, v in enumerate(vb):
            if i < len(regs) and regs[i] == v:
                n += 1
            else:
                break
        return n

    def tile(lanes, regs):
        n = vector_size(regs)
        t = list(lanes)
        if (1 << n) * bitwidth > 32:
            drop = log2((1 << n) * bitwidth // 32)
            t = t[: len(t) - drop] if drop else t
        return [b for b in t if b not in vb]

    return _swizzle(src_regs, dst_regs, dim, bitwidth, vb, tile(src_lanes, src_regs), tile(dst_lanes, dst_regs))


# LocalMemOpTile{laneContig, laneAddr} of getSrcDstTiles: ld/st.shared, ld/stmatrix, and .trans
_Tile = tuple[tuple[int, ...], tuple[int, ...]]
_LDST: _Tile = ((), (0, 1, 2))
_MATRIX: _Tile = ((0, 1), (2, 3, 4))
_MATRIX_TRANS: _Tile = ((2, 3, 4), (0, 1))


def _tiles(capability: int, bitwidth: int) -> tuple[list[_Tile], list[_Tile]]:
    src, dst = [_LDST], [_LDST]
    ldmatrix, stmatrix = capability >= 75, capability >= 90
    if bitwidth <= 32:
        if stmatrix:
            src.append(_MATRIX)
        if ldmatrix:
            dst.append(_MATRIX)
    if bitwidth == 16:
        if stmatrix:
            src.append(_MATRIX_TRANS)
        if ldmatrix:
            dst.append(_MATRIX_TRANS)
    return src, dst


def needs_shared_memory(src: Layout, dst: Layout) -> bool:
    """``cvtNeedsSharedMemory``: a conversion that moves data between warps goes through shared
    memory; within a warp it is done with shuffles (``cvtNeedsWarpShuffle``) when at most one
    register bit and one lane bit trade places (fewer than 2 "mixed transpositions"), otherwise
    through shared memory as well; within a thread it is a register rename."""
    dim = log2(src.shape[0] * src.shape[1])
    s_regs, s_lanes, s_warps = (_flat(src, b) for b in (src.register, src.lane, src.warp))
    d_regs, d_lanes, d_warps = (_flat(dst, b) for b in (dst.register, dst.lane, dst.warp))
    solver = _Solver(d_regs + d_lanes, [], d_warps, dim)  # registers+lanes as one "thread-local" group
    for v in s_regs + s_lanes:
        if solver.warp_bits(v) != 0:
            return True
    for i, v in enumerate(s_warps):
        if v != 0 and solver.warp_bits(v) != (1 << i):
            return True
    lanes = set(d_lanes)
    mixed = [v for v in s_regs if v in lanes]
    permutation = {b for b in s_regs + s_lanes if b} == {b for b in d_regs + d_lanes if b}
    return not permutation or len(mixed) >= 2


def conversion_scratch_elements(src: Layout, dst: Layout, bitwidth: int, capability: int) -> int:
    """Elements of shared memory Triton reserves to convert a tile from ``src`` to ``dst`` (0: none)."""
    if not needs_shared_memory(src, dst):
        return 0
    dim = log2(src.shape[0] * src.shape[1])
    s_regs = [b for b in _flat(src, src.register) if b]  # actionRemoveBroadcastedRegs
    d_regs = [b for b in _flat(dst, dst.register) if b]
    s_lanes, d_lanes = _flat(src, src.lane), _flat(dst, dst.lane)
    total_bases = log2(128 // bitwidth)
    src_tiles, dst_tiles = _tiles(capability, bitwidth)
    in_src = _Solver(s_regs, s_lanes, _flat(src, src.warp), dim)
    in_dst = _Solver(d_regs, d_lanes, _flat(dst, dst.warp), dim)
    candidates: list[tuple[int, int]] = []  # (bank conflicts, -reps), in the compiler's order
    for st in src_tiles:
        for dt in dst_tiles:
            n_src, n_dst = total_bases - len(st[0]), total_bases - len(dt[0])
            if n_src >= n_dst:
                vb = _tile_vbasis(s_regs, s_lanes, d_regs, d_lanes, in_src, n_src, n_dst, st[0], dt[0], dim)
            else:
                vb = _tile_vbasis(d_regs, d_lanes, s_regs, s_lanes, in_dst, n_dst, n_src, dt[0], st[0], dim)
            if vb is None:
                continue
            tile_s = _instr_tile(st, s_regs, s_lanes, vb)
            tile_d = _instr_tile(dt, d_regs, d_lanes, vb)
            if tile_s is None or tile_d is None:
                continue
            leave = min(len(st[0]) + len(st[1]) - 3, len(dt[0]) + len(dt[1]) - 3)
            sw = _swizzle(s_regs, d_regs, dim, bitwidth, vb, tile_s, tile_d, leave)
            candidates.append((_bank_conflicts(tile_s, tile_d, sw, dim), -sw.reps))
    if candidates:
        reps = -min(candidates)[1]
    else:
        reps = _ldst_swizzle(s_regs, d_regs, s_lanes, d_lanes, dim, bitwidth).reps
    return (1 << dim) >> reps


def _instr_tile(instr, regs: list[int], lanes: list[int], vbasis: list[int]) -> list[int] | None:
    """``getTile``: the registers and lanes one ld/st(matrix) instruction covers."""
    need = 3 - len(instr[1])
    tile = [r for r in regs if r not in vbasis][:need]
    if len(tile) < need:
        return None
    return tile + [lanes[i] for i in instr[1]]
