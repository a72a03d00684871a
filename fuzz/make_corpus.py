#!/usr/bin/python3
"""Writes the seed corpus of simdrop's differential fuzzer (fuzz/corpus/) in its input format, version 1,
documented at the top of fuzz/fuzz_differential.cpp (a 50-byte header, then raw bytes of the first inputs).

    /usr/bin/python3 fuzz/make_corpus.py [--replay BINARY] [output directory, default fuzz/corpus next to this script]

The ops and element types, and which ops take a mask or can be split, come from the built replay target
(simdrop_fuzz_replay --list-ops / --list-dtypes, which print src/ops.hpp's kOps and src/element.hpp's
ElementTypes in the order of the op and dtype bytes): build it first (cmake --build build/<preset> --target
simdrop_fuzz_replay). --replay names the binary; by default the newest build/*/fuzz/simdrop_fuzz_replay.

The files are small and deterministic: rerunning this script rewrites the same bytes. It replaces the
*.bin files of the directory it writes (only those), so a case renamed here does not leave its old file.
Coverage: every entry point x element type once (the matrix below), each carrying one more feature in turn
(special p values, offsets near 2^64 and 2^32, in place, mask absent, split calls, misalignment, small grains,
streaming stores, special and raw values, the parallel path at 300k elements), then make_mask's own cases and
one case per kind of bad input (each must throw std::invalid_argument and write nothing).
"""
import argparse
import glob
import os
import struct
import subprocess

# Filled by load_lists() from the replay binary: the ops' corpus names in op-byte order, each op's variant and
# properties (mask-out, mask-in, split, p-below-one), and the element types' names in dtype-byte order.
OPS = []
VARIANT = {}
PROPERTIES = {}
DTYPES = []
MAKE_MASK = "make_mask"  # op 0, which has its own cases below (fuzz/op_rules.hpp: kMakeMask)


def find_replay(root):
    """The newest build/*/fuzz/simdrop_fuzz_replay under the repository root."""
    found = glob.glob(os.path.join(root, "build", "*", "fuzz", "simdrop_fuzz_replay"))
    if not found:
        raise SystemExit("make_corpus.py: no build/*/fuzz/simdrop_fuzz_replay; build it (cmake --build "
                         "build/<preset> --target simdrop_fuzz_replay) or pass --replay BINARY")
    return max(found, key=os.path.getmtime)


def load_lists(replay):
    ops = subprocess.run([replay, "--list-ops"], check=True, capture_output=True, text=True).stdout.split("\n")
    for line in filter(None, ops):
        name, variant, *properties = line.split()
        OPS.append(name)
        VARIANT[name] = variant
        PROPERTIES[name] = set(properties)
    dtypes = subprocess.run([replay, "--list-dtypes"], check=True, capture_output=True, text=True).stdout.split()
    DTYPES.extend(dtypes)
    assert OPS[0] == MAKE_MASK, OPS[0]

# p modes (decode_p) and offset modes (decode_offset)
P_ZERO, P_ONE, P_2M33, P_2M32, P_3X2M33, P_1M2M33, P_1M2M32, P_1M3X2M33 = range(8)
P_BINARY, P_UNIFORM, P_TIE, P_POW2, P_NEAR1, P_RAW, P_ODD, P_HALF = range(8, 16)
OFF_ZERO, OFF_SMALL, OFF_RAW, OFF_BEFORE_2POW64, OFF_PAST_2POW64, OFF_2POW32, OFF_AT_2POW64, OFF_2POW63 = range(8)
# bad kinds
BAD_NONE, BAD_P, BAD_OFFSET, BAD_SHORT_MASK, BAD_OVERLAP_IO, BAD_OVERLAP_MASK, BAD_GENERATOR, BAD_SHAPE = \
    0, 9, 10, 11, 12, 13, 14, 15
GRAINS = {"default": 0, 64: 1, 128: 2, 192: 3, 640: 4, 4096: 5, 65536: 6}
STREAM = {"leave": 0, "always": 1, "never": 2, "4096": 3}


def encode(op, dtype=0, *, in_place=False, mask=True, split=False, nhwc=False, mask_extra=0, stream="leave",
           bda_on_residual=False, random_mask=False, size_mode=48, size=1000, dims=0, dims2=0,
           p_mode=P_UNIFORM, p_payload=0x5555_5555_5555_5555, offset_mode=OFF_SMALL, offset_payload=12345,
           seed=0x0123_4567_89AB_CDEF, generator=0, isa=0, grain="default", mis_in=0, mis_out=0, mis_third=0,
           mis_mask=0, bad=BAD_NONE, split_at=0, value_mode=0, value_seed=1, tail=b""):
    flags_a = (int(in_place) | int(mask) << 1 | int(split) << 2 | int(nhwc) << 3 | (mask_extra & 3) << 4 |
               STREAM[stream] << 6)
    flags_b = int(bda_on_residual) | int(random_mask) << 1
    head = struct.pack("<BBBBB", OPS.index(op), dtype, flags_a, flags_b, size_mode)
    head += struct.pack("<I", size)[:3]
    head += struct.pack("<HBBQBQQBBBBBBHBI", dims, dims2, p_mode, p_payload, offset_mode, offset_payload, seed,
                        generator, isa, GRAINS[grain], mis_in | mis_out << 4, mis_third | mis_mask << 4, bad,
                        split_at, value_mode, value_seed)
    assert len(head) == 50, len(head)
    return head + tail


def family_shape(op, n):
    """dims / dims2 giving a non-trivial family shape for about n elements."""
    return {"channel_dropout": {"dims": 3, "dims2": 2},   # batch 2, channels 3, spatial n / 6
            "shared_dropout": {"dims": 36},               # row 37, steps n / 37
            "bias_dropout_add": {"dims": 19},             # cols 20, rows n / 20
            }.get(VARIANT[op], {})


# One extra feature per matrix case, in turn: (name suffix, fields).
FEATURES = [
    ("plain", {}),
    ("in-place", {"in_place": True}),
    ("mask-absent", {"mask": False}),
    ("split", {"split": True, "split_at": 700}),
    ("random-mask", {"random_mask": True, "value_mode": 3}),
    ("p-exact-0", {"p_mode": P_ZERO}),
    ("p-exact-1", {"p_mode": P_ONE}),
    ("p-2pow-33", {"p_mode": P_2M33}),
    ("p-2pow-32", {"p_mode": P_2M32}),
    ("p-3x2pow-33", {"p_mode": P_3X2M33}),
    ("nhwc", {"nhwc": True}),
    ("p-1-minus-2pow-33", {"p_mode": P_1M2M33}),
    ("p-1-minus-2pow-32", {"p_mode": P_1M2M32}),
    ("p-1-minus-3x2pow-33", {"p_mode": P_1M3X2M33}),
    ("p-binary-5-of-8", {"p_mode": P_BINARY, "p_payload": (5 << 8) | 2}),
    ("p-threshold-tie", {"p_mode": P_TIE, "p_payload": 0x8000_0001}),
    ("p-raw-double", {"p_mode": P_RAW, "p_payload": 0x3FD5_5555_5555_5555}),
    ("offset-near-2pow64", {"offset_mode": OFF_BEFORE_2POW64, "offset_payload": 7}),
    ("offset-ends-at-2pow64", {"offset_mode": OFF_AT_2POW64}),
    ("offset-across-2pow32", {"offset_mode": OFF_2POW32, "offset_payload": 300}),
    ("misaligned", {"mis_in": 3, "mis_out": 5, "mis_third": 7, "mis_mask": 1, "mask_extra": 2}),
    ("grain-64", {"grain": 64, "size": 4999}),
    ("stream-always", {"stream": "always", "mis_out": 1}),
    ("special-values", {"value_mode": 1}),
    ("raw-bits", {"value_mode": 2, "generator": 1}),
    ("ars5-in-place-split", {"generator": 2, "in_place": True, "split": True, "split_at": 1000}),
    ("isa-2-grain-128", {"isa": 2, "grain": 128}),
    ("isa-3-grain-192", {"isa": 3, "grain": 192}),
]

def applies(op, suffix):
    """Whether a feature means something for the op (so that every file's name says what it tests)."""
    if suffix == "mask-absent":
        return "mask-out" in PROPERTIES[op]
    if "split" in suffix:
        return "split" in PROPERTIES[op]
    if suffix == "nhwc":
        return VARIANT[op] == "channel_dropout"
    if suffix == "random-mask":
        return "mask-in" in PROPERTIES[op]
    if suffix == "p-exact-1":  # alpha and Gaussian dropout need p < 1 (p = 1 is a bad-input case below)
        return "p-below-one" not in PROPERTIES[op]
    return True


def cases():
    out = {}
    k = 0      # matrix case number
    turn = 0   # the next feature to use once every feature has been used
    used = set()
    for op in (op for op in OPS if op != MAKE_MASK):
        for dt, dname in enumerate(DTYPES):
            # The first feature not used yet that applies to the op; once all are used, the next in turn.
            fresh = [f for f in FEATURES if f[0] not in used and applies(op, f[0])]
            if fresh:
                suffix, extra = fresh[0]
            else:
                while not applies(op, FEATURES[turn % len(FEATURES)][0]):
                    turn += 1
                suffix, extra = FEATURES[turn % len(FEATURES)]
                turn += 1
            k += 1
            used.add(suffix)
            fields = {"size": 1000, "seed": 1000 + k, "value_seed": k}
            fields.update(family_shape(op, fields["size"]))
            fields.update(extra)
            out[f"{op}-{dname}-{suffix}"] = encode(op, dt, **fields)
    assert used == {f[0] for f in FEATURES}, {f[0] for f in FEATURES} - used

    # The parallel path with several blocks: 300000 elements, the default grain and a small one.
    out["forward-f32-300k-parallel"] = encode("forward", 0, size_mode=255, size=300000 - 131072, isa=3)
    out["bda-backward-mask-f64-300k-grain-4096"] = encode("bda-backward-mask", 1, size_mode=255, size=300000 - 131072,
                                                          dims=63, grain=4096)
    # Channel layouts with the runs (nchw, spatial >= 64) and whole-word (nhwc, channels % 64 == 0) paths.
    out["channel-forward-f32-nchw-long-planes"] = encode("channel-forward", 0, size=4800, dims=3, dims2=2)
    out["channel-backward-mask-bf16-nhwc-64-channels"] = encode("channel-backward-mask", 2, size=4096,
                                                                dims=0x8000 | 63, dims2=2, nhwc=True)
    out["shared-forward-f16-row-longer-than-n"] = encode("shared-forward", 3, size=100, dims=0x8000 | 200)
    out["bda-backward-regen-f32-many-rows"] = encode("bda-backward-regen", 0, size=4000, dims=6, grain=64)
    # Tail bytes: the first inputs set explicitly (fp32 NaN, -0, infinity, the smallest subnormal).
    out["forward-f32-explicit-values"] = encode("forward", 0, size=64, p_mode=P_HALF,
                                                tail=struct.pack("<IIII", 0x7FC00001, 0x80000000, 0x7F800000, 1))

    # make_mask
    out["make_mask-n-0"] = encode("make_mask", size=0, offset_mode=OFF_AT_2POW64)
    out["make_mask-split-at-64-multiple"] = encode("make_mask", size=4097, split=True, split_at=2050, grain=64)
    out["make_mask-offset-near-2pow64"] = encode("make_mask", size=777, offset_mode=OFF_BEFORE_2POW64,
                                                 offset_payload=3, generator=1)
    out["make_mask-p-2pow-33-ars5"] = encode("make_mask", size=3000, p_mode=P_2M33, generator=2, mask_extra=3)
    out["make_mask-p-1-minus-2pow-33"] = encode("make_mask", size=200, p_mode=P_1M2M33, mis_mask=5)
    out["make_mask-300k-grain-640"] = encode("make_mask", size_mode=255, size=300000 - 131072, grain=640, isa=2)

    # Bad input: each must throw std::invalid_argument and leave every buffer as it was.
    out["bad-forward-f32-p-nan"] = encode("forward", 0, bad=BAD_P, p_payload=0)
    out["bad-alpha-forward-f64-p-exact-1"] = encode("alpha-forward", 1, p_mode=P_ONE)
    out["bad-gaussian-backward-bf16-p-above-1"] = encode("gaussian-backward", 2, bad=BAD_P, p_payload=2)
    out["bad-make_mask-offset-past-2pow64"] = encode("make_mask", size=1000, bad=BAD_OFFSET)
    out["bad-channel-forward-f16-offset-past-2pow64"] = encode("channel-forward", 3, size=600, dims=3, dims2=2,
                                                               offset_mode=OFF_PAST_2POW64)
    out["bad-forward-f64-short-mask"] = encode("forward", 1, bad=BAD_SHORT_MASK)
    out["bad-backward-mask-f32-short-mask"] = encode("backward-mask", 0, bad=BAD_SHORT_MASK)
    out["bad-make_mask-short-mask"] = encode("make_mask", size=130, bad=BAD_SHORT_MASK)
    out["bad-forward-f32-overlap-x-y"] = encode("forward", 0, bad=BAD_OVERLAP_IO, split_at=17)
    out["bad-bda-forward-bf16-overlap-x-y"] = encode("bda-forward", 2, dims=19, bad=BAD_OVERLAP_IO)
    out["bad-alpha-forward-f32-mask-over-y"] = encode("alpha-forward", 0, bad=BAD_OVERLAP_MASK)
    out["bad-bda-forward-f64-bias-over-y"] = encode("bda-forward", 1, dims=19, bad=BAD_OVERLAP_MASK)
    out["bad-bda-backward-regen-f16-dbias-over-dx"] = encode("bda-backward-regen", 3, dims=19,
                                                             bad=BAD_OVERLAP_MASK)
    out["bad-shared-forward-f32-unknown-generator"] = encode("shared-forward", 0, dims=36, bad=BAD_GENERATOR,
                                                             dims2=4)
    out["bad-channel-backward-regen-f64-wrong-shape"] = encode("channel-backward-regen", 1, dims=3, dims2=2,
                                                               bad=BAD_SHAPE)
    out["bad-shared-backward-mask-bf16-wrong-shape"] = encode("shared-backward-mask", 2, dims=36, bad=BAD_SHAPE)
    out["bad-forward-f16-y-one-longer"] = encode("forward", 3, bad=BAD_SHAPE)
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description="Writes the differential fuzzer's seed corpus.")
    parser.add_argument("target", nargs="?", default=os.path.join(here, "corpus"), help="output directory")
    parser.add_argument("--replay", help="simdrop_fuzz_replay (default: the newest build/*/fuzz/ one)")
    args = parser.parse_args()
    load_lists(args.replay or find_replay(os.path.dirname(here)))
    target = args.target
    os.makedirs(target, exist_ok=True)
    for name in os.listdir(target):
        if name.endswith(".bin"):
            os.remove(os.path.join(target, name))
    all_cases = cases()
    for name, data in sorted(all_cases.items()):
        with open(os.path.join(target, name + ".bin"), "wb") as f:
            f.write(data)
    print(f"wrote {len(all_cases)} inputs to {target}")


if __name__ == "__main__":
    main()
