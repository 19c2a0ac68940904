"""How fast the zone lookup answers per CDR (R7a): ``python -m benchmarks.zones``.

Builds, in memory and with a fixed seed, a realistic zone table of a German MVNO: the national
numbering plan (mobile operator ranges, thousands of fixed-line area codes, free, premium and
shared-cost numbers), every country calling code with some foreign mobile ranges, and roaming
networks by MCC and MCC+MNC. Then it times ``ZoneIndex.destination`` on realistic numbers and
``ZoneIndex.roaming`` on realistic visited networks, checks a sample of the answers against a
plain longest-prefix search, and ends with ``RESULT {"lookups_per_s": ...}``.

The target is at least 500,000 destination look-ups per second in-process with 5,000 prefixes.
"""

import argparse
import random
import time
from functools import partial

from benchmarks.common import (
    Stopwatch,
    max_rss_bytes,
    mb,
    per_second,
    print_result,
    repeat_over,
    setup_django,
    traced_peak,
)

TARGET_LOOKUPS_PER_S = 500_000
HOME_COUNTRY = "49"
HOME_PLMN = "26203"


def _codes(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Country calling codes by the zone they are priced in (ITU-T E.164 assignments).
EU_CODES = _codes(
    "30 31 32 33 34 36 39 40 43 44 45 46 48 350 351 352 353 354 356 357 358 359 370 371 372 "
    "385 386 420 421 423"
)
EUROPE_CODES = _codes("41 47 355 373 374 375 376 377 378 380 381 382 383 387 389 90")
AMERICAS_CODES = _codes(
    "1 51 52 53 54 55 56 57 58 501 502 503 504 505 506 507 509 591 592 593 595 597 598"
)
ASIA_CODES = _codes(
    "60 61 62 63 64 65 66 81 82 84 86 91 92 93 94 95 98 852 853 855 856 880 886 960 961 962 "
    "963 964 965 966 967 968 970 971 972 973 974 975 976 977 992 993 994 995 996 998"
)
AFRICA_CODES = _codes(
    "20 27 211 212 213 216 218 220 221 222 223 224 225 226 227 228 229 230 231 232 233 234 "
    "235 236 237 238 239 240 241 242 243 244 245 248 249 250 251 252 253 254 255 256 257 258 "
    "260 261 262 263 264 265 266 267 268 269"
)
# A few mobile country codes (MCC) by roaming zone; 262 is Germany (home network 26203).
EU_MCCS = _codes(
    "202 204 206 208 212 213 214 216 218 219 220 222 226 228 230 231 232 238 240 242 244 246 "
    "247 248 260 262 268 270 272 274 278 280 284 293 294 295"
)
WORLD1_MCCS = _codes("302 310 311 312 313 316 334 338 722 724 730 732 734")
WORLD2_MCCS = _codes(
    "400 401 404 405 410 413 415 416 418 419 420 422 424 425 426 427 440 441 450 452 454 455 "
    "456 460 466 470 502 505 510 515 520 525 530 602 603 604 605 620 621 639 655"
)


def build_zone_data(prefix_count: int, seed: int) -> dict:
    """Return the prefixes and networks of a realistic zone table, ``prefix_count`` prefixes."""
    rng = random.Random(seed)
    prefixes: dict[str, str] = {}

    def add(prefix: str, zone: str) -> None:
        if len(prefixes) < prefix_count:
            prefixes.setdefault(prefix, zone)

    home = HOME_COUNTRY
    add(home, "NAT_FIXED")
    for prefix in ("800", "801"):
        add(home + prefix, "FREE")
    for prefix in ("900", "9001", "9003", "9005", "137", "138"):
        add(home + prefix, "PREMIUM")
    for prefix in ("180", "1801", "1802", "1803", "1805", "1806", "1807"):
        add(home + prefix, "SHARED_COST")
    for block in ("15", "16", "17"):
        add(home + block, "NAT_MOBILE")
    for codes, zone in (
        (EU_CODES, "EU"),
        (EUROPE_CODES, "EUROPE"),
        (AMERICAS_CODES, "AMERICAS"),
        (ASIA_CODES, "ASIA"),
        (AFRICA_CODES, "AFRICA"),
    ):
        for code in codes:
            add(code, zone)
    # Operator ranges: national mobile ranges, and foreign mobile ranges priced apart.
    for block in ("15", "16", "17"):
        for digit in "0123456789":
            add(home + block + digit, "NAT_MOBILE")
    foreign = [
        (code, zone)
        for codes, zone in ((EU_CODES, "EU_MOBILE"), (AMERICAS_CODES, "WORLD_MOBILE"))
        for code in codes
    ]
    for code, zone in foreign:
        for _ in range(rng.randint(2, 6)):
            add(code + str(rng.randint(6, 9)) + str(rng.randint(0, 9)), zone)
    # Thousands of fixed-line area codes (2 to 5 digits after 49, never starting with 0 or 1),
    # and number blocks of mobile operators (6 to 8 digits), until the table is full.
    attempts = 0
    while len(prefixes) < prefix_count and attempts < prefix_count * 50:
        attempts += 1
        if rng.random() < 0.8:
            area = str(rng.randint(2, 9)) + "".join(
                str(rng.randint(0, 9)) for _ in range(rng.randint(1, 4))
            )
            add(home + area, "NAT_FIXED")
        else:
            block = rng.choice(("15", "16", "17")) + "".join(
                str(rng.randint(0, 9)) for _ in range(rng.randint(2, 4))
            )
            add(home + block, "NAT_MOBILE")
    networks: dict[str, str] = {}
    for mccs, zone in ((EU_MCCS, "EU"), (WORLD1_MCCS, "WORLD1"), (WORLD2_MCCS, "WORLD2")):
        for mcc in mccs:
            if mcc != HOME_PLMN[:3]:
                networks[mcc] = zone
            for _ in range(rng.randint(1, 4)):
                networks[mcc + f"{rng.randint(1, 99):02d}"] = zone
    networks["26201"] = "NATIONAL_ROAMING"
    return {"prefixes": prefixes, "networks": networks}


def sample_numbers(prefixes: dict[str, str], count: int, seed: int) -> list[str]:
    """Return ``count`` plausible other-party numbers: mostly national, some abroad or unknown."""
    rng = random.Random(seed + 1)
    listed = sorted(prefixes)
    national = [p for p in listed if p.startswith(HOME_COUNTRY)]
    mobile = [p for p in national if prefixes[p] == "NAT_MOBILE"]
    abroad = [p for p in listed if not p.startswith(HOME_COUNTRY)]
    numbers = []
    for _ in range(count):
        draw = rng.random()
        if draw < 0.45:
            prefix = rng.choice(mobile)
            length = rng.choice((12, 13))
        elif draw < 0.80:
            prefix = rng.choice(national)
            length = rng.randint(10, 13)
        elif draw < 0.97:
            prefix = rng.choice(abroad)
            length = rng.randint(10, 13)
        else:
            prefix = str(rng.choice((299, 297, 298, 689, 690, 870, 881, 882, 883, 888)))
            length = rng.randint(9, 12)
        rest = max(1, length - len(prefix))
        numbers.append(prefix + "".join(str(rng.randint(0, 9)) for _ in range(rest)))
    return numbers


def sample_networks(networks: dict[str, str], count: int, seed: int) -> list[str]:
    """Return visited PLMNs: mostly the home network, some roaming ones, a few unknown."""
    rng = random.Random(seed + 2)
    listed = sorted(code for code in networks if len(code) == 5)
    result = []
    for _ in range(count):
        draw = rng.random()
        if draw < 0.85:
            result.append(HOME_PLMN)
        elif draw < 0.97:
            result.append(rng.choice(listed))
        else:
            result.append(f"{rng.randint(700, 750)}{rng.randint(1, 99):02d}")
    return result


def longest_prefix(prefixes: dict[str, str], number: str, rest: str) -> str:
    """The plain answer the index must agree with: try every length, longest first."""
    for length in range(len(number), 0, -1):
        zone = prefixes.get(number[:length])
        if zone is not None:
            return zone
    return rest


def timed_run(items: list, count: int, call) -> tuple[float, float]:
    """Return (wall-clock seconds, CPU seconds) of ``count`` calls cycling over items."""
    cpu = time.process_time()
    seconds = repeat_over(items, count, call)
    return seconds, time.process_time() - cpu


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.zones", description=__doc__)
    parser.add_argument("--prefixes", type=int, default=5_000, help="prefixes in the table")
    parser.add_argument("--lookups", type=int, default=2_000_000, help="look-ups to time")
    parser.add_argument(
        "--distinct", type=int, default=100_000, help="distinct numbers cycled through"
    )
    parser.add_argument("--seed", type=int, default=20261001)
    parser.add_argument("--check", type=int, default=20_000, help="answers checked by search")
    parser.add_argument(
        "--repeat", type=int, default=3, help="timed runs; the best one counts (as timeit)"
    )
    options = parser.parse_args(argv)
    if min(options.lookups, options.distinct, options.repeat) < 1 or options.prefixes < 100:
        parser.error("--prefixes at least 100; --lookups, --distinct and --repeat at least 1")

    setup_django()
    from catalog.lookup import ZoneIndex

    data = build_zone_data(options.prefixes, options.seed)
    build_args = {
        "code": "BENCH",
        "prefixes": data["prefixes"],
        "networks": data["networks"],
        "destination_rest": "WORLD",
        "incoming": "INCOMING",
        "roaming_rest": "WORLD3",
        "home": "HOME",
    }
    with traced_peak() as memory:
        ZoneIndex(**build_args)
    with Stopwatch() as build:
        index = ZoneIndex(**build_args)
    distinct = min(options.distinct, options.lookups)
    numbers = sample_numbers(data["prefixes"], distinct, options.seed)
    visited = sample_networks(data["networks"], distinct, options.seed)
    home = frozenset({HOME_PLMN})

    checked = numbers[: options.check]
    wrong = [
        number
        for number in checked
        if index.destination(number) != longest_prefix(data["prefixes"], number, "WORLD")
    ]
    if wrong:
        raise SystemExit(f"ZoneIndex disagrees with a longest-prefix search on {wrong[:5]}")

    roaming = partial(index.roaming, home_plmns=home)
    destination_runs, roaming_runs = [], []
    for _ in range(options.repeat):
        destination_runs.append(timed_run(numbers, options.lookups, index.destination))
        roaming_runs.append(timed_run(visited, options.lookups, roaming))
    destination_seconds, destination_cpu = min(destination_runs)
    roaming_seconds, _ = min(roaming_runs)
    lookups_per_s = per_second(options.lookups, destination_seconds)
    roaming_per_s = per_second(options.lookups, roaming_seconds)
    zones = len(set(data["prefixes"].values()))
    lengths = sorted({len(prefix) for prefix in data["prefixes"]})
    print(
        f"zone table: {len(data['prefixes']):,} prefixes of {lengths[0]}-{lengths[-1]} digits "
        f"in {zones} zones, {len(data['networks']):,} networks; built in "
        f"{build.seconds * 1000:.1f} ms, {mb(memory['peak_bytes'])} allocated at peak"
    )
    print(f"answers checked against a longest-prefix search: {len(checked):,}, all equal")
    print(
        f"destination look-ups: {options.lookups:,} over {distinct:,} distinct numbers in "
        f"{destination_seconds:.2f} s = {lookups_per_s:,.0f}/s "
        f"({1e6 / lookups_per_s:.2f} µs each; target {TARGET_LOOKUPS_PER_S:,}/s; "
        f"best of {options.repeat}; {per_second(options.lookups, destination_cpu):,.0f} per "
        "CPU second)"
    )
    print(
        f"roaming look-ups: {options.lookups:,} in {roaming_seconds:.2f} s = "
        f"{roaming_per_s:,.0f}/s ({1e6 / roaming_per_s:.2f} µs each)"
    )
    print(f"peak resident memory of the process: {mb(max_rss_bytes())}")
    figures = {
        "benchmark": "zones",
        "prefixes": len(data["prefixes"]),
        "networks": len(data["networks"]),
        "lookups": options.lookups,
        "lookups_per_s": round(lookups_per_s),
        "lookups_per_cpu_s": round(per_second(options.lookups, destination_cpu)),
        "roaming_lookups_per_s": round(roaming_per_s),
        "build_ms": round(build.seconds * 1000, 2),
        "build_peak_bytes": memory["peak_bytes"],
        "max_rss_bytes": max_rss_bytes(),
        "checked": len(checked),
        "repeat": options.repeat,
        "target_lookups_per_s": TARGET_LOOKUPS_PER_S,
        "meets_target": lookups_per_s >= TARGET_LOOKUPS_PER_S,
    }
    print_result(figures)
    return figures


if __name__ == "__main__":
    main()
