"""A lower bound on a Triton matmul's registers per thread, before anything is compiled.

The accumulator alone is BM x BN 32-bit values (fp32, or int32 for int8) spread over the block's
threads, one register each: on mma.sync, wgmma and FMA it lives in registers for the whole K loop;
on tcgen05 (sm_100) it lives in tensor memory during the loop and comes into registers for the
epilogue. Every compiled kernel also holds addresses, strides, loop counters and masks: the
smallest excess over the accumulator among the 986 compiled kernels of tests/data (every
architecture, Triton 3.6 and 3.9) is 25 registers on mma.sync/wgmma/FMA and 14 on tcgen05, so
the floors below stay under every one of them.

ptxas never gives a thread more than 255 registers, and for a block of T threads Triton's
``.maxntid`` caps it at what lets one block launch: an accumulator over the cap spills, and then
ptxas may settle on any count (32 registers and 1,660 spills for a 2-warp 128x128 fp16 tile on
sm_90), so a spilling kernel gets no bound, only the warning.
"""

from __future__ import annotations

from dataclasses import dataclass

from gpudiag.tiles.estimate import TCGEN05

ACC_BYTES = 4  # fp32 or int32 accumulator elements
REG_BYTES = 4
FLOOR = 24  # registers besides the accumulator, mma.sync / wgmma / FMA (smallest seen: 25)
FLOOR_TCGEN05 = 12  # the accumulator is in tensor memory during the loop (smallest seen: 14)
MAX_REGS_PER_THREAD = 255
REG_ALLOC_REGS_PER_THREAD = 8  # registers go by 256 per warp: 8 per thread


@dataclass(frozen=True)
class RegisterBound:
    accumulator: int  # registers per thread for the accumulator alone
    floor: int  # registers every such kernel holds besides it
    cap: int  # the most ptxas gives a thread of this block (255, or less for blocks over 256 threads)

    @property
    def lower_bound(self) -> int:
        """Registers per thread the kernel has at least (it cannot have more than the cap)."""
        return min(self.accumulator + self.floor, self.cap)

    @property
    def occupancy_bound(self) -> int | None:
        """The registers blocks per SM may be bounded with: the lower bound, unless the kernel spills
        (ptxas then settles on any count, as low as 32 for a 2-warp 128x128 fp16 tile on sm_90)."""
        return None if self.spills_likely else self.lower_bound

    @property
    def spills_likely(self) -> bool:
        """The accumulator and the floor do not fit the cap: ptxas spills the rest to local memory."""
        return self.accumulator + self.floor > self.cap

    def to_dict(self) -> dict[str, int | bool]:
        return {
            "accumulator": self.accumulator,
            "lower_bound": self.lower_bound,
            "cap": self.cap,
            "spills_likely": self.spills_likely,
        }


def cap_for(threads: int, regs_per_block: int = 65536, sub_partitions: int = 4, warp_size: int = 32) -> int:
    """The most registers per thread ptxas gives a block of ``threads`` (``.maxntid``): one block must
    launch, with its warps counted over every sub-partition, in 8-register steps."""
    warps = -(-threads // warp_size)
    warps = -(-warps // sub_partitions) * sub_partitions
    per_thread = regs_per_block // (warps * warp_size)
    return min(MAX_REGS_PER_THREAD, per_thread - per_thread % REG_ALLOC_REGS_PER_THREAD)


def accumulator_bound(bm: int, bn: int, warps: int, mma: str, regs_per_block: int = 65536) -> RegisterBound:
    threads = warps * 32
    acc = -(-bm * bn // threads) * ACC_BYTES // REG_BYTES
    floor = FLOOR_TCGEN05 if mma == TCGEN05 else FLOOR
    cap = cap_for(threads, regs_per_block)
    return RegisterBound(acc, floor, cap)
